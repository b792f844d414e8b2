"""Where an order's payment stands, and what the ledger records when the order moves on:
cash is a sale when the order is delivered; a paid order cannot be cancelled unrefunded."""
from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.db import utcnow
from ocopkit.errors import Invalid, N_
from payments.models import (
    AttemptStatus, BankTransfer, Channel, EntryKind, EntryStatus, LedgerEntry, PaymentAttempt,
    TransferStatus,
)
from payments.transactions import order_paid_vnd
from payments.transfers import cancel_transfer
from shop.models import Order, OrderStatus, PaymentMethod


class PaymentState(str, enum.Enum):
    unpaid = "unpaid"            # card or VietQR: the buyer can still pay
    processing = "processing"    # card: the gateway has not answered yet
    claimed = "claimed"          # VietQR: the buyer says it is sent
    paid = "paid"
    refunded = "refunded"
    cash_due = "cash_due"        # paid to the driver or producer at delivery
    cancelled = "cancelled"


def payment_state(session: Session, order: Order) -> PaymentState:
    if order_paid_vnd(session, order.id) > 0:
        return PaymentState.paid
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.order_id == order.id,
                                                   LedgerEntry.kind == EntryKind.refund)
                      .limit(1)):
        return PaymentState.refunded
    if order.status == OrderStatus.cancelled:
        return PaymentState.cancelled
    if order.payment_method == PaymentMethod.cash:
        return PaymentState.cash_due
    if order.payment_method == PaymentMethod.vietqr:
        status = session.scalar(select(BankTransfer.status)
                                .where(BankTransfer.order_id == order.id))
        return PaymentState.claimed if status == TransferStatus.claimed else PaymentState.unpaid
    latest = session.scalar(select(PaymentAttempt.status)
                            .where(PaymentAttempt.order_id == order.id)
                            .order_by(PaymentAttempt.id.desc()).limit(1))
    return PaymentState.processing if latest == AttemptStatus.processing else PaymentState.unpaid


def after_status_change(session: Session, actor, order: Order) -> None:
    """Called in the same transaction as shop.orders.change_order_status."""
    if order.status == OrderStatus.cancelled:
        cancel_transfer(session, order)
        # Checked after the transfer is cancelled, so a confirm committed meanwhile is seen.
        if order_paid_vnd(session, order.id) > 0:
            raise Invalid("status", N_("This order is paid: give the buyer the money back "
                                       "(a refund) before cancelling it."))
    elif (order.status == OrderStatus.delivered and order.payment_method == PaymentMethod.cash
          and order.total_vnd > 0):
        reference = f"cash-{order.reference}"
        if not session.scalar(select(LedgerEntry.id).where(LedgerEntry.platform == "ocopkit",
                                                           LedgerEntry.reference == reference)):
            session.add(LedgerEntry(
                producer_id=order.producer_id, order_id=order.id, kind=EntryKind.sale,
                channel=Channel.cash, platform="ocopkit", status=EntryStatus.completed,
                amount_vnd=order.total_vnd, occurred_at=utcnow(), reference=reference,
                recorded_by_id=getattr(actor, "id", None)))
    session.flush()
