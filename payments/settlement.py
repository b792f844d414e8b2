"""Where an order's payment stands, and what the ledger records when the order moves on:
cash is a sale when the order is delivered; a paid order cannot be cancelled unrefunded."""
from __future__ import annotations

import enum

from sqlalchemy import case, func, select
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


def payment_states(session: Session, orders: list[Order]) -> dict[int, PaymentState]:
    """The payment state of each order, in three queries whatever the number of orders."""
    ids = [o.id for o in orders]
    if not ids:
        return {}
    signed = case((LedgerEntry.kind == EntryKind.refund, -LedgerEntry.amount_vnd),
                  else_=LedgerEntry.amount_vnd)
    money = {order_id: (paid, refunds) for order_id, paid, refunds in session.execute(
        select(LedgerEntry.order_id, func.sum(signed),
               func.count().filter(LedgerEntry.kind == EntryKind.refund))
        .where(LedgerEntry.order_id.in_(ids), LedgerEntry.status != EntryStatus.cancelled,
               LedgerEntry.kind.in_((EntryKind.sale, EntryKind.refund)))
        .group_by(LedgerEntry.order_id))}
    claimed = set(session.scalars(select(BankTransfer.order_id).where(
        BankTransfer.order_id.in_(ids), BankTransfer.status == TransferStatus.claimed)))
    latest = (select(func.max(PaymentAttempt.id)).where(PaymentAttempt.order_id.in_(ids))
              .group_by(PaymentAttempt.order_id))
    processing = set(session.scalars(select(PaymentAttempt.order_id).where(
        PaymentAttempt.id.in_(latest), PaymentAttempt.status == AttemptStatus.processing)))
    states = {}
    for order in orders:
        paid, refunds = money.get(order.id, (0, 0))
        if (paid or 0) > 0:
            state = PaymentState.paid
        elif refunds:
            state = PaymentState.refunded
        elif order.status == OrderStatus.cancelled:
            state = PaymentState.cancelled
        elif order.payment_method == PaymentMethod.cash:
            state = PaymentState.cash_due
        elif order.id in claimed:
            state = PaymentState.claimed
        elif order.id in processing:
            state = PaymentState.processing
        else:
            state = PaymentState.unpaid
        states[order.id] = state
    return states


def payment_state(session: Session, order: Order) -> PaymentState:
    return payment_states(session, [order])[order.id]


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
