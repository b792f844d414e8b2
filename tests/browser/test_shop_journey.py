"""The officer's journey in a real browser with JavaScript off: log in, open a household,
record consent, build its booth, upload a photo, add two products, publish; then an
anonymous buyer finds a product by a search typed without diacritics and orders it."""
from __future__ import annotations


from PIL import Image
from sqlalchemy import select

from ocopkit.users import Role
from shop.models import Booth, BoothStatus, Order, OrderLine
from tests.browser.conftest import check_out
from tests.factories import PASSWORD, ethnic_group, make_commune, make_producer, make_user, totp_code


def _photo(tmp_path, name, colour):
    path = tmp_path / name
    Image.new("RGB", (1200, 800), colour).save(path, "JPEG")
    return path


def _add_product(page, name, price, photo):
    page.click("a[href$='/products/new']")
    page.fill("#name", name)
    page.select_option("#category", "tea")
    page.fill("#unit", "gói")
    page.fill("#price_vnd", price)
    page.fill("#stock", "10")
    page.select_option("#status", "published")
    page.set_input_files("#photo", str(photo))
    page.click("form.card[enctype] button[type=submit]")


def test_officer_builds_a_booth_and_a_buyer_orders_from_it(live_server, browser, session,
                                                           tmp_path):
    commune = make_commune(session, name="Tủa Chùa")
    officer = make_user(session, Role.officer, communes=[commune])
    household = make_producer(session, commune=commune, name="Hộ Giàng A Dế",
                              ethnic_group=ethnic_group(session, "Mông"), village="Bản Tả Phìn")
    session.commit()

    officer_ctx = browser.new_context(java_script_enabled=False, locale="vi-VN",
                                      viewport={"width": 360, "height": 740})
    page = officer_ctx.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server}/login")
    page.fill("#username", officer.username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#code", totp_code(session, officer.username))
    page.click("button[type=submit]")
    page.goto(f"{live_server}/producers")
    page.click("text=Hộ Giàng A Dế")
    page.select_option("#purpose", "publish_booth")
    page.check("#confirmed")
    page.click("form[action$='/consents'] button[type=submit]")
    page.click(f"a[href='/producers/{household.id}/booth/new']")
    page.fill("#title", "Chè Shan Tuyết nhà A Dế")
    page.fill("#story", "Chè cổ thụ trên núi Tả Phìn.")
    page.click("form.card button[type=submit]")
    booth_edit_url = page.url
    _add_product(page, "Chè Shan Tuyết cổ thụ", "120.000", _photo(tmp_path, "a.jpg", (60, 120, 40)))
    page.goto(booth_edit_url)
    _add_product(page, "Chè xanh Tả Phìn", "80000", _photo(tmp_path, "b.jpg", (90, 150, 60)))
    page.goto(booth_edit_url)
    page.click("form[action$='/publish'] button")
    booth = session.scalar(select(Booth).where(Booth.producer_id == household.id))
    session.refresh(booth)
    assert booth.status == BoothStatus.published
    officer_ctx.close()

    buyer_ctx = browser.new_context(java_script_enabled=False, locale="vi-VN",
                                    viewport={"width": 360, "height": 740})
    buyer = buyer_ctx.new_page()
    buyer.set_default_timeout(10_000)
    buyer.goto(f"{live_server}/search?q=che+shan+tuyet")
    assert "Chè Shan Tuyết cổ thụ" in buyer.content()
    assert "120.000 ₫" in buyer.content()
    buyer.click("text=Chè Shan Tuyết cổ thụ")
    buyer.click("form.card button[type=submit]")
    buyer.goto(f"{live_server}/cart")
    buyer.click("a[href$='/checkout']")
    check_out(buyer, "cash")
    order = session.scalar(select(Order))
    assert order is not None and order.reference in buyer.content()
    line = session.scalar(select(OrderLine))
    assert (line.name, line.price_vnd, order.total_vnd) == ("Chè Shan Tuyết cổ thụ", 120000, 120000)
    buyer_ctx.close()
