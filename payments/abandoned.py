"""Card orders nobody paid for give their stock back.

A buyer who opens the card page and walks away holds units other buyers could have. After a
configurable time the order is cancelled (stock returned), but only once the gateway has
said that none of its PaymentIntents succeeded and the open ones are cancelled there: a
payment that did go through is recorded instead, never lost. An attempt whose create answer
was lost (no intent id) is looked up at the gateway by its metadata first; if the gateway
cannot be read, the order waits for the next run."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ocopkit.access import SYSTEM
from ocopkit.db import utcnow
from payments.gateway import GatewayClient, GatewayError, PaymentIntent
from payments.models import AttemptStatus, EntryKind, LedgerEntry, PaymentAttempt
from payments.problems import order_problems
from payments.transactions import (
    FINAL, apply_intent, find_lost_intents, lost_answer, next_status,
)
from shop.models import Order, OrderStatus, PaymentMethod
from shop.orders import change_order_status

CANCELLABLE = {"requires_payment_method", "requires_confirmation", "requires_action",
               "requires_capture"}


@dataclass
class Released:
    cancelled: list[str] = field(default_factory=list)  # order references
    paid_meanwhile: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # money taken that staff must settle


def _lost_intents(session: Session, client: GatewayClient,
                  orders: list[Order]) -> dict[int, PaymentIntent] | None:
    """The gateway's PaymentIntents of the orders' attempts whose create answer was lost
    (one listing for the whole run); None if the gateway could not be read to the end."""
    lost = list(session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.order_id.in_([o.id for o in orders]), PaymentAttempt.intent_id.is_(None),
        PaymentAttempt.status.not_in(FINAL))))
    if not lost:
        return {}
    try:
        return find_lost_intents(session, client, lost)
    except GatewayError:
        return None


def _settle_attempts(session: Session, client: GatewayClient, order: Order,
                     lost: dict[int, PaymentIntent] | None) -> bool | None:
    """True if a payment went through, False if nothing can succeed any more, None if the
    gateway could not tell. "Not found at the gateway" counts as nothing paid only once the
    whole list was read and the create call can no longer be on its way."""
    attempts = session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order.id, PaymentAttempt.status.not_in(FINAL)))
    for attempt in list(attempts):
        try:
            if attempt.intent_id is None:
                if lost is None or not lost_answer(attempt, utcnow()):
                    return None
                if attempt.id not in lost:
                    attempt.status = next_status(attempt.status, AttemptStatus.canceled)
                    continue
                intent = lost[attempt.id]
                attempt.intent_id = intent.id
            else:
                intent = client.retrieve_payment_intent(attempt.intent_id)
            if intent.status in CANCELLABLE:
                intent = client.cancel_payment_intent(attempt.intent_id)
        except GatewayError:
            return None
        apply_intent(session, attempt, intent)
        if attempt.status == AttemptStatus.succeeded:
            return True
        if attempt.status != AttemptStatus.canceled:
            return None  # still processing at the bank: wait
    return False


def release_abandoned(session: Session, client: GatewayClient, *, older_than: timedelta,
                      now: datetime | None = None) -> Released:
    """Cancel unpaid card orders placed more than `older_than` ago and return their stock.
    An order the gateway cannot speak for is skipped and tried again on the next run; one
    with a PaymentProblem (money taken, not recorded) is left to staff."""
    cutoff = (now or utcnow()) - older_than
    paid = exists().where(LedgerEntry.order_id == Order.id, LedgerEntry.kind == EntryKind.sale)
    orders = session.scalars(select(Order).where(
        Order.payment_method == PaymentMethod.card,
        Order.status.in_((OrderStatus.placed, OrderStatus.confirmed)),
        Order.placed_at < cutoff, ~paid).order_by(Order.id))
    orders = list(orders)
    lost = _lost_intents(session, client, orders)
    result = Released()
    for order in orders:
        outcome = _settle_attempts(session, client, order, lost)
        if order_problems(session, order.id):
            result.problems.append(order.reference)
        elif outcome is None:
            result.unreachable.append(order.reference)
        elif outcome:
            result.paid_meanwhile.append(order.reference)
        else:
            change_order_status(session, SYSTEM, order, "cancel")
            result.cancelled.append(order.reference)
    return result
