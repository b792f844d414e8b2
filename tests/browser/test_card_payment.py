"""In the demo, a buyer pays an order by card in a real browser: the card form is Stripe.js
served by the real localstripe, the card never touches ocopkit, and the order shows as paid;
the gateway's signed webhook then arrives at the served app and changes nothing more."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from ocopkit.demo import build_demo
from payments.models import EntryKind, LedgerEntry, WebhookEvent
from shop.models import Order, Product, ProductStatus
from tests.browser.conftest import check_out

SECRET = "whsec_browser_demo"


@pytest.fixture
def live_config(localstripe):
    localstripe.flush()
    return {"GATEWAY_URL": localstripe.url, "WEBHOOK_SECRET": SECRET,
            "GATEWAY_TEST_CARDS": True}


def _wait_for(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_buyer_pays_by_card_in_the_demo_and_sees_it_paid(live_server, browser, session,
                                                         localstripe, tmp_path):
    build_demo(session, tmp_path / "media")
    session.commit()
    localstripe.register_webhook(f"{live_server}/payments/webhook", SECRET)
    product = session.scalars(select(Product).where(Product.status == ProductStatus.published)
                              .order_by(Product.id)).first()

    context = browser.new_context(java_script_enabled=True, locale="vi-VN",
                                  viewport={"width": 360, "height": 740})
    buyer = context.new_page()
    buyer.set_default_timeout(10_000)
    buyer.goto(f"{live_server}/products/{product.id}")
    buyer.click("form[action$='/cart/add'] button[type=submit]")
    buyer.goto(f"{live_server}/checkout")
    check_out(buyer, "card")

    order = session.scalar(select(Order))
    assert buyer.url.endswith(f"/orders/{order.reference}/pay")
    card = buyer.locator("#card-element")
    card.locator("input[placeholder=number]").fill("4242424242424242")
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("10000")
    buyer.click("#card-submit")
    buyer.wait_for_url(f"{live_server}/orders/{order.reference}")
    state = buyer.locator(".payment-state").inner_text()
    assert "Đã thanh toán" in state
    assert buyer.locator("text=Thanh toán bằng thẻ ngay").count() == 0

    sales = select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.sale)
    assert session.scalar(sales) == 1
    assert _wait_for(lambda: session.scalar(select(func.count()).select_from(WebhookEvent)
                                            .where(WebhookEvent.type
                                                   == "payment_intent.succeeded")) == 1)
    assert session.scalar(sales) == 1
    context.close()
