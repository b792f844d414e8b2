"""Orders without HTTP: placing a cart, the state table, cancelling, and who may see what."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ocopkit.errors import Conflict, Invalid, NotFound
from ocopkit.money import format_vnd
from ocopkit.users import Role
from onboarding.models import ChangeRecord
from shop.models import (
    BoothStatus, Order, OrderLine, OrderStatus, PaymentMethod, Product, ProductStatus,
)
from shop.orders import (
    REFERENCE_ALPHABET, REFERENCE_LENGTH, SoldOut, allowed_actions, change_order_status,
    get_order, list_orders, next_order_status, order_by_reference, place_order,
)
from tests.factories import make_booth, make_commune, make_product, make_producer, make_user

BUYER = {"buyer_name": "Nguyễn Văn An", "buyer_phone": "0912 345 678",
         "delivery_address": "12 Lê Lợi, Huế", "note": "", "payment_method": "cash"}


def _booth(session, commune=None):
    producer = make_producer(session, commune=commune or make_commune(session))
    return make_booth(session, producer=producer, status=BoothStatus.published)


def _stock(session, product):
    return session.scalar(select(Product.stock).where(Product.id == product.id))


def _order_count(session):
    return session.scalar(select(func.count()).select_from(Order))


@pytest.mark.parametrize("amount, text", [
    (0, "0 ₫"), (500, "500 ₫"), (120000, "120.000 ₫"), (1234567, "1.234.567 ₫"),
    (-5000, "-5.000 ₫"),
])
def test_format_vnd(amount, text):
    assert format_vnd(amount) == text


def test_cart_over_two_booths_makes_one_order_per_booth(session):
    tea_booth, honey_booth = _booth(session), _booth(session)
    tea = make_product(session, booth=tea_booth, name="Chè", price_vnd=120000, stock=5)
    green = make_product(session, booth=tea_booth, name="Chè xanh", price_vnd=80000, stock=5)
    honey = make_product(session, booth=honey_booth, name="Mật ong", price_vnd=250000, stock=3)

    orders = place_order(session, lines=[(tea.id, 2), (honey.id, 1), (green.id, 1),
                                         (tea.id, 1)], **BUYER)
    session.commit()

    assert len(orders) == 2
    by_booth = {o.booth_id: o for o in orders}
    assert by_booth[tea_booth.id].total_vnd == 3 * 120000 + 80000
    assert by_booth[honey_booth.id].total_vnd == 250000
    assert by_booth[tea_booth.id].producer_id == tea_booth.producer_id
    assert sorted((l.name, l.price_vnd, l.quantity) for l in by_booth[tea_booth.id].lines) == [
        ("Chè", 120000, 3), ("Chè xanh", 80000, 1)]
    for order in orders:
        assert order.status == OrderStatus.placed
        assert order.payment_method == PaymentMethod.cash
        assert order.buyer_phone == "0912345678"
        assert len(order.reference) == REFERENCE_LENGTH
        assert set(order.reference) <= set(REFERENCE_ALPHABET)
    assert orders[0].reference != orders[1].reference
    assert (_stock(session, tea), _stock(session, green), _stock(session, honey)) == (2, 4, 2)


def test_line_keeps_the_price_it_was_sold_at(session):
    product = make_product(session, booth=_booth(session), price_vnd=100000)
    [order] = place_order(session, lines=[(product.id, 1)], **BUYER)
    session.commit()
    product.price_vnd = 150000
    session.commit()
    assert order_by_reference(session, order.reference.lower()).lines[0].price_vnd == 100000


@pytest.mark.parametrize("product_status, booth_status", [
    (ProductStatus.draft, BoothStatus.published),
    (ProductStatus.hidden, BoothStatus.published),
    (ProductStatus.published, BoothStatus.draft),
    (ProductStatus.published, BoothStatus.suspended),
])
def test_unpublished_product_or_booth_is_refused(session, product_status, booth_status):
    booth = make_booth(session, producer=make_producer(session), status=booth_status)
    product = make_product(session, booth=booth, status=product_status, stock=5)
    session.commit()
    with pytest.raises(Invalid) as info:
        place_order(session, lines=[(product.id, 1)], **BUYER)
    assert info.value.field == "cart"
    session.rollback()
    assert _order_count(session) == 0 and _stock(session, product) == 5


@pytest.mark.parametrize("field, value", [
    ("buyer_name", "  "), ("buyer_phone", ""), ("buyer_phone", "12345"),
    ("delivery_address", ""), ("payment_method", "bitcoin"),
])
def test_bad_buyer_fields_are_refused(session, field, value):
    product = make_product(session, booth=_booth(session), stock=5)
    session.commit()
    with pytest.raises(Invalid) as info:
        place_order(session, lines=[(product.id, 1)], **{**BUYER, field: value})
    assert info.value.field == ("phone" if field == "buyer_phone" and value else field)
    session.rollback()
    assert _order_count(session) == 0 and _stock(session, product) == 5


@pytest.mark.parametrize("lines", [[], [(1, 0)], [(1, 100)], [("x", 1)]])
def test_bad_carts_are_refused(session, lines):
    with pytest.raises(Invalid) as info:
        place_order(session, lines=lines, **BUYER)
    assert info.value.field == "cart"


def test_sold_out_line_takes_nothing_of_the_cart(session):
    booth = _booth(session)
    plenty = make_product(session, booth=booth, name="Gạo", stock=10)
    scarce = make_product(session, booth=booth, name="Mật ong rừng", stock=1)
    session.commit()
    with pytest.raises(SoldOut) as info:
        place_order(session, lines=[(plenty.id, 2), (scarce.id, 2)], **BUYER)
    assert str(info.value) == ("Sold out: Mật ong rừng has not enough left. Nothing was ordered; "
                               "change the quantity or remove it.")
    assert info.value.product_id == scarce.id
    session.rollback()
    assert _order_count(session) == 0
    assert (_stock(session, plenty), _stock(session, scarce)) == (10, 1)


@pytest.mark.parametrize("current, action, expected", [
    ("placed", "confirm", "confirmed"),
    ("placed", "cancel", "cancelled"),
    ("placed", "ship", None),
    ("placed", "deliver", None),
    ("confirmed", "ship", "shipped"),
    ("confirmed", "cancel", "cancelled"),
    ("confirmed", "confirm", None),
    ("confirmed", "deliver", None),
    ("shipped", "deliver", "delivered"),
    ("shipped", "cancel", None),
    ("shipped", "confirm", None),
    ("delivered", "cancel", None),
    ("delivered", "deliver", None),
    ("cancelled", "confirm", None),
    ("cancelled", "cancel", None),
    ("placed", "explode", None),
])
def test_order_state_table(current, action, expected):
    if expected is None:
        with pytest.raises(Invalid):
            next_order_status(current, action)
    else:
        assert next_order_status(current, action) == OrderStatus(expected)
        assert action in allowed_actions(current)


def _placed(session, *, commune=None, stock=5, quantity=2):
    booth = _booth(session, commune)
    product = make_product(session, booth=booth, stock=stock)
    [order] = place_order(session, lines=[(product.id, quantity)], **BUYER)
    session.commit()
    return booth, product, order


def test_cancel_returns_the_stock_and_is_recorded(session):
    booth, product, order = _placed(session, stock=5, quantity=2)
    assert _stock(session, product) == 3
    officer = make_user(session, Role.officer, communes=[booth.producer.commune])
    change_order_status(session, officer, order, "confirm")
    change_order_status(session, officer, order, "cancel")
    session.commit()
    assert order.status == OrderStatus.cancelled
    assert _stock(session, product) == 5
    actions = session.scalars(select(ChangeRecord.action).where(
        ChangeRecord.producer_id == booth.producer_id).order_by(ChangeRecord.id)).all()
    assert actions[-2:] == ["order_confirm", "order_cancel"]
    with pytest.raises(Invalid):
        change_order_status(session, officer, order, "cancel")
    session.rollback()
    assert _stock(session, product) == 5


def test_stale_order_object_cannot_cancel_twice(session, engine):
    from sqlalchemy.orm import Session
    booth, product, order = _placed(session, stock=5, quantity=2)
    admin = make_user(session, Role.admin)
    session.commit()
    with Session(engine) as other:
        stale = other.get(Order, order.id)
        change_order_status(session, admin, order, "cancel")
        session.commit()
        with pytest.raises(Conflict):
            change_order_status(other, admin, stale, "cancel")
        other.rollback()
    assert _stock(session, product) == 5


def test_delivery_path(session):
    booth, product, order = _placed(session)
    producer_login = make_user(session, Role.producer, producer=booth.producer)
    for action in ("confirm", "ship", "deliver"):
        change_order_status(session, producer_login, order, action)
    session.commit()
    assert order.status == OrderStatus.delivered and _stock(session, product) == 3


def test_others_get_not_found_and_the_order_is_unchanged(session):
    booth, product, order = _placed(session)
    stranger_officer = make_user(session, Role.officer)  # another commune
    neighbour = make_user(session, Role.producer, producer=make_producer(
        session, commune=booth.producer.commune))
    session.commit()
    for actor in (stranger_officer, neighbour):
        with pytest.raises(NotFound):
            get_order(session, actor, order.id)
        with pytest.raises(NotFound):
            change_order_status(session, actor, order, "cancel")
        assert list_orders(session, actor).items == []
        session.rollback()
    session.expire_all()
    assert session.get(Order, order.id).status == OrderStatus.placed
    assert _stock(session, product) == 3


def test_list_orders_is_scoped_and_filtered(session):
    commune = make_commune(session)
    booth_a, _, order_a = _placed(session, commune=commune)
    booth_b, _, order_b = _placed(session, commune=commune)
    _, _, elsewhere = _placed(session)
    officer = make_user(session, Role.officer, communes=[commune])
    owner = make_user(session, Role.producer, producer=booth_a.producer)
    admin = make_user(session, Role.admin)
    change_order_status(session, officer, order_b, "confirm")
    session.commit()
    assert {o.id for o in list_orders(session, officer).items} == {order_a.id, order_b.id}
    assert [o.id for o in list_orders(session, officer, status="confirmed").items] == [order_b.id]
    assert [o.id for o in list_orders(session, owner).items] == [order_a.id]
    assert list_orders(session, admin).total == 3
    assert get_order(session, owner, order_a.id) is order_a


def test_unknown_reference_is_not_found(session):
    with pytest.raises(NotFound):
        order_by_reference(session, "ABCDEFGHJK")
    with pytest.raises(NotFound):
        order_by_reference(session, "")
    assert session.scalar(select(func.count()).select_from(OrderLine)) == 0


# --- amounts with bounds --------------------------------------------------------------------

def test_zero_dong_order_is_refused_and_nothing_is_taken(session):
    free = make_product(session, booth=_booth(session), price_vnd=0, stock=5)
    session.commit()
    with pytest.raises(Invalid) as error:
        place_order(session, lines=[(free.id, 2)], **BUYER)
    assert error.value.field == "cart"
    assert "0 ₫" in error.value.message or "0 đồng" in error.value.message
    session.rollback()
    assert _order_count(session) == 0 and _stock(session, free) == 5


def test_two_billion_dong_order_is_stored_and_summed(session):
    booth = _booth(session)
    buffalo = make_product(session, booth=booth, name="Trâu giống", price_vnd=1_000_000_000,
                           stock=10)
    first = place_order(session, lines=[(buffalo.id, 2)], **BUYER)[0]
    place_order(session, lines=[(buffalo.id, 3)], **BUYER)
    session.commit()
    session.expire_all()
    assert session.get(Order, first.id).total_vnd == 2_000_000_000
    assert session.scalar(select(func.sum(Order.total_vnd))) == 5_000_000_000
    assert session.scalar(select(func.sum(OrderLine.price_vnd * OrderLine.quantity))) \
        == 5_000_000_000
