"""Refunds of card payments, kept equal to what the gateway refunded.

A refund made here goes in three steps, each its own short transaction (the caller commits
between them, as with card attempts): `reserve_refund` holds the amount under the order's
lock, so refunds running at once never exceed what was paid; `complete_refund` calls the
gateway with the reservation's key and id (in metadata), then settles it (a ledger row) or
releases it (the gateway said no). A reservation whose answer was lost stays reserved,
counted against the cap, until `sync_refunds` finds it by its metadata or sees that it
never happened. `sync_refunds` also records refunds made at the gateway itself; webhook
events and reconciliation only say which order to re-read, the gateway's list is the truth.

The order's lock: `SELECT ... FOR UPDATE` on PostgreSQL, SQLite's write lock
(`ocopkit.db.begin_write`). It is never held across a call that creates anything at the
gateway; only `complete_refund` creates, before it locks."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ocopkit.access import SYSTEM, can_manage_producer
from ocopkit.db import begin_write, utcnow
from ocopkit.errors import Invalid, N_, NotFound
from onboarding.models import Producer
from onboarding.producers import record_change
from payments.gateway import GatewayClient, GatewayError, Refund
from payments.models import (
    Channel, EntryKind, EntryStatus, LedgerEntry, RefundReservation, ReservationStatus,
)
from payments.transactions import IN_FLIGHT, card_sale, order_paid_vnd
from shop.models import Order

REFUND_UNREACHABLE = N_("The refund could not reach the payment gateway; nothing was "
                        "refunded. Try again.")
REFUND_EVENTS = frozenset({"charge.refunded", "charge.refund.updated", "refund.created",
                           "refund.updated"})
NOT_REFUNDED = frozenset({"failed", "canceled"})  # other statuses: money is (being) returned
_RESERVED = ReservationStatus.reserved


def _lock_order(session: Session, order_id: int) -> None:
    begin_write(session)
    session.execute(select(Order.id).where(Order.id == order_id).with_for_update())


def reserved_vnd(session: Session, order_id: int) -> int:
    """Refunds of the order held but not settled (their gateway answer may be lost)."""
    return int(session.scalar(select(func.sum(RefundReservation.amount_vnd)).where(
        RefundReservation.order_id == order_id,
        RefundReservation.status == _RESERVED)) or 0)


def reserved_for_producer(session: Session, producer_id: int) -> int:
    return int(session.scalar(
        select(func.sum(RefundReservation.amount_vnd))
        .join(Order, Order.id == RefundReservation.order_id)
        .where(Order.producer_id == producer_id, RefundReservation.status == _RESERVED)) or 0)


def refundable_vnd(session: Session, order_id: int) -> int:
    return order_paid_vnd(session, order_id) - reserved_vnd(session, order_id)


def reserve_refund(session: Session, actor, order: Order, *,
                   amount_vnd: int) -> RefundReservation:
    """Hold `amount_vnd` of the order's card payment for a refund; Invalid above what was
    paid less what is refunded or held. The caller commits before complete_refund."""
    producer = session.get(Producer, order.producer_id)
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such order."))
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or amount_vnd <= 0:
        raise Invalid("amount_vnd", N_("The amount must be a whole number of đồng above zero."))
    sale = card_sale(session, order.id)
    if sale is None:
        raise Invalid(None, N_("Only card payments are refunded here."))
    _lock_order(session, order.id)
    balance = refundable_vnd(session, order.id)
    if amount_vnd > balance:
        raise Invalid("amount_vnd", N_("At most %(balance)s đồng can be refunded."),
                      balance=max(balance, 0))
    reservation = RefundReservation(
        order_id=order.id, payment_intent=sale.reference, amount_vnd=amount_vnd,
        idempotency_key=f"refund-{order.id}-{secrets.token_hex(8)}",
        requested_by_id=getattr(actor, "id", None))
    session.add(reservation)
    session.flush()
    return reservation


def _refused(error: GatewayError) -> bool:
    """The gateway answered that it did not refund (409: the same key is still at work)."""
    return error.status is not None and 400 <= error.status < 500 and error.status != 409


def complete_refund(session: Session, client: GatewayClient, actor, order: Order,
                    reservation: RefundReservation) -> RefundReservation:
    """Ask the gateway to refund a committed reservation, then settle or release it.

    Call it in a transaction that has not written yet: the gateway call comes first, the
    order's lock after. Returns the reservation: completed, released (the gateway said
    no), or still reserved (no answer: sync_refunds will find out)."""
    try:
        refund = client.create_refund(
            payment_intent=reservation.payment_intent, amount_vnd=reservation.amount_vnd,
            idempotency_key=reservation.idempotency_key,
            metadata={"order": order.reference, "reservation": str(reservation.id)})
    except GatewayError as error:
        if _refused(error):
            _lock_order(session, order.id)
            session.refresh(reservation)
            if reservation.status == _RESERVED:
                _release(reservation)
            session.flush()
        return reservation
    _lock_order(session, order.id)
    session.refresh(reservation)
    _record(session, actor, order, refund, reservation)
    return reservation


def _release(reservation: RefundReservation) -> None:
    reservation.status, reservation.settled_at = ReservationStatus.released, utcnow()


def _reservation_of(session: Session, order: Order, refund: Refund) -> RefundReservation | None:
    """The reservation a gateway refund settles: by its id, else by the metadata it
    carries, only if that reservation is this order's and for this PaymentIntent."""
    found = session.scalar(select(RefundReservation).where(
        RefundReservation.refund_id == refund.id).execution_options(populate_existing=True))
    wanted = str(refund.metadata.get("reservation", ""))
    if found is None and wanted.isdigit():
        found = session.scalar(select(RefundReservation).where(
            RefundReservation.id == int(wanted), RefundReservation.order_id == order.id,
            RefundReservation.payment_intent == refund.payment_intent,
            RefundReservation.refund_id.is_(None)).execution_options(populate_existing=True))
    return found


def _occurred_at(refund: Refund) -> datetime:
    if refund.created:
        return datetime.fromtimestamp(refund.created, timezone.utc)
    return utcnow()


def _record(session: Session, actor, order: Order, refund: Refund,
            reservation: RefundReservation | None = None) -> LedgerEntry | None:
    """Bring one gateway refund into the ledger, once (under the order's lock), settling
    its reservation. Returns the ledger row if this call wrote it."""
    entry = session.scalar(select(LedgerEntry).where(
        LedgerEntry.platform == "ocopkit", LedgerEntry.reference == refund.id)
        .execution_options(populate_existing=True))
    reservation = _reservation_of(session, order, refund) or reservation
    new = None
    if refund.status in NOT_REFUNDED:
        if entry is not None and entry.status == EntryStatus.completed:
            entry.status = EntryStatus.cancelled  # the refund failed after all
        if reservation is not None and reservation.status == _RESERVED:
            _release(reservation)
    elif entry is None and refund.amount > 0:
        entry = new = LedgerEntry(
            producer_id=order.producer_id, order_id=order.id, kind=EntryKind.refund,
            channel=Channel.card, platform="ocopkit", status=EntryStatus.completed,
            amount_vnd=refund.amount, occurred_at=_occurred_at(refund), reference=refund.id,
            recorded_by_id=getattr(actor, "id", None))
        session.add(entry)
        session.flush()
        record_change(session, actor, session.get(Producer, order.producer_id),
                      "order_refunded", f"{order.reference}: {refund.amount}")
    if (entry is not None and reservation is not None and refund.status not in NOT_REFUNDED
            and reservation.status != ReservationStatus.completed):
        reservation.status, reservation.settled_at = ReservationStatus.completed, utcnow()
        reservation.refund_id, reservation.entry_id = refund.id, entry.id
    sale = card_sale(session, order.id)
    if sale is not None and sale.status != EntryStatus.cancelled:
        sale.status = (EntryStatus.refunded if order_paid_vnd(session, order.id) <= 0
                       else EntryStatus.completed)
    session.flush()
    return new


def sync_orders(session: Session, client: GatewayClient, orders: list[Order], *,
                actor=SYSTEM) -> list[LedgerEntry]:
    """Re-read the refunds of these orders' card payments from the gateway and record what
    the ledger lacks; release reservations the gateway shows never happened. All gateway
    reads come first, then each order is locked (by id, so two syncs cannot deadlock).
    Raises GatewayError when the gateway cannot be read (nothing is then written)."""
    listed_at = utcnow()
    read = []
    for order in sorted(orders, key=lambda o: o.id):
        sale = card_sale(session, order.id)
        if sale is not None:
            read.append((order, client.list_refunds(payment_intent=sale.reference)))
    recorded: list[LedgerEntry] = []
    for order, refunds in read:
        _lock_order(session, order.id)
        for refund in sorted(refunds, key=lambda r: (r.created or 0, r.id)):
            entry = _record(session, actor, order, refund)
            if entry is not None:
                recorded.append(entry)
        _release_vanished(session, order, refunds, listed_at)
    session.flush()
    return recorded


def _release_vanished(session: Session, order: Order, refunds: list[Refund],
                      listed_at: datetime) -> None:
    """A reservation older than any gateway call's budget when the list was read, that
    the list does not name, never happened at the gateway."""
    named = {str(r.metadata.get("reservation", "")) for r in refunds}
    for reservation in session.scalars(select(RefundReservation).where(
            RefundReservation.order_id == order.id, RefundReservation.status == _RESERVED,
            RefundReservation.created_at < listed_at - IN_FLIGHT)
            .execution_options(populate_existing=True)):
        if str(reservation.id) not in named:
            _release(reservation)


def sync_refunds(session: Session, client: GatewayClient, order: Order, *,
                 actor=SYSTEM) -> list[LedgerEntry]:
    """sync_orders for one order: run it before refunding, in a transaction of its own, so
    a refund made meanwhile at the gateway (or whose answer was lost) is counted."""
    return sync_orders(session, client, [order], actor=actor)


def handle_refund_event(session: Session, client: GatewayClient, event: dict) -> bool | None:
    """A verified refund event (REFUND_EVENTS): its body only says which PaymentIntent to
    look at; its refunds are re-read from the gateway. Returns True when a ledger row was
    written, False when there was nothing new, None when the payment is not ours (the
    caller then records nothing, not even the event)."""
    obj = (event.get("data") or {}).get("object") or {}
    intent_id = str(obj.get("payment_intent") or "")
    if not intent_id and str(obj.get("id", "")).startswith("re_"):
        intent_id = client.retrieve_refund(str(obj["id"])).payment_intent
    if not intent_id:
        return None
    order = session.scalar(select(Order).join(LedgerEntry, LedgerEntry.order_id == Order.id)
                           .where(LedgerEntry.platform == "ocopkit",
                                  LedgerEntry.kind == EntryKind.sale,
                                  LedgerEntry.channel == Channel.card,
                                  LedgerEntry.reference == intent_id))
    return None if order is None else bool(sync_refunds(session, client, order))


def orders_to_recheck(session: Session, *, since: timedelta,
                      producer_id: int | None = None) -> list[Order]:
    """Orders whose card refunds are worth re-reading: card sales since `since` ago (or,
    for one producer, every card sale with money left), and any with a reservation still
    held."""
    sales = select(LedgerEntry.order_id).where(
        LedgerEntry.platform == "ocopkit", LedgerEntry.kind == EntryKind.sale,
        LedgerEntry.channel == Channel.card, LedgerEntry.order_id.is_not(None))
    held = select(RefundReservation.order_id).where(RefundReservation.status == _RESERVED)
    if producer_id is None:
        sales = sales.where(LedgerEntry.occurred_at >= utcnow() - since)
    else:
        sales = sales.where(LedgerEntry.producer_id == producer_id,
                            LedgerEntry.status == EntryStatus.completed)
        held = held.join(Order, Order.id == RefundReservation.order_id).where(
            Order.producer_id == producer_id)
    return list(session.scalars(select(Order).where(Order.id.in_(sales.union(held)))
                                .order_by(Order.id)))


def sync_producer_refunds(session: Session, client: GatewayClient,
                          producer: Producer) -> list[LedgerEntry]:
    """Before a payout: every card sale of the producer with money left is re-read, so no
    refund made at the gateway is paid out again. Raises GatewayError if it cannot be."""
    return sync_orders(session, client,
                       orders_to_recheck(session, since=timedelta(0), producer_id=producer.id))
