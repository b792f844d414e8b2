"""Card payments of orders: a pure status machine, starting a payment, applying what the
gateway says (re-read as the truth), reconciliation, and the ledger entries they produce."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.db import utcnow
from ocopkit.errors import Conflict, Invalid, N_
from payments import problems
from payments.gateway import GatewayClient, GatewayError, PaymentIntent
from payments.models import (
    AttemptStatus, Channel, EntryKind, EntryStatus, LedgerEntry, PaymentAttempt, WebhookEvent,
)
from shop.models import Order, OrderStatus, PaymentMethod

FINAL = {AttemptStatus.succeeded, AttemptStatus.canceled}
IN_FLIGHT = timedelta(seconds=60)  # longer than any buyer's gateway budget
_ALLOWED = {
    AttemptStatus.created: {AttemptStatus.processing, AttemptStatus.succeeded,
                            AttemptStatus.failed, AttemptStatus.canceled},
    AttemptStatus.processing: {AttemptStatus.succeeded, AttemptStatus.failed,
                               AttemptStatus.canceled},
    AttemptStatus.failed: {AttemptStatus.processing, AttemptStatus.succeeded,
                           AttemptStatus.canceled},
    AttemptStatus.succeeded: set(),
    AttemptStatus.canceled: set(),
}
_FROM_INTENT = {
    "requires_payment_method": AttemptStatus.failed,
    "requires_confirmation": AttemptStatus.created,
    "requires_action": AttemptStatus.processing,
    "requires_capture": AttemptStatus.processing,
    "processing": AttemptStatus.processing,
    "succeeded": AttemptStatus.succeeded,
    "canceled": AttemptStatus.canceled,
}


class PaymentUnavailable(Invalid):
    """The gateway could not be reached: nothing was paid, the buyer may try again."""


def next_status(current: AttemptStatus | str, new: AttemptStatus | str) -> AttemptStatus:
    """Where an attempt goes when the gateway reports `new`. Final states never change, so
    late or out-of-order events (a failure after success) cannot undo a payment."""
    current, new = AttemptStatus(current), AttemptStatus(new)
    return new if new in _ALLOWED[current] else current


def status_of_intent(intent: PaymentIntent) -> AttemptStatus:
    if intent.status == "requires_payment_method" and not intent.error_code:
        return AttemptStatus.created
    return _FROM_INTENT.get(intent.status, AttemptStatus.processing)


def order_paid_vnd(session: Session, order_id: int) -> int:
    """What was paid for the order on ocopkit, minus refunds."""
    rows = session.execute(select(LedgerEntry.kind, LedgerEntry.amount_vnd).where(
        LedgerEntry.order_id == order_id, LedgerEntry.status != EntryStatus.cancelled))
    return sum(amount if kind == EntryKind.sale else -amount if kind == EntryKind.refund else 0
               for kind, amount in rows)


def card_sale(session: Session, order_id: int) -> LedgerEntry | None:
    """The order's card sale in the ledger, if it was paid by card."""
    return session.scalar(select(LedgerEntry).where(
        LedgerEntry.order_id == order_id, LedgerEntry.kind == EntryKind.sale,
        LedgerEntry.channel == Channel.card).limit(1))


def is_paid(session: Session, order_id: int) -> bool:
    return card_sale(session, order_id) is not None


def new_attempt(session: Session, order: Order) -> PaymentAttempt:
    """Check the order can be paid by card and store an attempt with its idempotency key,
    so the caller can commit it before the gateway is called: a create that times out
    is retried with the same key, and the attempt is never lost."""
    if order.payment_method != PaymentMethod.card:
        raise Invalid(None, N_("This order is not paid by card."))
    if order.status == OrderStatus.cancelled:
        raise Invalid(None, N_("This order was cancelled."))
    if is_paid(session, order.id):
        raise Invalid(None, N_("This order is already paid."))
    # A second click (or a second tab) must not charge the card twice: one attempt on its
    # way per order. The order row is locked on PostgreSQL; on SQLite the insert waits for
    # the other's commit, so the check after it sees that attempt.
    session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    attempt = PaymentAttempt(order_id=order.id, amount_vnd=order.total_vnd,
                             idempotency_key=f"order-{order.id}-{secrets.token_hex(8)}")
    session.add(attempt)
    session.flush()
    if session.scalar(select(PaymentAttempt.id).where(
            PaymentAttempt.order_id == order.id, PaymentAttempt.id != attempt.id,
            PaymentAttempt.status == AttemptStatus.created,
            PaymentAttempt.created_at >= utcnow() - IN_FLIGHT).limit(1)):
        raise Conflict(None, N_("A payment for this order is already on its way. Wait a "
                                "minute, then look at the order again."))
    return attempt


def charge_attempt(session: Session, client: GatewayClient, attempt: PaymentAttempt, *,
                   payment_method: str | None = None, token: str | None = None,
                   buyer_name: str = "") -> PaymentAttempt:
    """Create (and with a card, confirm) the PaymentIntent of a stored attempt.

    `token` is a Stripe.js card token from the buyer's browser; `payment_method` a saved or
    test payment method. A declined card leaves the attempt failed (the order stays
    payable); an unreachable gateway raises PaymentUnavailable and nothing is paid."""
    order = session.get(Order, attempt.order_id)
    metadata = {"order": order.reference, "attempt": str(attempt.id)}
    try:
        customer = None
        if token:
            customer, payment_method = client.create_card_customer(
                token=token, name=buyer_name or order.buyer_name, metadata=metadata,
                idempotency_key=attempt.idempotency_key + "-customer")
        intent = client.create_payment_intent(
            amount_vnd=attempt.amount_vnd, idempotency_key=attempt.idempotency_key,
            metadata=metadata, payment_method=payment_method, customer=customer,
            confirm=payment_method is not None)
    except GatewayError as e:
        if e.code == "card_declined":
            attempt.status, attempt.error_code = AttemptStatus.failed, e.code
            session.flush()
            return attempt
        raise PaymentUnavailable(None, N_("Card payment is not available right now. Nothing "
                                          "was charged; try again in a few minutes.")) from e
    attempt.intent_id = intent.id
    apply_intent(session, attempt, intent)
    return attempt


DECLINED = N_("The card was declined. Try another card or another way to pay; the order is "
              "kept.")


def start_card_payment(session: Session, client: GatewayClient, order: Order, *,
                       payment_method: str | None = None) -> PaymentAttempt:
    """new_attempt and charge_attempt in one transaction; Invalid when the card is declined."""
    attempt = charge_attempt(session, client, new_attempt(session, order),
                             payment_method=payment_method)
    if attempt.status == AttemptStatus.failed:
        raise Invalid("card", DECLINED)
    return attempt


def apply_intent(session: Session, attempt: PaymentAttempt, intent: PaymentIntent) -> bool:
    """Move the attempt to what the gateway says; record the sale once, and only when the
    gateway's amount and currency are the attempt's (otherwise a PaymentProblem, the order
    unpaid). Returns True when this call recorded the payment."""
    attempt.status = next_status(attempt.status, status_of_intent(intent))
    attempt.error_code = intent.error_code or attempt.error_code
    session.flush()
    if attempt.status != AttemptStatus.succeeded:
        return False
    if not problems.matches(attempt, intent):
        problems.record_problem(session, attempt, intent)
        return False
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.platform == "ocopkit",
                                                   LedgerEntry.reference == intent.id)):
        return False
    order = session.get(Order, attempt.order_id)
    session.add(LedgerEntry(producer_id=order.producer_id, order_id=order.id,
                            kind=EntryKind.sale, channel=Channel.card, platform="ocopkit",
                            status=EntryStatus.completed, amount_vnd=intent.amount,
                            occurred_at=utcnow(), reference=intent.id))
    session.flush()
    return True


def handle_event(session: Session, client: GatewayClient, event: dict) -> bool | None:
    """Apply one verified event (shaped by signatures.parse_event). The gateway is read
    first, while nothing is written; then the event id and its effect are written together,
    so a duplicate delivery raises IntegrityError at the insert and the caller rolls back
    and answers 200. True: a payment was recorded; False: applied, nothing to record;
    None: not ours (the gateway says so), nothing written."""
    if event["type"].startswith("payment_intent."):
        return _apply_intent_event(session, client, event)
    from payments import refunds  # it imports this module
    if event["type"] in refunds.REFUND_EVENTS:
        recorded = refunds.handle_refund_event(session, client, event)
        if recorded is not None:
            session.add(WebhookEvent(event_id=event["id"], type=event["type"]))
            session.flush()
        return recorded
    return None


def _apply_intent_event(session: Session, client: GatewayClient, event: dict) -> bool | None:
    try:
        intent = client.retrieve_payment_intent(event["data"]["object"]["id"])
    except GatewayError as e:
        if e.status == 404:
            return None  # the gateway holds no such PaymentIntent: not ours, never will be
        raise
    attempt = attempt_of_intent(session, intent)
    if attempt is None:
        return None
    session.add(WebhookEvent(event_id=event["id"], type=event["type"]))
    session.flush()
    attempt.intent_id = intent.id
    return apply_intent(session, attempt, intent)


def attempt_of_intent(session: Session, intent: PaymentIntent) -> PaymentAttempt | None:
    """Our attempt behind a PaymentIntent re-read from the gateway: the one that stored its
    id, or (the create answer was lost) the unlinked attempt its metadata names, if that
    attempt's order is the one the metadata names too."""
    attempt = session.scalar(select(PaymentAttempt).where(PaymentAttempt.intent_id == intent.id))
    if attempt is not None:
        return attempt
    attempt_id = str(intent.metadata.get("attempt", ""))
    if not (attempt_id.isdigit() and len(attempt_id) < 16):
        return None
    attempt = session.get(PaymentAttempt, int(attempt_id))
    if attempt is None or attempt.intent_id is not None:
        return None
    order = session.get(Order, attempt.order_id)
    return attempt if intent.metadata.get("order") == order.reference else None


LOOKUP_PAGES = 20  # 2,000 PaymentIntents at most per run; more and the lookup says "cannot tell"
_RANK = {"succeeded": 0, "processing": 1, "requires_capture": 1, "requires_action": 2}


def lost_answer(attempt: PaymentAttempt, now: datetime) -> bool:
    """An attempt with no intent id whose create call can no longer be on its way."""
    return attempt.intent_id is None and attempt.created_at < now - IN_FLIGHT


def find_lost_intents(session: Session, client: GatewayClient,
                      attempts: list[PaymentAttempt]) -> dict[int, PaymentIntent]:
    """The PaymentIntent the gateway holds for each attempt whose create answer was lost,
    found by the attempt and order its metadata names (idempotency keys cannot be looked
    up, and replaying the create to learn its answer would charge twice on a gateway that
    ignores them, as localstripe does). An attempt missing from the result has none at the
    gateway. Raises GatewayError when the gateway cannot be read to the end."""
    wanted = {a.id: a for a in attempts}
    references = dict(session.execute(select(Order.id, Order.reference).where(
        Order.id.in_({a.order_id for a in attempts}))).all())
    found: dict[int, PaymentIntent] = {}
    for intent in client.list_payment_intents(max_pages=LOOKUP_PAGES):
        attempt_id = str(intent.metadata.get("attempt", ""))
        attempt = wanted.get(int(attempt_id)) if attempt_id.isdigit() else None
        if attempt is None or intent.metadata.get("order") != references[attempt.order_id]:
            continue
        best = found.get(attempt.id)
        if best is None or _RANK.get(intent.status, 3) < _RANK.get(best.status, 3):
            found[attempt.id] = intent  # several only on a gateway without idempotency
    return found


def reconcile(session: Session, client: GatewayClient, *, since: timedelta) -> int:
    """Re-read every unfinished recent attempt from the gateway (lost webhooks), and find
    the PaymentIntents of attempts whose create answer was lost; returns how many payments
    this recorded. Raises GatewayError if the gateway cannot be read."""
    now = utcnow()
    attempts = list(session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.created_at >= now - since, PaymentAttempt.status.not_in(FINAL))))
    lost = [a for a in attempts if lost_answer(a, now)]
    found = find_lost_intents(session, client, lost) if lost else {}
    recorded = 0
    for attempt in attempts:
        if attempt.intent_id is None:
            intent = found.get(attempt.id)
            if intent is None:
                continue  # none at the gateway (yet): release_abandoned decides, later
            attempt.intent_id = intent.id
        else:
            intent = client.retrieve_payment_intent(attempt.intent_id)
        recorded += apply_intent(session, attempt, intent)
    return recorded

