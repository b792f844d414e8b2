"""Bank statements matched against the VietQR transfers ocopkit expects.

A producer's bank (or its internet-banking export) gives `date,amount,description` rows.
Every row is checked first: one bad date or amount refuses the whole file with row numbers
and nothing is written. Then each credit whose description carries an order's reference
("OCOP " + 10 characters) and exactly the amount owed confirms that order's transfer, as if
the producer had pressed "confirm". Banks mangle descriptions ("MBVCB.123.OCOP ABCDE23456.CT
tu ...", "OCOPABCDE23456 chuyen tien"), so the reference is looked for with spaces,
punctuation, case and marks removed. A transfer is confirmed once: importing the same
statement again records nothing new.

The sale is dated when the money arrived, by the line, not when the file was imported (that
is the entry's recorded_at): a line's time is Vietnam's time, and a line with a date only is
that local day from its start (00:00 Asia/Ho_Chi_Minh), or from the moment the order was
placed if that was the same day. A line dated before the day its order was placed, or a
credit of another amount than the order's (more or less), is listed for checking by hand
and confirms nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.access import SYSTEM, producer_scope
from ocopkit.errors import Conflict, Invalid, N_
from ocopkit.money import format_vnd, parse_vnd
from ocopkit.text import fold
from onboarding.imports import ImportFailed, Progress, RowError, read_rows
from onboarding.models import Producer
from onboarding.reporting import LOCAL, local_start_utc, local_today
from payments.models import BankTransfer, ConfirmedHow, LinkedAccount, TransferStatus
from payments.transfers import OPEN, PURPOSE_PREFIX, confirm_transfer
from shop.models import Order
from shop.orders import REFERENCE_ALPHABET, REFERENCE_LENGTH

COLUMNS = ("date", "amount", "description")
_DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
_TIME_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
_REF = f"[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}"
_PREFIX = re.sub(r"[^A-Z0-9]", "", PURPOSE_PREFIX.upper())
# Lookahead, so "OCOP OCOP ABCDE23456" still finds the second one.
_AFTER_PREFIX = re.compile(f"(?={_PREFIX}({_REF}))")
_ALONE = re.compile(f"^{_REF}$")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


@dataclass(frozen=True)
class StatementLine:
    row: int
    line: int
    on: date
    amount_vnd: int          # negative for money going out (a debit)
    description: str
    reference: str | None = None
    at: datetime | None = None   # UTC: the line's time, or its local day's start


@dataclass(frozen=True)
class Mismatch:
    """A line naming an order whose transfer is for another amount: not confirmed."""

    line: StatementLine
    expected_vnd: int

    @property
    def over(self) -> bool:
        """More money than the order's amount arrived (else less)."""
        return self.line.amount_vnd > self.expected_vnd


@dataclass
class StatementResult:
    confirmed: list[str] = field(default_factory=list)            # order references
    already_confirmed: list[StatementLine] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    cancelled: list[StatementLine] = field(default_factory=list)  # money for a cancelled order
    before_order: list[StatementLine] = field(default_factory=list)  # dated before the order
    unmatched: list[StatementLine] = field(default_factory=list)
    debits: int = 0

    @property
    def rows(self) -> int:
        return (len(self.confirmed) + len(self.already_confirmed) + len(self.mismatches)
                + len(self.cancelled) + len(self.before_order) + len(self.unmatched)
                + self.debits)


_MORE = N_("row %(row)s: %(amount)s arrived for order %(ref)s, more than the %(expected)s it "
           "expects; not confirmed, check it by hand.")
_LESS = N_("row %(row)s: %(amount)s arrived for order %(ref)s, less than the %(expected)s it "
           "expects; not confirmed, check it by hand.")
_CANCELLED = N_("row %(row)s: money arrived for the cancelled order %(ref)s; give it back to "
                "the buyer.")
_EARLY = N_("row %(row)s: dated before order %(ref)s was placed; not confirmed, check it by "
            "hand.")


def to_check(result: StatementResult) -> list[tuple[str, dict]]:
    """What a person must look at, in row order, as (message, params) to translate: money
    of another amount than the order's, for a cancelled order, or dated before the order."""
    found = [(m.line.row, _MORE if m.over else _LESS,
              {"expected": format_vnd(m.expected_vnd), "amount": format_vnd(m.line.amount_vnd),
               "ref": m.line.reference}) for m in result.mismatches]
    found += [(line.row, _CANCELLED, {"ref": line.reference}) for line in result.cancelled]
    found += [(line.row, _EARLY, {"ref": line.reference}) for line in result.before_order]
    return [(message, {"row": row, **params})
            for row, message, params in sorted(found, key=lambda item: item[0])]


def parse_moment(text: str) -> tuple[date, datetime]:
    """dd/mm/yyyy (how Vietnamese banks print it) or yyyy-mm-dd, with an optional local
    time: the local day and the UTC instant (the day's local start when no time is given)."""
    text = " ".join((text or "").split())
    for fmt in _DAY_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return day, local_start_utc(day)
    for fmt in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, fmt).replace(tzinfo=LOCAL)
        except ValueError:
            continue
        return moment.date(), moment.astimezone(timezone.utc)
    raise ValueError(text)


def parse_amount(text: str) -> int:
    """'120.000' -> 120000, '-120,000' -> -120000 (a debit). ValueError for 0 or decimals."""
    value = (text or "").strip()
    sign = 1
    if value.startswith(("-", "+")):
        sign, value = (-1 if value[0] == "-" else 1), value[1:].strip()
    return sign * parse_vnd(value)


def references_in(description: str) -> list[str]:
    """Order references a bank description may carry, most likely first: those right after
    "OCOP" once spaces and punctuation are gone, then words that look like a reference."""
    upper = fold(description).upper()
    compact = _NOT_ALNUM.sub("", upper)
    found = [m.group(1) for m in _AFTER_PREFIX.finditer(compact)]
    found += [word for word in _NOT_ALNUM.split(upper) if _ALONE.match(word)]
    return list(dict.fromkeys(found))


def _read(data: bytes, progress: Progress | None) -> list[StatementLine]:
    lines, errors = [], []
    today = local_today()
    for row in read_rows(data, COLUMNS, COLUMNS):
        v = row.values
        on = at = amount = None
        try:
            on, at = parse_moment(v["date"])
        except ValueError:
            errors.append(RowError(row.number, row.line, "date", N_(
                "%(value)s is not a date: write DD/MM/YYYY or YYYY-MM-DD."), {"value": v["date"]}))
        else:
            if on > today:
                errors.append(RowError(row.number, row.line, "date", N_(
                    "%(value)s is in the future."), {"value": v["date"]}))
                on = None
        try:
            amount = parse_amount(v["amount"])
        except ValueError:
            errors.append(RowError(row.number, row.line, "amount", N_(
                "%(value)s is not a whole number of đồng (write 120000, 120.000 or -120.000 "
                "for money going out)."), {"value": v["amount"]}))
        if on is not None and amount is not None:
            lines.append(StatementLine(row.number, row.line, on, amount, v["description"],
                                       at=at))
        if progress:
            progress(1)
    if errors:
        raise ImportFailed(errors)
    return lines


def _transfers_by_reference(session: Session, actor, references: set[str],
                            account: str | None) -> dict[str, tuple[BankTransfer, datetime]]:
    """Open or closed transfers of the actor's orders by reference, with when each order was
    placed."""
    found: dict[str, tuple[BankTransfer, datetime]] = {}
    wanted = sorted(references)
    for start in range(0, len(wanted), 500):
        stmt = (select(Order.reference, BankTransfer, Order.placed_at)
                .join(BankTransfer, BankTransfer.order_id == Order.id)
                .join(Producer, Producer.id == Order.producer_id)
                .where(Order.reference.in_(wanted[start:start + 500]),
                       producer_scope(actor, Producer)))
        if account is not None:
            stmt = stmt.join(LinkedAccount, LinkedAccount.id == BankTransfer.account_id).where(
                LinkedAccount.account_number == account)
        found.update({reference: (transfer, placed_at)
                      for reference, transfer, placed_at in session.execute(stmt)})
    return found


def import_statement(session: Session, data: bytes, *, actor=SYSTEM,
                     account: str | None = None,
                     progress: Progress | None = None) -> StatementResult:
    """Confirm the open transfers that the statement's credits pay in full.

    Only orders of producers the actor manages are matched (an officer's upload touches
    their communes only). `account` (an account number) limits the matching to transfers
    into that account: give it when the statement is one producer's, so a reference paid
    into someone else's account cannot confirm an order. The caller commits; ImportFailed
    means nothing was written."""
    account = "".join(account.split()) if account else None
    lines = _read(data, progress)
    credits = [line for line in lines if line.amount_vnd > 0]
    candidates = {line.row: references_in(line.description) for line in credits}
    transfers = _transfers_by_reference(
        session, actor, {ref for refs in candidates.values() for ref in refs}, account)
    result = StatementResult(debits=len(lines) - len(credits))
    for line in credits:
        reference = next((ref for ref in candidates[line.row] if ref in transfers), None)
        if reference is None:
            result.unmatched.append(line)
            continue
        line = replace(line, reference=reference)
        transfer, placed_at = transfers[reference]
        if transfer.status == TransferStatus.cancelled:
            result.cancelled.append(line)
        elif transfer.amount_vnd != line.amount_vnd:
            result.mismatches.append(Mismatch(line, transfer.amount_vnd))
        elif transfer.status not in OPEN:
            result.already_confirmed.append(line)
        elif line.on < placed_at.astimezone(LOCAL).date():
            result.before_order.append(line)
        else:
            try:
                confirm_transfer(session, actor, transfer, how=ConfirmedHow.statement,
                                 paid_at=max(line.at, placed_at))
            except Conflict:  # confirmed meanwhile by the producer or an officer
                result.already_confirmed.append(line)
            except Invalid:   # the order was cancelled while its transfer stayed open
                result.cancelled.append(line)
            else:
                result.confirmed.append(reference)
    session.flush()
    return result
