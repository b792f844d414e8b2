"""Cart, checkout and order management through HTTP: what the pages show and who sees them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ocopkit.users import Role
from shop.models import BoothStatus, Order, OrderStatus, Product, ProductStatus
from shop.orders import place_order
from tests.factories import make_booth, make_commune, make_product, make_producer, make_user

CHECKOUT = {"buyer_name": "Trần Thị Bình", "buyer_phone": "0987 654 321",
            "delivery_address": "5 Trần Phú, Đà Lạt", "note": "Gọi trước khi giao",
            "payment_method": "cash"}


@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")


@pytest.fixture
def market(session):
    """Two communes; in A two households with booths (tea, honey), in B one officer."""
    commune_a = make_commune(session, name="Xã Pá Tần")
    commune_b = make_commune(session, name="Xã Tủa Thàng")
    tea_farm = make_producer(session, commune=commune_a, name="Hộ Lò Văn Pánh")
    bee_farm = make_producer(session, commune=commune_a, name="Hộ Giàng A Sử")
    tea_booth = make_booth(session, producer=tea_farm, title="Chè Pá Tần",
                           status=BoothStatus.published)
    honey_booth = make_booth(session, producer=bee_farm, title="Mật ong Sử",
                             status=BoothStatus.published)

    class Market:
        tea = make_product(session, booth=tea_booth, name="Chè Shan Tuyết cổ thụ",
                           price_vnd=120000, stock=5)
        honey = make_product(session, booth=honey_booth, name="Mật ong bạc hà",
                             price_vnd=250000, stock=1)
        draft = make_product(session, booth=honey_booth, name="Sáp ong",
                             status=ProductStatus.draft)
        officer_a = make_user(session, Role.officer, username="officer_a", communes=[commune_a])
        officer_b = make_user(session, Role.officer, username="officer_b", communes=[commune_b])
        tea_login = make_user(session, Role.producer, username="tea", producer=tea_farm)
        bee_login = make_user(session, Role.producer, username="bee", producer=bee_farm)
        admin = make_user(session, Role.admin, username="admin")
    Market.tea_booth, Market.honey_booth = tea_booth, honey_booth
    session.commit()
    return Market


def _orders(session):
    session.expire_all()
    return session.scalars(select(Order).order_by(Order.booth_id)).all()


def _stock(session, product):
    return session.scalar(select(Product.stock).where(Product.id == product.id))


def test_cart_checkout_and_confirmation(client, session, market, english):
    client.post("/cart/add", data={"product_id": market.tea.id, "quantity": 2})
    client.post("/cart/add", data={"product_id": market.tea.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": market.honey.id, "quantity": 1})
    cart = client.get("/cart").get_data(as_text=True)
    assert "Chè Shan Tuyết cổ thụ" in cart and "Mật ong bạc hà" in cart
    assert "360.000 ₫" in cart and "610.000 ₫" in cart and "<script" not in cart

    page = client.get("/checkout").get_data(as_text=True)
    assert "610.000 ₫" in page and 'value="vietqr"' in page

    response = client.post("/checkout", data=CHECKOUT)
    assert response.status_code == 302
    placed = _orders(session)
    assert len(placed) == 2
    assert {o.total_vnd for o in placed} == {360000, 250000}
    assert all(o.payment_method.value == "cash" and o.buyer_phone == "0987654321"
               for o in placed)
    confirmation = client.get(response.headers["Location"])
    text = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200
    assert "no-store" in confirmation.headers["Cache-Control"]
    for order in placed:
        assert order.reference in text
    assert "Chè Pá Tần" in text and "Mật ong Sử" in text and "610.000 ₫" in text
    assert "Cash on delivery" in text and "Pay in cash at delivery" in text
    assert (_stock(session, market.tea), _stock(session, market.honey)) == (2, 0)
    assert "Your cart is empty." in client.get("/cart").get_data(as_text=True)


def test_confirmation_page_speaks_vietnamese_prices(client, session, market):
    [order] = place_order(session, lines=[(market.tea.id, 1)], **CHECKOUT)
    session.commit()
    text = client.get(f"/orders/{order.reference}").get_data(as_text=True)
    assert order.reference in text and "120.000 ₫" in text


def test_unknown_reference_is_404(client, market):
    assert client.get("/orders/ABCDEFGHJK").status_code == 404


def test_update_and_remove_cart_lines(client, market, english):
    client.post("/cart/add", data={"product_id": market.tea.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": market.honey.id, "quantity": 1})
    client.post("/cart/update", data={"product_id": market.tea.id, "quantity": 4})
    client.post("/cart/update", data={"product_id": market.honey.id, "quantity": 0})
    text = client.get("/cart").get_data(as_text=True)
    assert "480.000 ₫" in text and "Mật ong bạc hà" not in text


def test_unpublished_product_cannot_be_added(client, market):
    assert client.post("/cart/add", data={"product_id": market.draft.id,
                                          "quantity": 1}).status_code == 404


def test_sold_out_goes_back_to_the_cart_and_takes_nothing(client, session, market, english):
    client.post("/cart/add", data={"product_id": market.tea.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": market.honey.id, "quantity": 1})
    [other] = place_order(session, lines=[(market.honey.id, 1)], **CHECKOUT)  # last jar
    session.commit()
    response = client.post("/checkout", data=CHECKOUT, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.request.path == "/cart"
    assert "Sold out" in text and "Mật ong bạc hà" in text
    assert [o.id for o in _orders(session)] == [other.id]
    assert _stock(session, market.tea) == 5


def test_bad_phone_is_shown_on_the_form(client, session, market, english):
    client.post("/cart/add", data={"product_id": market.tea.id, "quantity": 1})
    response = client.post("/checkout", data={**CHECKOUT, "buyer_phone": "12345"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "not a Vietnamese phone number" in text
    assert _orders(session) == [] and _stock(session, market.tea) == 5


def _two_orders(session, market):
    [tea_order] = place_order(session, lines=[(market.tea.id, 2)], **CHECKOUT)
    [honey_order] = place_order(session, lines=[(market.honey.id, 1)],
                                **{**CHECKOUT, "buyer_name": "Lê Văn Cường"})
    session.commit()
    return tea_order, honey_order


def test_producer_sees_and_moves_only_its_own_orders(client, session, market, login, english):
    tea_order, honey_order = _two_orders(session, market)
    login("tea")
    listing = client.get("/manage/orders").get_data(as_text=True)
    assert tea_order.reference in listing and honey_order.reference not in listing
    assert "Lê Văn Cường" not in listing

    detail = client.get(f"/manage/orders/{tea_order.id}").get_data(as_text=True)
    assert "Trần Thị Bình" in detail and "0987654321" in detail and "5 Trần Phú" in detail
    assert "240.000 ₫" in detail and "Confirm" in detail

    response = client.post(f"/manage/orders/{tea_order.id}/confirm")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/manage/orders/{tea_order.id}")
    assert "Confirmed" in client.get(f"/manage/orders/{tea_order.id}").get_data(as_text=True)
    client.post(f"/manage/orders/{tea_order.id}/cancel")
    session.expire_all()
    assert session.get(Order, tea_order.id).status == OrderStatus.cancelled
    assert _stock(session, market.tea) == 5


@pytest.mark.parametrize("username", ["bee", "officer_b"])
def test_outsiders_get_404_and_the_order_is_unchanged(client, session, market, login, english,
                                                      username):
    tea_order, _ = _two_orders(session, market)
    login(username)
    listing = client.get("/manage/orders").get_data(as_text=True)
    assert tea_order.reference not in listing and "Trần Thị Bình" not in listing
    detail = client.get(f"/manage/orders/{tea_order.id}")
    assert detail.status_code == 404 and "Trần Thị Bình" not in detail.get_data(as_text=True)
    for action in ("confirm", "cancel"):
        assert client.post(f"/manage/orders/{tea_order.id}/{action}").status_code == 404
    session.expire_all()
    assert session.get(Order, tea_order.id).status == OrderStatus.placed
    assert _stock(session, market.tea) == 3


def test_officer_of_the_commune_sees_both_households(client, session, market, login, english):
    tea_order, honey_order = _two_orders(session, market)
    login("officer_a")
    listing = client.get("/manage/orders").get_data(as_text=True)
    assert tea_order.reference in listing and honey_order.reference in listing
    assert "2 order(s)." in listing
    filtered = client.get("/manage/orders?status=confirmed").get_data(as_text=True)
    assert "No orders yet." in filtered


def test_invalid_transition_is_explained(client, session, market, login, english):
    tea_order, _ = _two_orders(session, market)
    login("admin")
    response = client.post(f"/manage/orders/{tea_order.id}/deliver", follow_redirects=True)
    assert "cannot be given the action" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Order, tea_order.id).status == OrderStatus.placed


def test_management_needs_a_login(client, market):
    response = client.get("/manage/orders")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_checkout_refuses_a_missing_csrf_token(engine, database_url, market):
    from ocopkit import create_app
    app = create_app({"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
                      "SECRET_KEY": "test-secret"})
    client = app.test_client()
    assert client.post("/cart/add", data={"product_id": market.tea.id,
                                          "quantity": 1}).status_code == 400
    assert "Chè Shan Tuyết" not in client.get("/cart").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                      r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True))
    response = client.post("/cart/add", data={"product_id": market.tea.id, "quantity": 1,
                                              "csrf_token": token.group(1) or token.group(2)})
    assert response.status_code == 302
    assert "Chè Shan Tuyết" in client.get("/cart").get_data(as_text=True)


# --- who sees the buyer's name, phone and address ---------------------------------------------

BUYER_DETAILS = ("Trần Thị Bình", "0987654321", "5 Trần Phú, Đà Lạt")


def _shows_buyer(page: str) -> bool:
    shown = [value in page for value in BUYER_DETAILS]
    assert all(shown) or not any(shown), shown  # all three, or none
    return all(shown)


def test_code_alone_shows_the_status_but_not_the_buyer(client, session, market, english):
    [order] = place_order(session, lines=[(market.tea.id, 1)], **CHECKOUT)
    session.commit()
    page = client.get(f"/orders/{order.reference}").get_data(as_text=True)
    assert order.reference in page and "New" in page and "120.000 ₫" in page
    assert not _shows_buyer(page)
    assert "enter the phone number given with the order" in page


def test_checkout_leads_to_a_signed_link_that_shows_the_buyer(client, session, market, english):
    client.post("/cart/add", data={"product_id": market.tea.id, "quantity": 1})
    response = client.post("/checkout", data=CHECKOUT)
    assert "k=" in response.headers["Location"]
    assert _shows_buyer(client.get(response.headers["Location"]).get_data(as_text=True))
    [order] = _orders(session)
    assert not _shows_buyer(client.get(f"/orders/{order.reference}").get_data(as_text=True))


def test_code_and_the_buyers_phone_show_the_buyer(client, session, market, english):
    [order] = place_order(session, lines=[(market.tea.id, 1)], **CHECKOUT)
    session.commit()
    response = client.post(f"/orders/{order.reference}/details",
                           data={"phone": "+84 987 654 321"})
    assert response.status_code == 303
    assert _shows_buyer(client.get(response.headers["Location"]).get_data(as_text=True))


def test_a_wrong_phone_shows_nothing_more(client, session, market, english):
    [order] = place_order(session, lines=[(market.tea.id, 1)], **CHECKOUT)
    session.commit()
    response = client.post(f"/orders/{order.reference}/details", data={"phone": "0912345678"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "not the one given with the order" in page and not _shows_buyer(page)


def _signed(app, references: str, *, age_seconds: int = 0, secret: str = "test-secret") -> str:
    import time
    from unittest import mock

    from itsdangerous import URLSafeTimedSerializer

    signer = URLSafeTimedSerializer(secret, salt="order-details")
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - age_seconds):
        return signer.dumps(references)


def test_expired_forged_or_borrowed_signatures_show_nothing(app, client, session, market,
                                                           english):
    tea_order, honey_order = _two_orders(session, market)
    ref = tea_order.reference
    assert _shows_buyer(client.get(f"/orders/{ref}?k={_signed(app, ref)}").get_data(as_text=True))
    day = app.config["ORDER_LINK_MAX_AGE_SECONDS"]
    for token in (_signed(app, ref, age_seconds=day + 60),  # expired
                  _signed(app, ref, secret="not-the-secret"),  # forged
                  _signed(app, honey_order.reference),  # another order's link
                  _signed(app, ref)[:-2] + "xx"):  # tampered
        page = client.get(f"/orders/{ref}?k={token}").get_data(as_text=True)
        assert ref in page and not _shows_buyer(page), token


def test_the_producers_staff_see_the_buyer_others_do_not(client, session, market, login,
                                                        english):
    tea_order, _ = _two_orders(session, market)
    login("officer_b")
    assert not _shows_buyer(client.get(f"/orders/{tea_order.reference}").get_data(as_text=True))
    client.post("/logout")
    login("tea")
    assert _shows_buyer(client.get(f"/orders/{tea_order.reference}").get_data(as_text=True))
