"""Consent everywhere it matters (issue 11): with the household's publish consent withdrawn
nothing that depended on it can be seen, bought or counted; periods answer "consented on D"."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from onboarding import reporting
from onboarding.models import ConsentPurpose, ProducerKind
from onboarding.producers import onboarding_progress, record_consent, withdraw_consent
from payments.accounts import AccountDetails, link_account, verify_account
from payments.models import AccountKind
from shop import traceability
from shop.booths import completeness
from shop.models import Order
from shop.orders import place_order
from tests.shop.booth_data import published_shop

CHECKOUT = {"buyer_name": "Nguyễn Thị Hoa", "buyer_phone": "0987654321",
            "delivery_address": "12 Hàng Bài, Hà Nội", "note": "", "payment_method": "cash"}


@pytest.fixture
def shop(session):
    shop = published_shop(session, name="Hộ Giàng A Dế", village="Bản Tả Phìn",
                          ocop_stars=4, ocop_certified_on=date(2025, 1, 10))
    session.commit()
    return shop


def _product_id(session, shop) -> int:
    from shop.models import Product
    return session.scalar(select(Product.id).where(Product.booth_id == shop.booth.id))


def _withdraw(session, shop, purpose=ConsentPurpose.publish_booth):
    withdraw_consent(session, shop.officer, shop.producer, purpose)
    session.commit()


def _lot(session, shop):
    from shop.models import Product
    product = session.get(Product, _product_id(session, shop))
    lot = traceability.create_lot(session, shop.officer, product, lot_code="L2026A1",
                                  produced_on=date(2026, 10, 1), expires_on=date(2027, 10, 1),
                                  origin="Bản Tả Phìn")
    traceability.add_event(session, shop.officer, lot, kind="harvested", place="Bản Tả Phìn",
                           occurred_at=datetime(2026, 10, 1, 1, tzinfo=timezone.utc))
    session.commit()
    return lot


# --- the cart and checkout ---------------------------------------------------------------

def test_product_of_a_withdrawn_household_cannot_be_carted(client, session, shop):
    pid = _product_id(session, shop)
    _withdraw(session, shop)
    assert client.post("/cart/add", data={"product_id": pid, "quantity": 1}).status_code == 404
    assert "Giỏ hàng" in client.get("/cart").get_data(as_text=True)
    assert session.scalar(select(func.count(Order.id))) == 0


def test_a_cart_filled_before_the_withdrawal_is_refused_at_checkout(client, session, shop):
    pid = _product_id(session, shop)
    assert client.post("/cart/add", data={"product_id": pid, "quantity": 1}).status_code == 302
    _withdraw(session, shop)
    response = client.post("/checkout", data=CHECKOUT, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.request.path == "/cart"
    assert "không còn bán" in text and "giữ kín" in text
    assert session.scalar(select(func.count(Order.id))) == 0


def test_place_order_refuses_a_product_without_consent(session, shop):
    from ocopkit.errors import Invalid
    pid = _product_id(session, shop)
    _withdraw(session, shop)
    with pytest.raises(Invalid) as caught:
        place_order(session, lines=[(pid, 1)], **CHECKOUT)
    assert caught.value.field == "cart"
    assert str(caught.value) == ("Chè Shan Tuyết is no longer for sale: its producer keeps its "
                                 "booth private now. Remove it from your cart and check out "
                                 "again.")


def test_an_unlisted_product_is_refused_without_naming_another_private_household(session,
                                                                                  shop):
    from ocopkit.errors import Invalid
    from shop.models import Product, ProductStatus

    _withdraw(session, shop)  # this household's product is private; it is not in the cart
    other = published_shop(session, name="Hộ Lò Văn Pánh", village="Bản Mới")
    hidden = session.scalar(select(Product).where(Product.booth_id == other.booth.id))
    hidden.status = ProductStatus.hidden
    session.commit()
    with pytest.raises(Invalid) as caught:
        place_order(session, lines=[(hidden.id, 1)], **CHECKOUT)
    assert str(caught.value) == ("A product in your cart is no longer for sale. Remove it and "
                                 "check out again.")


# --- the scan page and EPCIS ---------------------------------------------------------------

def test_scan_page_keeps_the_household_private_without_consent(client, session, shop):
    lot = _lot(session, shop)
    before = client.get(f"/t/{lot.trace_code}").get_data(as_text=True)
    assert "Hộ Giàng A Dế" in before and "Bản Tả Phìn" in before
    _withdraw(session, shop)
    html = client.get(f"/t/{lot.trace_code}").get_data(as_text=True)
    for shown in ("Chè Shan Tuyết", "L2026A1", lot.trace_code, "01/10/2027", "Thu hoạch"):
        assert shown in html, shown
    for hidden in ("Hộ Giàng A Dế", "Bản Tả Phìn", "<img", "/booths/"):
        assert hidden not in html, hidden
    assert "giữ kín" in html
    assert "keeps these private" in client.get(f"/t/{lot.trace_code}?lang=en").get_data(
        as_text=True)


def test_epcis_json_drops_the_village_without_consent(client, session, shop):
    lot = _lot(session, shop)
    def text(response):
        return json.dumps(response.get_json(), ensure_ascii=False)
    assert "Bản Tả Phìn" in text(client.get(f"/t/{lot.trace_code}/epcis.json"))
    _withdraw(session, shop)
    body = client.get(f"/t/{lot.trace_code}/epcis.json")
    text = text(body)
    assert body.status_code == 200 and "Bản Tả Phìn" not in text and "Hộ Giàng" not in text
    assert len(body.get_json()["epcisBody"]["eventList"]) == 1


# --- the booth's VietQR image ---------------------------------------------------------------

def _verified_bank(session, shop):
    record_consent(session, shop.officer, shop.producer, ConsentPurpose.link_payment_account)
    account = link_account(session, shop.officer, shop.producer, AccountDetails(
        AccountKind.bank, "0011001932418", "GIANG A DE", bank_bin="970415"))
    verify_account(session, shop.officer, account, "in_person")
    session.commit()


def test_vietqr_image_needs_a_public_booth_and_is_cached_for_minutes(client, session, shop):
    _verified_bank(session, shop)
    url = f"/payments/producers/{shop.producer.id}/vietqr.png"
    response = client.get(url)
    assert response.status_code == 200
    cache = response.headers["Cache-Control"]
    assert "public" in cache and int(cache.split("max-age=")[1].split(",")[0]) <= 300
    _withdraw(session, shop)
    assert client.get(url).status_code == 404


def test_vietqr_image_of_a_producer_without_booth_is_404(client, session):
    from tests.shop.booth_data import make_shop
    shop = make_shop(session)  # booth never published
    _verified_bank(session, shop)
    assert client.get(f"/payments/producers/{shop.producer.id}/vietqr.png").status_code == 404


# --- counting: indicators, progress and checklist ----------------------------------------------

def _with_account(session, shop):
    _verified_bank(session, shop)


def test_adoption_indicator_drops_when_the_consent_is_withdrawn(session, shop):
    _with_account(session, shop)
    today = reporting.local_today()
    before = reporting.adoption(session, as_of=today).total.booth_and_payment
    _withdraw(session, shop)
    after = reporting.adoption(session, as_of=today).total.booth_and_payment
    assert (before, after) == (1, 0)
    # yesterday it was consented: the period answers for the past
    assert reporting.adoption(session, as_of=today - timedelta(days=1)) \
        .total.booth_and_payment in (0, 1)
    trend = reporting.trend(session, months=1, as_of=today)
    assert trend.points[-1].booth_and_payment == 0


def test_progress_and_checklist_stop_counting_the_booth(session, shop):
    steps = {s.key: s.done for s in onboarding_progress(session, shop.producer)}
    assert steps["booth"] and steps["consent"]
    _withdraw(session, shop)
    steps = {s.key: s.done for s in onboarding_progress(session, shop.producer)}
    assert not steps["booth"] and not steps["consent"]
    items = {i.key: i.done for i in completeness(session, shop.booth)}
    assert not items["consent"]


# --- periods -----------------------------------------------------------------------------------

def test_each_grant_and_withdrawal_is_a_period(session, shop):
    from onboarding import consents
    from onboarding.models import ConsentPeriod
    _withdraw(session, shop)
    record_consent(session, shop.officer, shop.producer, ConsentPurpose.publish_booth)
    session.commit()
    periods = session.scalars(select(ConsentPeriod).where(
        ConsentPeriod.producer_id == shop.producer.id)
        .order_by(ConsentPeriod.id)).all()
    assert [p.ended_at is None for p in periods] == [False, True]
    first = periods[0]
    during = first.started_at + (first.ended_at - first.started_at) / 2
    assert consents.has_consent(session, shop.producer.id, ConsentPurpose.publish_booth,
                                at=during)
    assert not consents.has_consent(session, shop.producer.id, ConsentPurpose.publish_booth,
                                    at=first.started_at - timedelta(seconds=1))
    assert consents.has_consent(session, shop.producer.id, ConsentPurpose.publish_booth)


def test_a_cooperative_is_held_to_the_same_consent(client, session):
    shop = published_shop(session, kind=ProducerKind.cooperative, ethnic_group=None,
                          name="HTX Chè Tả Phìn")
    session.commit()
    pid = _product_id(session, shop)
    assert client.post("/cart/add", data={"product_id": pid, "quantity": 1}).status_code == 302
    _withdraw(session, shop)
    assert client.post("/cart/add", data={"product_id": pid, "quantity": 1}).status_code == 404
