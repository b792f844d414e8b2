"""A producer's money on one page: what buyers paid them directly, what ocopkit collected for
them (card payments go to the platform's gateway account), what was paid out, and what is
still owed. Plain functions over a Session; the caller commits.

Counting rules: a sale counts whether it is `completed` or `refunded` (a refunded sale keeps
its refund row, which is subtracted); `cancelled` rows count for nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_producer, is_staff
from ocopkit.db import utcnow
from ocopkit.errors import Invalid, N_, NotAllowed, NotFound
from ocopkit.users import Role
from ocopkit.money import format_vnd
from onboarding.models import Producer
from onboarding.producers import record_change
from payments.accounts import mask
from payments.models import (
    AccountStatus, Channel, EntryKind, EntryStatus, LedgerEntry, LinkedAccount,
)
from payments.refunds import reserved_for_producer
from shop.models import Order

COUNTED = (EntryStatus.completed, EntryStatus.refunded)
REFERENCE_MAX = 80


@dataclass(frozen=True)
class Balance:
    """Sums in đồng. `owed` can only fall below zero if payouts were recorded by hand
    outside record_payout; it is shown as it is."""

    card_sales: int = 0
    vietqr_sales: int = 0
    cash_sales: int = 0
    external_sales: int = 0
    card_refunds: int = 0
    paid_out: int = 0

    @property
    def paid_directly(self) -> int:
        """Money that went straight from buyers to the producer (VietQR transfer, cash)."""
        return self.vietqr_sales + self.cash_sales

    @property
    def collected(self) -> int:
        """Card money the platform's gateway account holds for the producer."""
        return self.card_sales - self.card_refunds

    @property
    def owed(self) -> int:
        return self.collected - self.paid_out


_SALES = {Channel.card: "card_sales", Channel.vietqr: "vietqr_sales",
          Channel.cash: "cash_sales", Channel.external: "external_sales"}


def balance(session: Session, producer_id: int) -> Balance:
    """One GROUP BY over the producer's ledger rows."""
    rows = session.execute(
        select(LedgerEntry.kind, LedgerEntry.channel, func.sum(LedgerEntry.amount_vnd))
        .where(LedgerEntry.producer_id == producer_id, LedgerEntry.status.in_(COUNTED))
        .group_by(LedgerEntry.kind, LedgerEntry.channel))
    sums: dict[str, int] = {}
    for kind, channel, total in rows:
        if kind == EntryKind.sale and channel in _SALES:
            name = _SALES[channel]
        elif kind == EntryKind.refund and channel == Channel.card:
            name = "card_refunds"
        elif kind == EntryKind.payout:
            name = "paid_out"
        else:
            continue
        sums[name] = sums.get(name, 0) + int(total or 0)
    return Balance(**sums)


@dataclass(frozen=True)
class EntryRow:
    id: int
    occurred_at: datetime
    kind: EntryKind
    channel: Channel
    platform: str
    status: EntryStatus
    amount_vnd: int
    reference: str
    order_reference: str | None
    account: str | None  # payout target, masked


@dataclass(frozen=True)
class EntryPage:
    items: tuple[EntryRow, ...]
    page: int
    pages: int
    total: int


def entries(session: Session, producer_id: int, *, page: int = 1, per_page: int = 50) -> EntryPage:
    """The producer's ledger rows, newest first (two queries: count, page)."""
    total = session.scalar(select(func.count(LedgerEntry.id))
                           .where(LedgerEntry.producer_id == producer_id)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.occurred_at, LedgerEntry.kind, LedgerEntry.channel,
               LedgerEntry.platform, LedgerEntry.status, LedgerEntry.amount_vnd,
               LedgerEntry.reference, Order.reference, LinkedAccount.provider,
               LinkedAccount.account_number)
        .outerjoin(Order, Order.id == LedgerEntry.order_id)
        .outerjoin(LinkedAccount, LinkedAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.producer_id == producer_id)
        .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    items = tuple(
        EntryRow(*row[:9], account=f"{row[9]} {mask(row[10])}".strip() if row[10] else None)
        for row in rows)
    return EntryPage(items, page, pages, total)


def payout_accounts(session: Session, producer_id: int) -> list[LinkedAccount]:
    """The producer's verified accounts (any kind): the only ones a payout may go to."""
    return list(session.scalars(select(LinkedAccount).where(
        LinkedAccount.producer_id == producer_id,
        LinkedAccount.status == AccountStatus.verified).order_by(LinkedAccount.id)))


def _more_than_owed(owed: int) -> Invalid:
    return Invalid("amount_vnd", N_("At most %(maximum)s can be paid out: that is what "
                                    "ocopkit owes this producer now."),
                   maximum=format_vnd(max(owed, 0)))


def _payable(session: Session, producer_id: int) -> int:
    """What is owed less refunds held but not yet confirmed by the gateway: money that may
    be on its way back to a buyer is not paid out."""
    return balance(session, producer_id).owed - reserved_for_producer(session, producer_id)


def record_payout(session: Session, actor, producer: Producer, *, account_id: int,
                  amount_vnd: int, reference: str) -> LedgerEntry:
    """Staff record that collected card money was sent to the producer's own verified account.

    Refunds must be known first: the caller re-reads the gateway's refunds of the
    producer's card sales (payments.refunds.sync_producer_refunds, committed) before this,
    and refunds held but unconfirmed count as refunded here.

    The producer row is locked (SELECT ... FOR UPDATE on PostgreSQL) before the balance is
    read, and the balance is read again after the insert (SQLite's write lock), so two
    payouts at once cannot together pay out more than is owed."""
    if not (is_staff(actor) and can_manage_producer(actor, producer)):
        raise NotFound(N_("No such producer."))
    reference = " ".join((reference or "").split())
    if not reference:
        raise Invalid("reference", N_("Type the reference of the bank transfer."))
    if len(reference) > REFERENCE_MAX:
        raise Invalid("reference", N_("The reference is longer than %(max)s characters."),
                      max=REFERENCE_MAX)
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or amount_vnd <= 0:
        raise Invalid("amount_vnd", N_("The amount must be a whole number of đồng above zero."))
    account = session.get(LinkedAccount, account_id) if account_id else None
    if (account is None or account.producer_id != producer.id
            or account.status != AccountStatus.verified):
        raise Invalid("account_id", N_("Choose one of this producer's verified accounts."))

    session.execute(select(Producer.id).where(Producer.id == producer.id).with_for_update())
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.platform == "ocopkit",
                                                   LedgerEntry.reference == reference)):
        raise Invalid("reference", N_("The reference %(reference)s is already recorded."),
                      reference=reference)
    owed = _payable(session, producer.id)
    if amount_vnd > owed:
        raise _more_than_owed(owed)

    entry = LedgerEntry(producer_id=producer.id, kind=EntryKind.payout, channel=Channel.transfer,
                        platform="ocopkit", status=EntryStatus.completed, amount_vnd=amount_vnd,
                        occurred_at=utcnow(), reference=reference, account_id=account.id,
                        recorded_by_id=getattr(actor, "id", None))
    session.add(entry)
    session.flush()
    # SQLite has no row lock, but the insert above took its single write lock: read again
    # now, and a payout committed meanwhile is seen.
    left = _payable(session, producer.id)
    if left < 0:
        raise _more_than_owed(left + amount_vnd)
    record_change(session, actor, producer, "payout_recorded",
                  f"{format_vnd(amount_vnd)} → {account.provider} "
                  f"{mask(account.account_number)} ({reference})")
    return entry


REASON_MAX = 200


def move_sale(session: Session, actor, entry: LedgerEntry, *, to_producer: Producer,
              reason: str) -> LedgerEntry:
    """An admin's correction of a sale imported for the wrong producer, with its reason in
    both producers' history. Imports never move a sale; sales made on ocopkit follow their
    order and are never moved."""
    if getattr(actor, "role", None) != Role.admin:
        raise NotAllowed(N_("Only administrators can move a sale to another producer."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("reason", N_("Say why the sale belongs to another producer."))
    if len(reason) > REASON_MAX:
        raise Invalid("reason", N_("The reason is longer than %(max)s characters."),
                      max=REASON_MAX)
    if entry.kind != EntryKind.sale or entry.channel != Channel.external:
        raise Invalid("entry", N_("Only sales imported from other platforms can be moved."))
    if entry.producer_id == to_producer.id:
        raise Invalid("to_producer", N_("The sale already belongs to %(code)s."),
                      code=to_producer.code)
    from_producer = session.get(Producer, entry.producer_id)
    entry.producer_id = to_producer.id
    session.flush()
    sale = f"{entry.platform} {entry.reference} {format_vnd(entry.amount_vnd)}"
    record_change(session, actor, from_producer, "sale_moved_out",
                  f"{sale} → {to_producer.code}: {reason}")
    record_change(session, actor, to_producer, "sale_moved_in",
                  f"{sale} ← {from_producer.code}: {reason}")
    session.flush()
    return entry
