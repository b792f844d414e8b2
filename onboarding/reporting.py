"""Adoption reporting against the OCOP targets (issue 6): plain functions over a Session.

Definitions, at reporting date D (a local date, Asia/Ho_Chi_Minh):

- OCOP subject: a producer with 3-5 stars whose certificate is valid on D
  (certified_on <= D < certificate_expires_on(certified_on)), or with stars and no
  certification date recorded.
- Ethnic-minority household: kind household, ethnic group recorded and not Kinh ("01").
- booth_and_payment (target 50 %): among OCOP-subject ethnic-minority households, those
  that on D have a published booth with at least one published product, held the consent
  to publish it (consent periods), AND a verified payment account.
- ecommerce_transacting (target 60 %): among OCOP-subject producers of any kind in
  communes marked ethnic-minority areas, those with at least one completed sale in the
  ledger (kind sale, status completed) in the 365 local days D-364 .. D.

History "on D": a booth counts when its status is published now and published_at is
before the end of D; a product when published now and created before the end of D.
Limitation: there is no publication history table yet, so a booth (or product) suspended
after D is not counted for an earlier D. Account verification periods are exact.

Everything is counted in SQL: one grouped query per reporting date (grouped by commune,
ethnic group and kind), whose few hundred rows are then summed into the breakdowns.

Small cells: `as_json(report, suppress_small=True)` (and the CSV/table exports) shows
ethnic-group cells whose denominator is below 5 as "< 5" with no numerator, rate or gap.
Exports for anyone but an admin (i.e. reaching beyond an officer's own communes) use it.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_commune
from ocopkit.errors import NotFound
from onboarding.consents import consented
from onboarding.models import (
    KINH_CODE, Commune, ConsentPeriod, ConsentPurpose, EthnicGroup, Producer, ProducerKind,
    Training,
)
from onboarding.producers import certificate_expires_on

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
TARGET_DATE = date(2030, 12, 31)
SMALL_CELL = 5
SUPPRESSED = "< 5"
WINDOW_DAYS = 365

# key, target as a fraction numerator/10 (integer arithmetic for the gap)
INDICATORS = (("booth_and_payment", 5), ("ecommerce_transacting", 6))


def local_today() -> date:
    return datetime.now(LOCAL).date()


def local_start_utc(day: date) -> datetime:
    """The UTC instant at which local day `day` starts."""
    return datetime.combine(day, time(0), LOCAL).astimezone(timezone.utc)


def earliest_valid_certificate(as_of: date) -> date:
    """The earliest certification date whose certificate is still valid on `as_of`."""
    month = as_of.month - 1 - 36
    year, month = as_of.year + month // 12, month % 12 + 1
    day = date(year, month, 1)
    while certificate_expires_on(day) <= as_of:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Indicator:
    key: str
    target: float
    numerator: int
    denominator: int

    @property
    def target_tenths(self) -> int:
        return round(self.target * 10)

    @property
    def rate(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None

    @property
    def gap(self) -> int:
        need = -(-self.denominator * self.target_tenths // 10)  # ceil without floats
        return max(0, need - self.numerator)


@dataclass(frozen=True)
class Counts:
    subjects: int = 0
    em_households: int = 0
    booth_and_payment: int = 0
    em_area_subjects: int = 0
    transacting: int = 0
    trained: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self._tuple(), other._tuple())))

    def _tuple(self):
        return (self.subjects, self.em_households, self.booth_and_payment,
                self.em_area_subjects, self.transacting, self.trained)

    @property
    def indicators(self) -> tuple[Indicator, Indicator]:
        return (Indicator("booth_and_payment", 0.5, self.booth_and_payment, self.em_households),
                Indicator("ecommerce_transacting", 0.6, self.transacting, self.em_area_subjects))

    @property
    def training(self) -> Indicator:
        return Indicator("training", 0.0, self.trained, self.subjects)


@dataclass(frozen=True)
class CommuneRow:
    commune_id: int
    commune_code: str
    commune: str
    counts: Counts


@dataclass(frozen=True)
class GroupRow:
    ethnic_group: str | None
    counts: Counts


@dataclass(frozen=True)
class KindRow:
    kind: str
    counts: Counts


@dataclass(frozen=True)
class AdoptionReport:
    as_of: date
    total: Counts
    by_commune: tuple[CommuneRow, ...]
    by_ethnic_group: tuple[GroupRow, ...]
    by_kind: tuple[KindRow, ...]

    @property
    def indicators(self) -> tuple[Indicator, Indicator]:
        return self.total.indicators


def _conditions(as_of: date):
    """EXISTS conditions on Producer: published booth with a published product, verified
    account, completed sale in the 365-day window, all as they stood at the end of as_of."""
    from payments.models import (
        AccountVerification, EntryKind, EntryStatus, LedgerEntry, LinkedAccount,
    )
    from shop.models import Booth, BoothStatus, Product, ProductStatus

    end = local_start_utc(as_of + timedelta(days=1))
    start = local_start_utc(as_of - timedelta(days=WINDOW_DAYS - 1))
    booth_ok = and_(exists().where(
        Booth.producer_id == Producer.id, Booth.status == BoothStatus.published,
        Booth.published_at < end,
        exists().where(Product.booth_id == Booth.id, Product.status == ProductStatus.published,
                       Product.created_at < end)), consented(Producer.id, at=end))
    account_ok = exists().where(
        LinkedAccount.producer_id == Producer.id,
        AccountVerification.account_id == LinkedAccount.id,
        AccountVerification.verified_at < end,
        or_(AccountVerification.ended_at.is_(None), AccountVerification.ended_at >= end))
    sold = exists().where(
        LedgerEntry.producer_id == Producer.id, LedgerEntry.kind == EntryKind.sale,
        LedgerEntry.status == EntryStatus.completed,
        LedgerEntry.occurred_at >= start, LedgerEntry.occurred_at < end)
    return booth_ok, account_ok, sold


def valid_certificate(as_of: date, min_stars: int = 3):
    """SQL: the producer holds an OCOP certificate of `min_stars` or more valid on `as_of`
    (no date recorded counts as valid, as on the register)."""
    return and_(Producer.ocop_stars.between(min_stars, 5),
                or_(Producer.ocop_certified_on.is_(None),
                    Producer.ocop_certified_on.between(earliest_valid_certificate(as_of),
                                                       as_of)))


def _is_subject(as_of: date):
    return valid_certificate(as_of)


def _flags(as_of: date, commune_ids: set[int] | None):
    """A subquery: one row per OCOP subject on `as_of` with 0/1 flags for each condition."""
    booth_ok, account_ok, sold = _conditions(as_of)
    trained = exists().where(Training.producer_id == Producer.id, Training.held_on <= as_of)
    em_household = and_(Producer.kind == ProducerKind.household, EthnicGroup.code.is_not(None),
                        EthnicGroup.code != KINH_CODE)

    def flag(cond):
        return case((cond, 1), else_=0)

    stmt = (
        select(Producer.commune_id, Producer.ethnic_group_id, Producer.kind,
               flag(em_household).label("em"),
               flag(and_(em_household, booth_ok, account_ok)).label("bp"),
               flag(Commune.is_ethnic_minority_area.is_(True)).label("area"),
               flag(and_(Commune.is_ethnic_minority_area.is_(True), sold)).label("sold"),
               flag(trained).label("trained"))
        .join(Commune, Commune.id == Producer.commune_id)
        .outerjoin(EthnicGroup, EthnicGroup.id == Producer.ethnic_group_id)
        .where(_is_subject(as_of))
    )
    if commune_ids is not None:
        stmt = stmt.where(Producer.commune_id.in_(commune_ids or {-1}))
    return stmt.subquery("flags")


def _grouped(session: Session, as_of: date, commune_ids: set[int] | None):
    """(commune_id, ethnic_group_id, kind, Counts) rows: the one aggregate query."""
    f = _flags(as_of, commune_ids)
    stmt = (select(f.c.commune_id, f.c.ethnic_group_id, f.c.kind, func.count(),
                   func.sum(f.c.em), func.sum(f.c.bp), func.sum(f.c.area), func.sum(f.c.sold),
                   func.sum(f.c.trained))
            .group_by(f.c.commune_id, f.c.ethnic_group_id, f.c.kind))
    return [(c, g, k, Counts(*(int(v or 0) for v in rest)))
            for c, g, k, *rest in session.execute(stmt)]


def _total(rows) -> Counts:
    total = Counts()
    for *_, counts in rows:
        total = total + counts
    return total


def adoption(session: Session, *, as_of: date,
             commune_ids: set[int] | None = None) -> AdoptionReport:
    """Both indicators for the province (or the given communes) on `as_of`, with
    breakdowns by commune (every commune, even empty ones), ethnic group and kind."""
    rows = _grouped(session, as_of, commune_ids)
    by_commune: dict[int, Counts] = {}
    by_group: dict[int | None, Counts] = {}
    by_kind: dict[str, Counts] = {}
    for commune_id, group_id, kind, counts in rows:
        kind = kind.value if isinstance(kind, ProducerKind) else str(kind)
        by_commune[commune_id] = by_commune.get(commune_id, Counts()) + counts
        by_group[group_id] = by_group.get(group_id, Counts()) + counts
        by_kind[kind] = by_kind.get(kind, Counts()) + counts
    communes = select(Commune.id, Commune.code, Commune.name).order_by(Commune.code)
    if commune_ids is not None:
        communes = communes.where(Commune.id.in_(commune_ids or {-1}))
    groups = dict(session.execute(select(EthnicGroup.id, EthnicGroup.name)).all())
    return AdoptionReport(
        as_of=as_of,
        total=_total(rows),
        by_commune=tuple(CommuneRow(cid, code, name, by_commune.get(cid, Counts()))
                         for cid, code, name in session.execute(communes)),
        by_ethnic_group=tuple(sorted(
            (GroupRow(groups.get(gid) if gid is not None else None, c)
             for gid, c in by_group.items()),
            key=lambda r: (r.ethnic_group is None, r.ethnic_group or ""))),
        by_kind=tuple(KindRow(k.value, by_kind[k.value])
                      for k in ProducerKind if k.value in by_kind),
    )


# --- serialisation ---------------------------------------------------------------------

def indicator_json(ind: Indicator, *, suppress: bool = False) -> dict:
    if suppress:
        return {"key": ind.key, "target": ind.target, "numerator": None,
                "denominator": SUPPRESSED, "rate": None, "gap": None}
    return {"key": ind.key, "target": ind.target, "numerator": ind.numerator,
            "denominator": ind.denominator, "rate": ind.rate, "gap": ind.gap}


def _indicators(counts: Counts, suppress_small: bool = False) -> list[dict]:
    return [indicator_json(i, suppress=suppress_small and 0 < i.denominator < SMALL_CELL)
            for i in counts.indicators]


def as_json(report: AdoptionReport, *, suppress_small: bool = False) -> dict:
    """The report as plain data. With suppress_small, ethnic-group cells whose denominator
    is 1-4 show "< 5" instead of numbers (other breakdowns are never suppressed)."""
    return {
        "as_of": report.as_of.isoformat(),
        "indicators": _indicators(report.total),
        "training": indicator_json(report.total.training) | {"target": None},
        "by_commune": [{"commune_code": r.commune_code, "commune": r.commune,
                        "indicators": _indicators(r.counts)} for r in report.by_commune],
        "by_ethnic_group": [{"ethnic_group": r.ethnic_group,
                             "indicators": _indicators(r.counts, suppress_small)}
                            for r in report.by_ethnic_group],
        "by_kind": [{"kind": r.kind, "indicators": _indicators(r.counts)}
                    for r in report.by_kind],
    }


CSV_HEADER = ["as_of", "breakdown", "group", "indicator", "target", "numerator",
              "denominator", "rate", "gap"]


def safe_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def as_rows(report: AdoptionReport, *, suppress_small: bool = False) -> list[list]:
    """Flat rows (header first) for CSV, XLSX and the table output."""
    data = as_json(report, suppress_small=suppress_small)
    rows = [CSV_HEADER]

    def add(breakdown, group, indicators):
        for i in indicators:
            rows.append([data["as_of"], breakdown, group, i["key"], i["target"], i["numerator"],
                         i["denominator"], i["rate"], i["gap"]])
    add("province", "", data["indicators"])
    for r in data["by_commune"]:
        add("commune", f'{r["commune_code"]} {r["commune"]}', r["indicators"])
    for r in data["by_ethnic_group"]:
        add("ethnic_group", r["ethnic_group"] or "", r["indicators"])
    for r in data["by_kind"]:
        add("kind", r["kind"], r["indicators"])
    return rows


def to_csv(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


# --- visit list --------------------------------------------------------------------------

@dataclass(frozen=True)
class Visit:
    producer_id: int
    code: str
    name: str
    village: str
    phone: str | None
    ethnic_group: str | None
    has_booth: bool
    has_account: bool
    has_sale: bool

    @property
    def lacks(self) -> tuple[str, ...]:
        return tuple(k for k, ok in (("booth", self.has_booth), ("account", self.has_account),
                                     ("sale", self.has_sale)) if not ok)


def to_visit(session: Session, actor, commune_id: int, *, as_of: date) -> list[Visit]:
    """OCOP-subject ethnic-minority households of the commune that lack a published booth
    with a product, a verified account, or a completed sale in the 365-day window."""
    if not can_manage_commune(actor, commune_id) or session.get(Commune, commune_id) is None:
        raise NotFound()
    booth_ok, account_ok, sold = _conditions(as_of)
    stmt = (
        select(Producer.id, Producer.code, Producer.name, Producer.village, Producer.phone,
               EthnicGroup.name, booth_ok, account_ok, sold)
        .join(EthnicGroup, EthnicGroup.id == Producer.ethnic_group_id)
        .where(Producer.commune_id == commune_id, Producer.kind == ProducerKind.household,
               EthnicGroup.code != KINH_CODE, _is_subject(as_of),
               ~and_(booth_ok, account_ok, sold))
        .order_by(Producer.village, Producer.name, Producer.id)
    )
    return [Visit(pid, code, name, village or "", phone, group, bool(b), bool(a), bool(s))
            for pid, code, name, village, phone, group, b, a, s in session.execute(stmt)]


def visits_csv(visits: list[Visit]) -> str:
    rows = [["code", "name", "village", "phone", "ethnic_group", "lacks"]]
    rows += [[v.code, v.name, v.village, v.phone, v.ethnic_group, " ".join(v.lacks)]
             for v in visits]
    return to_csv(rows)


# --- trend ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrendPoint:
    on: date
    booth_and_payment: float | None
    ecommerce_transacting: float | None


@dataclass(frozen=True)
class Trend:
    points: tuple[TrendPoint, ...]
    target_date: date
    # straight path from the latest rate to the target: (key, start rate, target, per month)
    paths: tuple[tuple[str, float | None, float, float | None], ...]


def month_ends(as_of: date, months: int) -> list[date]:
    """The last `months` month-ends up to as_of, oldest first; the current month ends at as_of."""
    days = [as_of]
    first = as_of.replace(day=1)
    for _ in range(months - 1):
        end = first - timedelta(days=1)
        days.append(end)
        first = end.replace(day=1)
    return days[::-1]


def _series(session: Session, days: list[date], commune_ids: set[int] | None):
    """Province Counts (indicators only) on each of `days`, in one query: the ledger,
    booths and accounts are each read once and turned into one 0/1 column per day."""
    from payments.models import (
        AccountVerification, EntryKind, EntryStatus, LedgerEntry, LinkedAccount,
    )
    from shop.models import Booth, BoothStatus, Product, ProductStatus

    ends = [local_start_utc(d + timedelta(days=1)) for d in days]
    starts = [local_start_utc(d - timedelta(days=WINDOW_DAYS - 1)) for d in days]

    def flag(cond):
        return case((cond, 1), else_=0)
    sales = (select(LedgerEntry.producer_id, *(
        func.max(flag(and_(LedgerEntry.occurred_at >= s, LedgerEntry.occurred_at < e)))
        .label(f"s{i}") for i, (s, e) in enumerate(zip(starts, ends))))
        .where(LedgerEntry.kind == EntryKind.sale, LedgerEntry.status == EntryStatus.completed,
               LedgerEntry.occurred_at >= min(starts), LedgerEntry.occurred_at < max(ends))
        .group_by(LedgerEntry.producer_id).subquery("sales"))
    booths = (select(Booth.producer_id, Booth.published_at,
                     func.min(Product.created_at).label("first_product"))
              .join(Product, Product.booth_id == Booth.id)
              .where(Booth.status == BoothStatus.published,
                     Product.status == ProductStatus.published)
              .group_by(Booth.id, Booth.producer_id, Booth.published_at).subquery("booths"))
    accounts = (select(LinkedAccount.producer_id, *(
        func.max(flag(and_(AccountVerification.verified_at < e,
                           or_(AccountVerification.ended_at.is_(None),
                               AccountVerification.ended_at >= e)))).label(f"a{i}")
        for i, e in enumerate(ends)))
        .join(AccountVerification, AccountVerification.account_id == LinkedAccount.id)
        .group_by(LinkedAccount.producer_id).subquery("accounts"))
    published = (select(ConsentPeriod.producer_id, *(
        func.max(flag(and_(ConsentPeriod.started_at < e,
                           or_(ConsentPeriod.ended_at.is_(None), ConsentPeriod.ended_at >= e))))
        .label(f"c{i}") for i, e in enumerate(ends)))
        .where(ConsentPeriod.purpose == ConsentPurpose.publish_booth)
        .group_by(ConsentPeriod.producer_id).subquery("published"))
    em = and_(Producer.kind == ProducerKind.household, EthnicGroup.code.is_not(None),
              EthnicGroup.code != KINH_CODE)
    area = Commune.is_ethnic_minority_area.is_(True)
    columns = []
    for i, (d, e) in enumerate(zip(days, ends)):
        subject = _is_subject(d)
        booth_ok = and_(booths.c.published_at < e, booths.c.first_product < e,
                        published.c[f"c{i}"] == 1)
        columns += [func.sum(flag(and_(subject, em))),
                    func.sum(flag(and_(subject, em, booth_ok, accounts.c[f"a{i}"] == 1))),
                    func.sum(flag(and_(subject, area))),
                    func.sum(flag(and_(subject, area, sales.c[f"s{i}"] == 1)))]
    stmt = (select(*columns)
            .select_from(Producer)
            .join(Commune, Commune.id == Producer.commune_id)
            .outerjoin(EthnicGroup, EthnicGroup.id == Producer.ethnic_group_id)
            .outerjoin(booths, booths.c.producer_id == Producer.id)
            .outerjoin(accounts, accounts.c.producer_id == Producer.id)
            .outerjoin(published, published.c.producer_id == Producer.id)
            .outerjoin(sales, sales.c.producer_id == Producer.id)
            .where(Producer.ocop_stars.between(3, 5)))
    if commune_ids is not None:
        stmt = stmt.where(Producer.commune_id.in_(commune_ids or {-1}))
    row = [int(v or 0) for v in session.execute(stmt).one()]
    return [Counts(0, *row[4 * i:4 * i + 4], 0) for i in range(len(days))]


def trend(session: Session, *, months: int = 24, as_of: date,
          commune_ids: set[int] | None = None) -> Trend:
    """Province rates at each month-end (one query for all of them; the test checks it
    against adoption() day by day) and the straight path from the latest rate to each
    target on 2030-12-31 (rate change per month, in fractions)."""
    days = month_ends(as_of, months)
    points = []
    for day, counts in zip(days, _series(session, days, commune_ids)):
        bp, ec = counts.indicators
        points.append(TrendPoint(day, bp.rate, ec.rate))
    latest = points[-1]
    months_left = max(1, (TARGET_DATE.year - as_of.year) * 12 + TARGET_DATE.month - as_of.month)
    paths = []
    for key, tenths in INDICATORS:
        start = getattr(latest, key)
        per_month = None if start is None else round((tenths / 10 - start) / months_left, 4)
        paths.append((key, start, tenths / 10, per_month))
    return Trend(tuple(points), TARGET_DATE, tuple(paths))
