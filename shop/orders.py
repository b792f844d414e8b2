"""Orders: placing a cart (one order per booth), the order state machine, and the producer's
order list. Plain functions over a Session; the caller commits (or rolls back on an error).

Stock is taken with a conditional UPDATE whose row count is checked, never read and
written back through the ORM: parallel buyers in other worker processes would both see the
last unit and both buy it (docs: security.md, trap 1).
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.util import identity_key

from ocopkit.access import can_manage_producer, producer_scope
from ocopkit.db import utcnow
from ocopkit.errors import Conflict, Invalid, N_, NotFound
from ocopkit.text import nfc
from onboarding.consents import consented
from onboarding.models import Producer
from onboarding.privacy import ERASED
from onboarding.producers import normalise_phone, record_change
from shop.catalogue import public_product
from shop.models import (
    Booth, BoothStatus, Order, OrderLine, OrderStatus, PaymentMethod, Product, ProductStatus,
)

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
REFERENCE_LENGTH = 10  # 31**10 ≈ 8·10**14: the reference is the buyer's only key
MAX_LINES = 30
MAX_QUANTITY = 99


class SoldOut(Invalid):
    """A product of the cart has fewer units left than asked for; nothing was taken."""

    def __init__(self, product_id: int, name: str):
        super().__init__("cart", N_("Sold out: %(name)s has not enough left. Nothing was "
                                    "ordered; change the quantity or remove it."), name=name)
        self.product_id = product_id


# --- placing an order -------------------------------------------------------------------

def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalise_reference(raw: str) -> str:
    return (raw or "").strip().upper()


def _merged_lines(lines) -> dict[int, int]:
    merged: dict[int, int] = {}
    for product_id, quantity in lines:
        try:
            product_id, quantity = int(product_id), int(quantity)
        except (TypeError, ValueError):
            raise Invalid("cart", N_("The cart holds something that is not a product.")) from None
        if quantity < 1:
            continue
        merged[product_id] = merged.get(product_id, 0) + quantity
    if not merged:
        raise Invalid("cart", N_("The cart is empty."))
    if len(merged) > MAX_LINES:
        raise Invalid("cart", N_("A cart holds at most %(n)s products."), n=MAX_LINES)
    for quantity in merged.values():
        if quantity > MAX_QUANTITY:
            raise Invalid("cart", N_("At most %(n)s of one product per order."), n=MAX_QUANTITY)
    return merged


def _buyer_fields(buyer_name, buyer_phone, delivery_address, note, payment_method):
    name = nfc(buyer_name or "").strip()
    if not name:
        raise Invalid("buyer_name", N_("Your name is required."))
    if len(name) > 120:
        raise Invalid("buyer_name", N_("At most %(n)s characters."), n=120)
    phone = normalise_phone(buyer_phone)
    if phone is None:
        raise Invalid("buyer_phone", N_("A phone number is required, so the producer can "
                                        "call you about the delivery."))
    address = nfc(delivery_address or "").strip()
    if not address:
        raise Invalid("delivery_address", N_("A delivery address is required."))
    if len(address) > 500:
        raise Invalid("delivery_address", N_("At most %(n)s characters."), n=500)
    note = nfc(note or "").strip()
    if len(note) > 1000:
        raise Invalid("note", N_("At most %(n)s characters."), n=1000)
    try:
        method = PaymentMethod(payment_method)
    except ValueError:
        raise Invalid("payment_method", N_("Choose how you will pay.")) from None
    return name, phone, address, note, method


def _take_stock(session: Session, product: Product, quantity: int) -> None:
    """Take `quantity` units in one conditional UPDATE; SoldOut if they are not all there."""
    result = session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock >= quantity,
               Product.status == ProductStatus.published)
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise SoldOut(product.id, product.name)
    session.expire(product, ["stock"])


def _unused_reference(session: Session, taken: set[str]) -> str:
    for _attempt in range(10):
        reference = new_reference()
        if reference not in taken and not session.scalar(
                select(Order.id).where(Order.reference == reference)):
            taken.add(reference)
            return reference
    raise RuntimeError("no free order reference after 10 draws")  # pragma: no cover


def _require_amounts(products: dict[int, Product], wanted: dict[int, int]) -> None:
    """Every booth's order must cost something: a 0 ₫ order is a mistake (a product left
    at price 0), never a sale."""
    totals: dict[int, int] = {}
    for product_id, quantity in wanted.items():
        product = products[product_id]
        totals[product.booth_id] = totals.get(product.booth_id, 0) + product.price_vnd * quantity
    if any(total <= 0 for total in totals.values()):
        raise Invalid("cart", N_("An order of 0 ₫ cannot be placed: a product in your cart has "
                                 "no price yet. Nothing was ordered."))


def _refuse_missing(session: Session, product_ids: list[int]) -> None:
    """Invalid, saying why when the producer has withdrawn its consent to publish."""
    private = session.scalar(
        select(Product.name).join(Booth, Product.booth_id == Booth.id)
        .where(Product.id.in_(product_ids), Booth.status == BoothStatus.published,
               ~consented(Booth.producer_id)).order_by(Product.id).limit(1))
    if private is not None:
        raise Invalid("cart", N_("%(name)s is no longer for sale: its producer keeps its "
                                 "booth private now. Remove it from your cart and check out "
                                 "again."), name=private)
    raise Invalid("cart", N_("A product in your cart is no longer for sale. Remove it "
                             "and check out again."))


def place_order(session: Session, *, lines, buyer_name: str, buyer_phone: str,
                delivery_address: str, note: str = "",
                payment_method: PaymentMethod | str) -> list[Order]:
    """Turn a cart [(product_id, quantity), ...] into one order per booth.

    Only published products of published booths are sold; names and prices are copied into
    the lines. Raises Invalid for bad buyer fields or products no longer for sale, SoldOut
    when stock is short; in both cases the caller must roll back (some stock may already
    have been taken by this transaction)."""
    name, phone, address, note, method = _buyer_fields(
        buyer_name, buyer_phone, delivery_address, note, payment_method)
    wanted = _merged_lines(lines)
    products = {p.id: p for p in session.scalars(
        select(Product).join(Booth, Product.booth_id == Booth.id)
        .options(joinedload(Product.booth))
        .where(Product.id.in_(wanted), public_product()))}
    missing = [pid for pid in wanted if pid not in products]
    if missing:
        _refuse_missing(session, missing)
    _require_amounts(products, wanted)
    # Sorted by id, so two carts never wait on each other's rows in opposite orders.
    for product_id in sorted(wanted):
        _take_stock(session, products[product_id], wanted[product_id])

    by_booth: dict[int, list[Product]] = {}
    for product_id in sorted(wanted):
        product = products[product_id]
        by_booth.setdefault(product.booth_id, []).append(product)
    orders, taken = [], set()
    now = utcnow()
    for booth_id in sorted(by_booth):
        booth_products = by_booth[booth_id]
        order = Order(
            reference=_unused_reference(session, taken), booth_id=booth_id,
            producer_id=booth_products[0].booth.producer_id, buyer_name=name,
            buyer_phone=phone, delivery_address=address, note=note,
            status=OrderStatus.placed, payment_method=method, placed_at=now,
            lines=[OrderLine(product_id=p.id, name=p.name, unit=p.unit, price_vnd=p.price_vnd,
                             quantity=wanted[p.id]) for p in booth_products],
        )
        order.total_vnd = sum(line.price_vnd * line.quantity for line in order.lines)
        session.add(order)
        orders.append(order)
    session.flush()
    return orders


def order_by_reference(session: Session, reference: str) -> Order:
    """The order with this reference (the buyer's secret); NotFound otherwise."""
    reference = normalise_reference(reference)
    order = None
    if reference and len(reference) <= 16:
        order = session.scalar(select(Order).options(selectinload(Order.lines),
                                                     joinedload(Order.booth))
                               .where(Order.reference == reference))
    if order is None:
        raise NotFound(N_("No order with this reference."))
    return order


def is_buyer_phone(order: Order, phone: str) -> bool:
    """Is `phone`, as typed, the number the buyer gave? (constant-time comparison)"""
    try:
        typed = normalise_phone(phone)
    except Invalid:
        return False
    return typed is not None and hmac.compare_digest(typed, order.buyer_phone)


def can_see_buyer(session: Session, actor, order: Order) -> bool:
    """Staff of the order's producer see the buyer's name, phone and address."""
    producer = _producer_of(session, order)
    return producer is not None and can_manage_producer(actor, producer)


# --- the order's life ---------------------------------------------------------------------

ACTIONS = ("confirm", "ship", "deliver", "cancel")
_TRANSITIONS = {
    (OrderStatus.placed, "confirm"): OrderStatus.confirmed,
    (OrderStatus.confirmed, "ship"): OrderStatus.shipped,
    (OrderStatus.shipped, "deliver"): OrderStatus.delivered,
    (OrderStatus.placed, "cancel"): OrderStatus.cancelled,
    (OrderStatus.confirmed, "cancel"): OrderStatus.cancelled,
}


def next_order_status(current: OrderStatus | str, action: str) -> OrderStatus:
    """The status after `action`; Invalid if the action is not possible from `current`."""
    new = _TRANSITIONS.get((OrderStatus(current), action))
    if new is None:
        raise Invalid("status", N_("An order that is %(status)s cannot be given the action "
                                   "%(action)s."), status=OrderStatus(current).value,
                      action=action)
    return new


def allowed_actions(current: OrderStatus | str) -> list[str]:
    return [a for a in ACTIONS if (OrderStatus(current), a) in _TRANSITIONS]


def _producer_of(session: Session, order: Order) -> Producer:
    return session.get(Producer, order.producer_id)


def change_order_status(session: Session, actor, order: Order, action: str) -> Order:
    """Move the order on (confirm, ship, deliver, cancel). Only the booth's producer, an
    officer of its commune or an admin; others get NotFound. Cancelling returns the stock."""
    producer = _producer_of(session, order)
    if producer is None or not can_manage_producer(actor, producer):
        raise NotFound(N_("No such order."))
    current = order.status
    new = next_order_status(current, action)
    # Conditional on the status we saw, so two clicks (or two people) cannot both cancel
    # and return the stock twice.
    result = session.execute(
        update(Order).where(Order.id == order.id, Order.status == current)
        .values(status=new, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.expire(order)
        raise Conflict("status", N_("Someone else changed this order meanwhile. Look at it "
                                    "again."))
    if new == OrderStatus.cancelled:
        for line in order.lines:
            session.execute(
                update(Product).where(Product.id == line.product_id)
                .values(stock=Product.stock + line.quantity)
                .execution_options(synchronize_session=False))
            product = session.identity_map.get(identity_key(Product, line.product_id))
            if product is not None:
                session.expire(product, ["stock"])
    session.expire(order, ["status", "updated_at"])
    record_change(session, actor, producer, f"order_{action}",
                  f"{order.reference}: {current.value} → {new.value}")
    session.flush()
    return order


# --- the producer's view --------------------------------------------------------------------

@dataclass(frozen=True)
class OrderPage:
    items: list[Order]
    page: int
    pages: int
    total: int


def list_orders(session: Session, actor, *, status: OrderStatus | str | None = None,
                page: int = 1, per_page: int = 25) -> OrderPage:
    """Orders of the producers the actor may manage, newest first."""
    stmt = (select(Order).join(Producer, Order.producer_id == Producer.id)
            .where(producer_scope(actor, Producer)))
    if status:
        stmt = stmt.where(Order.status == OrderStatus(status))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(session.scalars(
        stmt.options(joinedload(Order.booth))
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).unique())
    return OrderPage(items, page, pages, total)


def get_order(session: Session, actor, order_id: int) -> Order:
    """The order, if the actor may manage its producer; otherwise NotFound."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(N_("No such order."))
    producer = _producer_of(session, order)
    if producer is None or not can_manage_producer(actor, producer):
        raise NotFound(N_("No such order."))
    return order


# --- buyers' personal data ------------------------------------------------------------------

BUYER_DATA_DAYS = 180


def purge_buyer_data(session: Session, *, days: int = BUYER_DATA_DAYS, now=None) -> int:
    """Remove buyers' names, phones, addresses and notes from orders delivered or cancelled
    more than `days` days ago (the producer needs them only to deliver). Amounts, lines and
    statuses stay, so the books and reports do not change. Returns the orders purged."""
    if days < 1:
        raise Invalid("days", N_("Keep buyers' details for at least one day."))
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = session.execute(
        update(Order)
        .where(Order.status.in_((OrderStatus.delivered, OrderStatus.cancelled)),
               Order.updated_at < cutoff, Order.buyer_name != ERASED)
        .values(buyer_name=ERASED, buyer_phone="", delivery_address="", note="",
                updated_at=Order.updated_at)
        .execution_options(synchronize_session=False))
    return result.rowcount
