"""With a consent withdrawn, nothing about the household that depended on it can be seen,
bought or counted: an officer withdraws the publish consent in a real browser (JavaScript
off), then a buyer can neither cart nor order its product, the batch's scan page names
nobody, and the adoption report counts one booth fewer."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from sqlalchemy import func, select

from onboarding.models import ConsentPurpose
from onboarding.producers import record_consent
from payments.accounts import AccountDetails, link_account, verify_account
from payments.models import AccountKind
from shop import traceability
from shop.models import Order, Product
from tests.browser.conftest import check_out
from tests.factories import PASSWORD, totp_code
from tests.shop.booth_data import published_shop


def _context(browser):
    context = browser.new_context(java_script_enabled=False, locale="vi-VN",
                                  viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def _booth_and_payment(page, live_server) -> int:
    page.goto(f"{live_server}/reports/adoption.json")
    data = json.loads(page.inner_text("body"))
    return next(i["numerator"] for i in data["indicators"] if i["key"] == "booth_and_payment")


def test_withdrawn_consent_hides_sells_and_counts_nothing(live_server, browser, session):
    shop = published_shop(session, name="Hộ Giàng A Dế", village="Bản Tả Phìn",
                          ocop_stars=4, ocop_certified_on=date(2025, 1, 10))
    record_consent(session, shop.officer, shop.producer, ConsentPurpose.link_payment_account)
    account = link_account(session, shop.officer, shop.producer, AccountDetails(
        AccountKind.bank, "0011001932418", "GIANG A DE", bank_bin="970415"))
    verify_account(session, shop.officer, account, "in_person")
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    lot = traceability.create_lot(session, shop.officer, product, lot_code="L2026A1",
                                  produced_on=date(2026, 10, 1), origin="Bản Tả Phìn")
    traceability.add_event(session, shop.officer, lot, kind="harvested", place="Bản Tả Phìn",
                           occurred_at=datetime(2026, 10, 1, 1, tzinfo=timezone.utc))
    session.commit()

    buyer_ctx, buyer = _context(browser)
    buyer.goto(f"{live_server}/products/{product.id}-{product.slug}")
    buyer.click("form.card button[type=submit]")  # into the cart while still on sale
    assert "Chè Shan Tuyết" in buyer.content()
    buyer.goto(f"{live_server}/t/{lot.trace_code}")
    assert "Hộ Giàng A Dế" in buyer.content()

    officer_ctx, officer = _context(browser)
    officer.goto(f"{live_server}/login")
    officer.fill("#username", shop.officer.username)
    officer.fill("#password", PASSWORD)
    officer.click("button[type=submit]")
    officer.fill("#code", totp_code(session, shop.officer.username))
    officer.click("button[type=submit]")
    assert _booth_and_payment(officer, live_server) == 1
    officer.goto(f"{live_server}/producers/{shop.producer.id}")
    officer.click("form[action$='/consents/withdraw']:has(input[value=publish_booth]) button")
    assert "Đã rút lại sự đồng ý." in officer.content()

    # the buyer: the product is gone, the old cart is refused with the reason
    response = buyer.goto(f"{live_server}/products/{product.id}-{product.slug}")
    assert response.status == 404
    buyer.goto(f"{live_server}/search?q=che+shan+tuyet")
    assert "Chè Shan Tuyết" not in buyer.inner_text("main")
    buyer.goto(f"{live_server}/checkout")
    assert "Chè Shan Tuyết" not in buyer.inner_text("main")
    assert session.scalar(select(func.count(Order.id))) == 0

    # the batch still tells its product, lot and steps, but not who made it or where
    buyer.goto(f"{live_server}/t/{lot.trace_code}")
    scan = buyer.inner_text("main")
    assert "Chè Shan Tuyết" in scan and "L2026A1" in scan and "Thu hoạch" in scan
    assert "Hộ Giàng A Dế" not in scan and "Bản Tả Phìn" not in scan
    assert "giữ kín" in scan and buyer.locator("main img").count() == 0
    buyer_ctx.close()

    # the report stops counting the booth
    assert _booth_and_payment(officer, live_server) == 0
    officer_ctx.close()


def test_a_cart_kept_across_the_withdrawal_is_refused_with_the_reason(live_server, browser,
                                                                    session):
    from onboarding.producers import withdraw_consent

    shop = published_shop(session, name="Hộ Lò Văn Tươi")
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    session.commit()
    buyer_ctx, buyer = _context(browser)
    buyer.goto(f"{live_server}/products/{product.id}-{product.slug}")
    buyer.click("form.card button[type=submit]")
    buyer.goto(f"{live_server}/checkout")
    withdraw_consent(session, shop.officer, shop.producer, ConsentPurpose.publish_booth)
    session.commit()
    check_out(buyer, "cash")
    text = buyer.inner_text("main")
    assert buyer.url.endswith("/cart")
    assert "không còn bán" in text and "giữ kín" in text
    assert session.scalar(select(func.count(Order.id))) == 0
    buyer_ctx.close()
