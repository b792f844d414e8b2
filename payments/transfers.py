"""VietQR bank transfers for orders: the money goes straight into the producer's verified
bank account, so ocopkit only records it: expected -> claimed -> confirmed.

The order's reference is in the transfer's purpose (tag 62/08), which is how the producer, an
officer or a bank statement line tells whose money arrived. The destination (bank, number,
holder) is copied into the transfer at checkout: the buyer pays what they were shown, even if
the account row is edited afterwards."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_producer
from ocopkit.db import utcnow
from ocopkit.errors import Conflict, Invalid, N_, NotFound
from onboarding.models import Producer
from onboarding.producers import record_change
from payments.accounts import verified_bank_account
from payments.models import (
    AccountStatus, BankTransfer, Channel, ConfirmedHow, EntryKind, EntryStatus, LedgerEntry,
    TransferStatus,
)
from payments.vietqr import vietqr_payload
from shop.models import Order, OrderStatus, PaymentMethod

PURPOSE_PREFIX = "OCOP "
OPEN = (TransferStatus.expected, TransferStatus.claimed)


def purpose_of(order: Order) -> str:
    return PURPOSE_PREFIX + order.reference


def expect_transfers(session: Session, orders: list[Order]) -> list[BankTransfer]:
    """Record the transfer each VietQR order expects, into its producer's verified bank
    account. Invalid when a producer has none: the caller rolls the whole checkout back."""
    transfers = []
    for order in orders:
        if order.payment_method != PaymentMethod.vietqr:
            continue
        account = verified_bank_account(session, order.producer_id)
        if account is None:
            raise Invalid("payment_method", N_("%(booth)s cannot take bank transfers yet. "
                                               "Choose card or cash on delivery."),
                          booth=order.booth.title)
        transfer = BankTransfer(order_id=order.id, account_id=account.id,
                                bank_bin=account.bank_bin, account_number=account.account_number,
                                holder_name=account.holder_name,
                                amount_vnd=order.total_vnd, purpose=purpose_of(order))
        session.add(transfer)
        transfers.append(transfer)
    session.flush()
    return transfers


def transfer_of(session: Session, order_id: int) -> BankTransfer | None:
    return session.scalar(select(BankTransfer).where(BankTransfer.order_id == order_id))


def is_payable(transfer: BankTransfer) -> bool:
    """May the buyer still pay by the order's code? Not once the account it pays into was
    disabled (closed, or consent withdrawn): the buyer must pay another way."""
    return transfer.account.status != AccountStatus.disabled


def order_payload(transfer: BankTransfer) -> str:
    """The dynamic VietQR payload of the destination shown at checkout, with the amount
    and the order's reference filled in."""
    return vietqr_payload(bin_code=transfer.bank_bin, account=transfer.account_number,
                          amount_vnd=transfer.amount_vnd, purpose=transfer.purpose)


def claim_transfer(session: Session, order: Order) -> BankTransfer:
    """The buyer says the money is sent. Only the reference's holder gets here."""
    transfer = transfer_of(session, order.id)
    if transfer is None:
        raise NotFound(N_("No such order."))
    if order.status == OrderStatus.cancelled or transfer.status == TransferStatus.cancelled:
        raise Invalid(None, N_("This order was cancelled."))
    if transfer.status == TransferStatus.expected:
        transfer.status, transfer.claimed_at = TransferStatus.claimed, utcnow()
        session.flush()
    return transfer


def confirm_transfer(session: Session, actor, transfer: BankTransfer, *,
                     how: ConfirmedHow, paid_at: datetime | None = None) -> LedgerEntry:
    """The money is in the producer's account: record the sale once. The status change is
    a conditional UPDATE, so two people confirming at once record one sale. `paid_at` (a
    bank statement line's date) dates the sale; by default it is now."""
    order = session.get(Order, transfer.order_id)
    producer = session.get(Producer, order.producer_id)
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such order."))
    if transfer.status == TransferStatus.confirmed:
        raise Conflict(None, N_("This transfer is already confirmed."))
    if transfer.status == TransferStatus.cancelled or order.status == OrderStatus.cancelled:
        raise Invalid(None, N_("This order was cancelled."))
    now = utcnow()
    result = session.execute(
        update(BankTransfer).where(BankTransfer.id == transfer.id,
                                   BankTransfer.status.in_(OPEN))
        .values(status=TransferStatus.confirmed, confirmed_at=now, confirmed_how=how,
                confirmed_by_id=getattr(actor, "id", None))
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.expire(transfer)
        raise Conflict(None, N_("This transfer is already confirmed."))
    session.expire(transfer)
    entry = LedgerEntry(producer_id=order.producer_id, order_id=order.id, kind=EntryKind.sale,
                        channel=Channel.vietqr, platform="ocopkit",
                        status=EntryStatus.completed, amount_vnd=transfer.amount_vnd,
                        occurred_at=paid_at or now, reference=f"vietqr-{order.reference}",
                        account_id=transfer.account_id,
                        recorded_by_id=getattr(actor, "id", None))
    session.add(entry)
    record_change(session, actor, producer, "transfer_confirmed",
                  f"{order.reference}: {transfer.amount_vnd} ({how.value})")
    session.flush()
    return entry


def cancel_transfer(session: Session, order: Order) -> None:
    """The order was cancelled before the money came: nothing is expected any more."""
    # "fetch": a BankTransfer already loaded in this session must not keep its old status.
    session.execute(update(BankTransfer)
                    .where(BankTransfer.order_id == order.id, BankTransfer.status.in_(OPEN))
                    .values(status=TransferStatus.cancelled)
                    .execution_options(synchronize_session="fetch"))
