"""Sales on other platforms (Shopee, Lazada, TikTok Shop, Postmart, Voso, ...) imported into
the ledger: all-or-nothing with row-numbered errors, idempotent by platform and reference.

An import stays inside the importer's scope: producers and existing sales outside it read
as unusable keys, with words that never say whose they are. An import never changes which
producer a sale belongs to (not even an admin's): that correction is ledger.move_sale."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_producer, producer_scope
from ocopkit.errors import N_
from ocopkit.money import parse_vnd
from ocopkit.text import fold, nfc
from onboarding.imports import ImportFailed, ImportSummary, Progress, RowError, read_rows
from onboarding.models import Producer
from onboarding.producers import record_change
from payments.models import Channel, EntryKind, EntryStatus, LedgerEntry

COLUMNS = ("producer_code", "platform", "reference", "amount_vnd", "occurred_at", "status")
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
            "%d/%m/%Y %H:%M", "%Y-%m-%d", "%d/%m/%Y")


def parse_time(text: str) -> datetime:
    """A time as written in a platform's export; without an offset it is Vietnam's time."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
        for fmt in _FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if value is None:
            raise ValueError(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(timezone.utc)


def import_transactions(session: Session, actor, data: bytes, *, dry_run: bool = False,
                        progress: Progress | None = None) -> ImportSummary:
    rows = read_rows(data, COLUMNS, COLUMNS)
    producers = {p.code: p for p in session.scalars(
        select(Producer).where(producer_scope(actor, Producer))).unique()}
    errors: list[RowError] = []
    planned: dict[tuple[str, str], dict] = {}
    now = datetime.now(timezone.utc)
    for row in rows:
        v = row.values

        def err(column, message, **params):
            errors.append(RowError(row.number, row.line, column, message, params))

        producer = producers.get(v["producer_code"])
        if producer is None:  # unknown, or not the actor's: the same words
            err("producer_code", N_("There is no producer %(value)s among yours."),
                value=v["producer_code"])
        platform = nfc(v["platform"])
        if not platform:
            err("platform", N_("The platform is required."))
        elif fold(platform) == "ocopkit":
            err("platform", N_("Sales on ocopkit are recorded by ocopkit itself."))
        reference = v["reference"]
        if not reference:
            err("reference", N_("The reference is required."))
        try:
            amount = parse_vnd(v["amount_vnd"])
        except ValueError:
            err("amount_vnd", N_("%(value)s is not a whole number of đồng above zero."),
                value=v["amount_vnd"])
            amount = None
        try:
            occurred_at = parse_time(v["occurred_at"])
            if occurred_at > now:
                err("occurred_at", N_("%(value)s is in the future."), value=v["occurred_at"])
        except ValueError:
            err("occurred_at", N_("%(value)s is not a date and time: write YYYY-MM-DD HH:MM."),
                value=v["occurred_at"])
            occurred_at = None
        status = fold(v["status"])
        if status not in {s.value for s in EntryStatus}:
            err("status", N_("%(value)s is not a status: use completed, refunded or cancelled."),
                value=v["status"])
        key = (platform, reference)
        if key in planned:
            err("reference", N_("The reference %(reference)s of %(platform)s is also on row "
                                "%(other)s."), reference=reference, platform=platform,
                other=planned[key]["row"])
        elif producer is not None and amount and occurred_at and platform and reference:
            planned[key] = {"row": row.number, "line": row.line, "producer": producer,
                            "amount_vnd": amount, "occurred_at": occurred_at, "status": status}
        if progress:
            progress(1)
    existing = _existing(session, list(planned))
    errors += _foreign_keys(actor, planned, existing)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.row))
    return _write(session, actor, planned, existing, dry_run)


def _existing(session, keys) -> dict[tuple[str, str], tuple[LedgerEntry, Producer]]:
    """The ledger rows already holding these (platform, reference) keys, whoever's, with
    their producer."""
    existing = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        existing.update({(e.platform, e.reference): (e, p) for e, p in session.execute(
            select(LedgerEntry, Producer).join(Producer, Producer.id == LedgerEntry.producer_id)
            .where(tuple_(LedgerEntry.platform, LedgerEntry.reference).in_(chunk)))})
    return existing


def _foreign_keys(actor, planned, existing) -> list[RowError]:
    """Rows whose key is a sale outside the actor's scope (refused without saying whose or
    where), or a sale of another producer (refused: an import never moves a sale)."""
    errors = []
    for (platform, reference), item in planned.items():
        if (platform, reference) not in existing:
            continue
        owner = existing[(platform, reference)][1]
        if not can_manage_producer(actor, owner):
            errors.append(RowError(item["row"], item["line"], "reference", N_(
                "The reference %(reference)s of %(platform)s cannot be used here: check it "
                "against the platform's export."), {"reference": reference, "platform": platform}))
        elif owner.id != item["producer"].id:
            errors.append(RowError(item["row"], item["line"], "producer_code", N_(
                "The reference %(reference)s of %(platform)s is a sale of producer %(owner)s; "
                "an import never moves a sale: an administrator corrects it with "
                "`ocopkit sales move`."), {"reference": reference, "platform": platform,
                                           "owner": owner.code}))
    return errors


def _write(session, actor, planned, existing, dry_run) -> ImportSummary:
    summary = ImportSummary(rows=len(planned))
    for (platform, reference), item in planned.items():
        entry = existing.get((platform, reference), (None,))[0]
        values = {"amount_vnd": item["amount_vnd"], "occurred_at": item["occurred_at"],
                  "status": EntryStatus(item["status"])}
        if entry is None:
            summary.created += 1
            if not dry_run:
                session.add(LedgerEntry(kind=EntryKind.sale, channel=Channel.external,
                                        platform=platform, reference=reference,
                                        producer_id=item["producer"].id, **values))
                record_change(session, actor, item["producer"], "sale_imported",
                              f"{platform} {reference}")
        elif any(getattr(entry, k) != v for k, v in values.items()):
            summary.updated += 1
            if not dry_run:
                for k, v in values.items():
                    setattr(entry, k, v)
        else:
            summary.unchanged += 1
    session.flush()
    return summary
