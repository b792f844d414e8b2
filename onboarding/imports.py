"""All-or-nothing CSV imports of communes and of the producer register.

Every row is checked before anything is written; one bad row refuses the whole file with a
list of `row N (line L), column X: what is wrong`. Row N counts data rows from 1; line L is
the line of the file (the header is line 1), which is what a spreadsheet shows.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_commune
from ocopkit.db import utcnow
from ocopkit.errors import DomainError, N_, NotAllowed
from ocopkit.users import Role
from ocopkit.text import fold, nfc
from onboarding.models import Commune, Producer, ProducerKind
from onboarding.producers import (
    PHONE_TAKEN, PHONE_TAKEN_ELSEWHERE, ProducerData, _apply, check_producer_data, producer_diff,
    record_change,
)
from onboarding.reference import ethnic_group_lookup, find_ethnic_group

COMMUNE_COLUMNS = ("code", "name", "ethnic_minority_area")
REGISTER_COLUMNS = ("code", "kind", "name", "representative", "phone", "ethnic_group",
                    "commune_code", "village", "ocop_stars", "ocop_certified_on")
REGISTER_REQUIRED = ("code", "kind", "name", "ethnic_group", "commune_code")

_YES = {"yes", "co", "1", "true", "x"}
_NO = {"no", "khong", "0", "false", ""}
_KINDS = {
    "household": ProducerKind.household, "ho gia dinh": ProducerKind.household,
    "ho": ProducerKind.household,
    "cooperative": ProducerKind.cooperative, "hop tac xa": ProducerKind.cooperative,
    "htx": ProducerKind.cooperative,
    "enterprise": ProducerKind.enterprise, "doanh nghiep": ProducerKind.enterprise,
    "dn": ProducerKind.enterprise,
}
_FIELD_COLUMN = {"commune": "commune_code"}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RowError:
    row: int
    line: int
    column: str
    message: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        text = self.message % self.params if self.params else self.message
        return f"row {self.row} (line {self.line}), column {self.column}: {text}"


class ImportFailed(DomainError):
    """The file was refused; nothing was written. `errors` lists every problem found."""

    def __init__(self, errors: list[RowError]):
        super().__init__(N_("The file was refused: %(count)s problem(s) found; nothing was "
                            "imported."), count=len(errors))
        self.errors = errors


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Row:
    number: int
    line: int
    values: dict[str, str]


def _file_error(message: str, **params) -> ImportFailed:
    return ImportFailed([RowError(0, 1, "-", message, params)])


def read_rows(data: bytes, columns: Iterable[str], required: Iterable[str]) -> list[Row]:
    """Decode UTF-8 (with or without BOM), detect ',' or ';' and check the header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error(N_("The file is not UTF-8 text. Save it as 'CSV UTF-8'."))
    if not text.strip():
        raise _file_error(N_("The file is empty."))
    header_line = text.splitlines()[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [nfc(h).lower() for h in next(reader)]
    missing = [c for c in required if c not in header]
    if missing:
        raise _file_error(N_("Missing column(s): %(columns)s. Expected: %(expected)s."),
                          columns=", ".join(missing), expected=",".join(columns))
    wanted = {c: header.index(c) for c in columns if c in header}
    rows, errors = [], []
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        number = len(rows) + len(errors) + 1
        if len(record) > len(header):
            errors.append(RowError(number, start, "-", N_("This row has %(n)s cells but the "
                                   "header has %(m)s."), {"n": len(record), "m": len(header)}))
            continue
        values = {c: nfc(record[i]) if i < len(record) else "" for c, i in wanted.items()}
        rows.append(Row(number, start, values))
    if errors:
        raise ImportFailed(errors)
    return rows


def _parse_bool(value: str) -> bool | None:
    key = fold(value)
    if key in _YES:
        return True
    if key in _NO:
        return False
    return None


def _parse_date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def import_communes(session: Session, actor, data: bytes, *, dry_run: bool = False,
                    progress: Progress | None = None) -> ImportSummary:
    """Create or update communes by code from `code,name,ethnic_minority_area`. Admins only."""
    if getattr(actor, "role", None) != Role.admin:
        raise NotAllowed(N_("Only administrators can import communes."))
    rows = read_rows(data, COMMUNE_COLUMNS, COMMUNE_COLUMNS)
    errors: list[RowError] = []
    parsed: dict[str, tuple[str, bool]] = {}
    for row in rows:
        code, name = row.values["code"], row.values["name"]
        area = _parse_bool(row.values["ethnic_minority_area"])
        if not code:
            errors.append(RowError(row.number, row.line, "code", N_("The code is required.")))
        elif code in parsed:
            errors.append(RowError(row.number, row.line, "code",
                                   N_("The code %(code)s appears twice in the file."),
                                   {"code": code}))
        if not name:
            errors.append(RowError(row.number, row.line, "name", N_("The name is required.")))
        if area is None:
            errors.append(RowError(row.number, row.line, "ethnic_minority_area",
                                   N_("%(value)s is not yes/no (có/không, 1/0, true/false)."),
                                   {"value": row.values["ethnic_minority_area"]}))
        parsed.setdefault(code, (name, bool(area)))
        if progress:
            progress(1)
    if errors:
        raise ImportFailed(errors)
    summary = ImportSummary(rows=len(rows))
    existing = {c.code: c for c in session.scalars(select(Commune))}
    for code, (name, area) in parsed.items():
        commune = existing.get(code)
        if commune is None:
            summary.created += 1
            if not dry_run:
                session.add(Commune(code=code, name=name, is_ethnic_minority_area=area))
        elif (commune.name, commune.is_ethnic_minority_area) != (name, area):
            summary.updated += 1
            if not dry_run:
                commune.name, commune.is_ethnic_minority_area = name, area
        else:
            summary.unchanged += 1
    session.flush()
    return summary


def _register_row(row: Row, lookups) -> tuple[ProducerData | None, list[RowError]]:
    """Turn one CSV row into ProducerData, or the errors that stop it."""
    groups, communes, actor, today = lookups
    v = row.values
    errors = []

    def err(column, message, **params):
        errors.append(RowError(row.number, row.line, column, message, params))

    kind = _KINDS.get(fold(v["kind"]))
    if kind is None:
        err("kind", N_("%(value)s is not a kind: use household, cooperative or enterprise."),
            value=v["kind"])
    group = None
    if v["ethnic_group"]:
        group = find_ethnic_group(groups, v["ethnic_group"])
        if group is None:
            err("ethnic_group", N_("Unknown ethnic group %(value)s: use the official name or "
                                   "its two-digit code."), value=v["ethnic_group"])
    commune = communes.get(v["commune_code"])
    if commune is None:
        err("commune_code", N_("Unknown commune code %(value)s."), value=v["commune_code"])
    elif not can_manage_commune(actor, commune.id):
        err("commune_code", N_("Commune %(value)s is not one of yours."), value=v["commune_code"])
    stars = None
    if v.get("ocop_stars"):
        if v["ocop_stars"] in ("3", "4", "5"):
            stars = int(v["ocop_stars"])
        else:
            err("ocop_stars", N_("OCOP stars must be blank, 3, 4 or 5, not %(value)s."),
                value=v["ocop_stars"])
    certified_on = None
    if v.get("ocop_certified_on"):
        try:
            certified_on = _parse_date(v["ocop_certified_on"])
        except ValueError:
            err("ocop_certified_on", N_("%(value)s is not a date: write YYYY-MM-DD or "
                                        "DD/MM/YYYY."), value=v["ocop_certified_on"])
    if errors or kind is None or commune is None:
        return None, errors
    data = ProducerData(
        code=v["code"], kind=kind, name=v["name"], commune=commune,
        representative=v.get("representative", ""), phone=v.get("phone", ""),
        ethnic_group=group, village=v.get("village", ""), ocop_stars=stars,
        ocop_certified_on=certified_on,
    )
    for e in check_producer_data(data, today):
        err(_FIELD_COLUMN.get(e.field, e.field), e.message, **e.params)
    return (None if errors else data), errors


def import_register(session: Session, actor, data: bytes, *, dry_run: bool = False,
                    progress: Progress | None = None) -> ImportSummary:
    """Create or update producers by code. Nothing is written unless every row is valid."""
    rows = read_rows(data, REGISTER_COLUMNS, REGISTER_REQUIRED)
    communes = {c.code: c for c in session.scalars(select(Commune))}
    lookups = (ethnic_group_lookup(session), communes, actor, utcnow().date())
    existing = {p.code: p for p in session.scalars(select(Producer)).unique()}
    phone_owner = {p.phone: p for p in existing.values() if p.phone}
    # A producer listed in the file gives up its stored phone (phones may move between
    # producers); a clash inside the file is caught by seen_phones below.
    listed = {row.values["code"] for row in rows}
    # Optional columns the file leaves out keep what is stored (they are not blanked).
    absent = [c for c in REGISTER_COLUMNS if rows and c not in rows[0].values]
    errors: list[RowError] = []
    planned: list[ProducerData] = []
    seen_codes: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    for row in rows:
        item, row_errors = _register_row(row, lookups)
        errors.extend(row_errors)
        if item is not None:
            if item.code in existing:
                for column in absent:
                    setattr(item, column, getattr(existing[item.code], column))
            if item.code in seen_codes:
                errors.append(RowError(row.number, row.line, "code", N_(
                    "The code %(code)s is also on row %(other)s."),
                    {"code": item.code, "other": seen_codes[item.code]}))
            seen_codes.setdefault(item.code, row.number)
            if item.phone:
                owner = phone_owner.get(item.phone)
                if item.phone in seen_phones:
                    errors.append(RowError(row.number, row.line, "phone", N_(
                        "The phone %(phone)s is also on row %(other)s."),
                        {"phone": item.phone, "other": seen_phones[item.phone]}))
                elif owner is not None and owner.code != item.code and owner.code not in listed:
                    errors.append(RowError(row.number, row.line, "phone", PHONE_TAKEN,
                                           {"phone": item.phone, "code": owner.code})
                                  if can_manage_commune(actor, owner.commune_id) else
                                  RowError(row.number, row.line, "phone", PHONE_TAKEN_ELSEWHERE,
                                           {"phone": item.phone}))
                seen_phones.setdefault(item.phone, row.number)
            current = existing.get(item.code)
            if current is not None:
                item.ocop_certificate_no = current.ocop_certificate_no
                item.name_own_language = current.name_own_language
                if not can_manage_commune(actor, current.commune_id):
                    # Codes are unique, so the refusal says the code is taken; not whose.
                    errors.append(RowError(row.number, row.line, "code", N_(
                        "The code %(code)s cannot be used here: choose another code."),
                        {"code": item.code}))
            planned.append(item)
        if progress:
            progress(1)
    if errors:
        raise ImportFailed(errors)
    return _write_register(session, actor, planned, existing, dry_run)


def _write_register(session, actor, planned, existing, dry_run) -> ImportSummary:
    summary = ImportSummary(rows=len(planned))
    created, updated = [], []
    for item in planned:
        producer = existing.get(item.code)
        if producer is None:
            summary.created += 1
            created.append(item)
            continue
        changed = producer_diff(producer, item)
        if changed:
            summary.updated += 1
            updated.append((producer, item))
        else:
            summary.unchanged += 1
    if dry_run:
        return summary
    moving = [p for p, item in updated if p.phone and p.phone != item.phone]
    if moving:
        for producer in moving:
            producer.phone = None
        session.flush()
    new_producers = []
    for item in created:
        producer = Producer()
        _apply(producer, item)
        new_producers.append(producer)
    session.add_all(new_producers)
    changes = [(producer, _apply(producer, item)) for producer, item in updated]
    session.flush()
    for producer in new_producers:
        record_change(session, actor, producer, "imported")
    for producer, changed in changes:
        record_change(session, actor, producer, "import_updated", ", ".join(changed))
    session.flush()
    return summary
