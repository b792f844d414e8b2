"""Pages through HTTP: buyers' pages show the right content; the editor is closed to other
households and other communes' officers; photo uploads succeed or are refused cleanly."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ocopkit.users import Role
from shop.models import Booth, BoothStatus, Product, ProductImage
from tests.factories import log_in, make_producer, make_user

from .booth_data import (
    add_product, form_fields, jpeg, make_shop, photo_modules, published_shop,
)


@pytest.fixture
def media_root(app, tmp_path, monkeypatch):
    photo_modules(monkeypatch)
    app.config["MEDIA_ROOT"] = str(tmp_path)
    return tmp_path


def test_home_lists_public_booths_communes_and_categories(session, client):
    shop = published_shop(session, commune_name="Xã Điện Biên")
    draft = make_shop(session, title="Gian hàng nháp")
    session.commit()
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Gạo Séng Cù Điện Biên" in html and "Xã Điện Biên (1)" in html
    assert "Gian hàng nháp" not in html and draft.booth.id
    assert f'/search?commune={shop.commune.id}' in html and "/search?category=tea" in html


def test_booth_page(session, client):
    shop = published_shop(session, ocop_stars=4)
    add_product(session, shop, "Mật ong", price_vnd=250000)
    session.commit()
    assert client.get(f"/booths/{shop.booth.id}").headers["Location"].endswith(
        f"/booths/{shop.booth.id}-gao-seng-cu-dien-bien")
    response = client.get(f"/booths/{shop.booth.id}-gao-seng-cu-dien-bien?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Gạo Séng Cù Điện Biên" in html and shop.producer.name in html
    assert "120.000 ₫ / gói" in html and "250.000 ₫" in html and "★★★★" in html
    assert shop.producer.phone not in html  # no show_phone consent
    assert "<script" not in html
    product = session.scalar(select(Product).where(Product.name == "Mật ong"))
    assert f"/products/{product.id}-mat-ong" in html


def test_add_to_cart_form_posts_to_the_orders_endpoint(session, client):
    shop = published_shop(session)
    session.commit()
    html = client.get(f"/booths/{shop.booth.id}-{shop.booth.slug}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="(/[^"]+)">(.*?)</form>', html)
    assert form and form.group(1) == "/cart/add"
    assert 'name="product_id"' in form.group(2) and 'name="quantity"' in form.group(2)


def test_product_page_and_hidden_booth(session, client):
    shop = published_shop(session)
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    session.commit()
    html = client.get(f"/products/{product.id}-{product.slug}?lang=en").get_data(as_text=True)
    assert "Chè Shan Tuyết" in html and "120.000 ₫" in html
    assert f"/booths/{shop.booth.id}-{shop.booth.slug}" in html
    from onboarding.producers import withdraw_consent

    withdraw_consent(session, shop.officer, shop.producer, "publish_booth")
    session.commit()
    assert client.get(f"/products/{product.id}-{product.slug}").status_code == 404
    assert client.get(f"/booths/{shop.booth.id}-{shop.booth.slug}").status_code == 404


def test_search_page_with_filters_and_pages(session, app, client):
    app.config["PAGE_SIZE"] = 2
    shop = published_shop(session, products=3, commune_name="Xã Điện Biên")
    session.commit()
    html = client.get("/search?q=SAN+PHAM&lang=en").get_data(as_text=True)
    assert "3 products" in html and "Page 1 of 2" in html
    assert "page=2" in html and "q=SAN+PHAM" in html
    html = client.get(f"/search?q=dien+bien&commune={shop.commune.id}&page=2&lang=en"
                      ).get_data(as_text=True)
    assert "Sản phẩm 1" in html and "Page 2 of 2" in html
    html = client.get("/search?category=rice&stars=9&commune=x&lang=en").get_data(as_text=True)
    assert "0 products" in html


def test_producer_page_links_to_the_booth_editor(session, client, login):
    shop = make_shop(session)
    session.commit()
    login(shop.officer.username)
    html = client.get(f"/producers/{shop.producer.id}").get_data(as_text=True)
    assert f"/producers/{shop.producer.id}/booth/new" in html
    assert client.get(f"/producers/{shop.producer.id}/booth/new").headers["Location"].endswith(
        f"/booths/{shop.booth.id}/edit")


def test_officer_opens_edits_and_publishes_a_booth(session, client, login, media_root):
    officer = make_user(session, Role.officer)
    producer = make_producer(session, commune=officer.communes[0], actor=officer)
    session.commit()
    login(officer.username)
    response = client.post(f"/producers/{producer.id}/booth/new",
                           data={"title": "Mật ong bạc hà", "story": "Ong nuôi trên núi"})
    booth = session.scalar(select(Booth).where(Booth.producer_id == producer.id))
    assert response.headers["Location"].endswith(f"/booths/{booth.id}/edit")
    html = client.get(f"/booths/{booth.id}/edit?lang=en").get_data(as_text=True)
    assert "Mật ong bạc hà" in html and "⬜ Verified payment account" in html
    # publishing without consent: the reason is shown, nothing changes
    client.post(f"/booths/{booth.id}/publish")
    html = client.get(f"/booths/{booth.id}/edit?lang=en").get_data(as_text=True)
    assert "has not given its consent" in html
    session.expire_all()
    assert session.get(Booth, booth.id).status == BoothStatus.draft


def test_product_with_photo_upload_then_served(session, client, login, media_root):
    shop = make_shop(session)
    session.commit()
    login(shop.officer.username)
    response = client.post(f"/booths/{shop.booth.id}/products/new", data={
        "name": "Chè Shan Tuyết", "unit": "gói", "price_vnd": "120.000", "stock": "5",
        "category": "tea", "status": "published", "ocop_stars": "",
        "photo": (__import__("io").BytesIO(jpeg(640, 480)), "che.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    assert product.price_vnd == 120000
    image = session.scalar(select(ProductImage).where(ProductImage.product_id == product.id))
    assert image is not None
    html = client.get(f"/products/{product.id}/edit").get_data(as_text=True)
    assert f"/media/{image.key}_320.webp" in html
    media = client.get(f"/media/{image.key}_320.webp")
    assert media.status_code == 200 and media.mimetype == "image/webp"
    assert "max-age=31536000" in media.headers["Cache-Control"]
    again = client.get(f"/media/{image.key}_320.webp",
                       headers={"If-None-Match": media.headers["ETag"]})
    assert again.status_code == 304
    assert client.get(f"/media/{image.key}_123.webp").status_code == 404
    assert client.get("/media/..%2Fsecret_320.webp").status_code == 404


def test_bad_photo_is_refused_and_nothing_is_written(session, client, login, media_root):
    shop = make_shop(session)
    session.commit()
    login(shop.officer.username)
    response = client.post(f"/booths/{shop.booth.id}/products/new?lang=en", data={
        "name": "Chè Shan Tuyết", "unit": "gói", "price_vnd": "120000", "stock": "5",
        "category": "tea", "status": "published", "ocop_stars": "",
        "photo": (__import__("io").BytesIO(b"%PDF-1.4 not a photo"), "che.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error"' in html and "Chè Shan Tuyết" in html
    session.expire_all()
    assert session.scalar(select(Product.id)) is None
    assert session.scalar(select(ProductImage.id)) is None
    assert not any(media_root.rglob("*.webp"))


def test_negative_price_is_shown_on_the_form(session, client, login):
    shop = make_shop(session)
    session.commit()
    login(shop.officer.username)
    response = client.post(f"/booths/{shop.booth.id}/products/new?lang=en", data={
        "name": "Chè", "unit": "gói", "price_vnd": "-5", "stock": "1", "category": "tea",
        "status": "draft", "ocop_stars": ""})
    assert response.status_code == 422
    assert "Type the price in đồng, for example 120.000." in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["other_household", "other_commune_officer"])
def test_others_get_404_on_the_editor_and_change_nothing(session, client, login, who):
    shop = published_shop(session)
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    if who == "other_household":
        neighbour = make_producer(session, commune=shop.commune, actor=shop.officer)
        user = make_user(session, Role.producer, producer=neighbour)
    else:
        user = make_user(session, Role.officer)
    session.commit()
    login(user.username)
    booth_id = shop.booth.id
    assert client.get(f"/booths/{booth_id}/edit").status_code == 404
    assert client.post(f"/booths/{booth_id}/edit", data={"title": "Stolen"}).status_code == 404
    assert client.post(f"/booths/{booth_id}/suspend").status_code == 404
    assert client.post(f"/booths/{booth_id}/unpublish").status_code == 404
    assert client.get(f"/products/{product.id}/edit").status_code == 404
    assert client.post(f"/products/{product.id}/edit", data={
        "name": "X", "unit": "kg", "price_vnd": "1", "stock": "1", "category": "tea",
        "status": "draft", "ocop_stars": ""}).status_code == 404
    assert client.get(f"/producers/{shop.producer.id}/booth/new").status_code == 404
    session.expire_all()
    booth = session.get(Booth, booth_id)
    assert (booth.title, booth.status) == ("Gạo Séng Cù Điện Biên", BoothStatus.published)
    assert session.get(Product, product.id).name == "Chè Shan Tuyết"


def test_own_producer_login_edits_its_booth(session, client, login):
    shop = make_shop(session)
    own = make_user(session, Role.producer, producer=shop.producer)
    session.commit()
    login(own.username)
    response = client.post(f"/booths/{shop.booth.id}/edit",
                           data={"title": "Gạo Séng Cù Mường Phăng", "story": "Gạo mới",
                                 "version": "1"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Booth, shop.booth.id).slug == "gao-seng-cu-muong-phang"


def test_editor_needs_login(session, client):
    shop = make_shop(session)
    session.commit()
    assert client.get(f"/booths/{shop.booth.id}/edit").status_code == 302


def test_publish_with_a_real_csrf_token(session, app, login):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    shop = make_shop(session)
    add_product(session, shop)
    session.commit()
    log_in(client, session, shop.officer.username, csrf=True)
    assert client.post(f"/booths/{shop.booth.id}/publish").status_code == 400
    html = client.get(f"/booths/{shop.booth.id}/edit").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    client.post(f"/booths/{shop.booth.id}/publish", data={"csrf_token": token})
    session.expire_all()
    assert session.get(Booth, shop.booth.id).status == BoothStatus.published


def test_producer_cannot_reopen_a_suspended_booth(session, client, login):
    shop = published_shop(session)
    from shop import booths
    booths.suspend_booth(session, shop.officer, shop.booth)
    own = make_user(session, Role.producer, producer=shop.producer)
    session.commit()
    login(own.username)
    html = client.get(f"/booths/{shop.booth.id}/edit?lang=en").get_data(as_text=True)
    assert "Suspend</button>" not in html
    response = client.post(f"/booths/{shop.booth.id}/publish", follow_redirects=True)
    assert "suspended by an officer" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Booth, shop.booth.id).status == BoothStatus.suspended


def test_cover_upload_and_the_configured_size_limit(session, app, client, login, media_root):
    import io
    shop = make_shop(session)
    session.commit()
    login(shop.officer.username)
    response = client.post(f"/booths/{shop.booth.id}/cover",
                           data={"cover-photo": (io.BytesIO(jpeg(800, 450)), "cover.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    session.expire_all()
    key = session.get(Booth, shop.booth.id).cover_image
    assert key and (media_root / f"{key}_960.webp").is_file()
    app.config["PHOTO_MAX_BYTES"] = 100
    response = client.post(f"/booths/{shop.booth.id}/cover?lang=en",
                           data={"cover-photo": (io.BytesIO(jpeg(800, 450)), "big.jpg")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "too large" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Booth, shop.booth.id).cover_image == key
    assert len(list(media_root.glob("*.webp"))) == 2


# --- numbers with bounds ------------------------------------------------------------------

def _post_new_product(session, client, login, query="", **fields):
    """An officer posts the new-product form of a fresh booth; the response."""
    shop = make_shop(session)
    session.commit()
    login(shop.officer.username)
    data = {"name": "Chè", "unit": "gói", "price_vnd": "120000", "stock": "1",
            "category": "tea", "status": "draft", **fields}
    return client.post(f"/booths/{shop.booth.id}/products/new{query}", data=data)


@pytest.mark.parametrize("typed", ["1.5", "1,5", "1.50"])
def test_ambiguous_price_is_refused_and_nothing_is_written(session, client, login, typed):
    response = _post_new_product(session, client, login, "?lang=en", price_vnd=typed)
    assert response.status_code == 422
    assert "Type the price in đồng, for example 120.000." in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Product.id)) is None


@pytest.mark.parametrize("typed", ["150.000", "150,000", "150000"])
def test_grouped_price_is_read_as_whole_dong(session, client, login, typed):
    response = _post_new_product(session, client, login, price_vnd=typed)
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Product.price_vnd)) == 150000


@pytest.mark.parametrize("field, typed, message", [
    ("price_vnd", "0", "Giá phải từ 1 đến 1.000.000.000 đồng."),
    ("price_vnd", "1.000.000.001", "Giá phải từ 1 đến 1.000.000.000 đồng."),
    ("stock", "1000001", "Số lượng trong kho phải từ 0 đến 1.000.000."),
    ("stock", "-1", "Số lượng trong kho phải từ 0 đến 1.000.000."),
])
def test_price_and_stock_out_of_bounds_are_refused_in_vietnamese(session, client, login,
                                                                  field, typed, message):
    response = _post_new_product(session, client, login, **{field: typed})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Product.id)) is None


@pytest.mark.parametrize("path", [
    "/booths/99999999999999999999999", "/booths/99999999999999999999999-slug",
    "/products/9223372036854775808", "/booths/0", "/booths/2147483648",
    "/booths/9223372036854775807/edit",
    "/products/99999999999999999999999/edit", "/producers/99999999999999999999999",
    "/lots/99999999999999999999999", "/manage/orders/99999999999999999999999",
])
def test_ids_too_large_for_the_database_are_404(session, client, login, path):
    officer = make_user(session, Role.admin)
    session.commit()
    login(officer.username)
    assert client.get(path).status_code == 404


def test_largest_id_is_looked_up_not_refused(session, client):
    response = client.get("/booths/2147483647")
    assert response.status_code == 404
    assert "Trang này không tồn tại" in response.get_data(as_text=True)


def test_a_commune_filter_too_large_for_the_database_is_ignored(session, client):
    published_shop(session)
    session.commit()
    response = client.get("/search?commune=99999999999999999999999&lang=en")
    assert response.status_code == 200
    assert "Chè Shan Tuyết" in response.get_data(as_text=True)


# --- no lost updates ----------------------------------------------------------------------

STALE_VI = "Có người đã sửa mục này sau khi bạn mở nó"


def _edit_form(client, product_id: int) -> dict[str, str]:
    return form_fields(client.get(f"/products/{product_id}/edit").get_data(as_text=True))


def test_stale_product_form_does_not_put_sold_units_back_on_sale(session, client, login):
    from shop.orders import place_order

    shop = published_shop(session)
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    session.commit()
    login(shop.officer.username)
    opened = _edit_form(client, product.id)          # the form shows 10 in stock
    place_order(session, lines=[(product.id, 3)], buyer_name="Chị Hoa",
                buyer_phone="0912345678", delivery_address="Bản Mường Phăng",
                payment_method="cash")
    session.commit()                                 # three units sold meanwhile
    opened["description"] = "Chè thu hái mùa xuân"
    response = client.post(f"/products/{product.id}/edit", data=opened)
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    saved = session.get(Product, product.id)
    assert saved.description == "Chè thu hái mùa xuân"
    assert saved.stock == 10 - 3


def test_second_of_two_edits_of_one_product_is_refused_and_writes_nothing(session, client,
                                                                         login):
    shop = published_shop(session)
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    session.commit()
    login(shop.officer.username)
    first = _edit_form(client, product.id)
    second = _edit_form(client, product.id)          # the same form, opened twice
    first["name"] = "Chè Shan Tuyết cổ thụ"
    assert client.post(f"/products/{product.id}/edit", data=first).status_code == 302
    second["price_vnd"], second["description"] = "150.000", "Giá mới"
    response = client.post(f"/products/{product.id}/edit", data=second)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert STALE_VI in html and 'value="Chè Shan Tuyết cổ thụ"' in html  # what is stored now
    session.expire_all()
    saved = session.get(Product, product.id)
    assert (saved.name, saved.price_vnd, saved.description) == (
        "Chè Shan Tuyết cổ thụ", 120000, "")


def test_stock_changes_by_received_and_counted_and_both_are_recorded(session, client, login):
    from onboarding.models import ChangeRecord

    shop = published_shop(session)
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    session.commit()
    login(shop.officer.username)
    form = _edit_form(client, product.id)
    assert "stock" not in form and {"stock_received", "stock_counted", "version"} <= set(form)
    assert client.post(f"/products/{product.id}/edit",
                       data={**form, "stock_received": "20"}).status_code == 302
    session.expire_all()
    assert session.get(Product, product.id).stock == 30
    form = _edit_form(client, product.id)
    assert client.post(f"/products/{product.id}/edit",
                       data={**form, "stock_counted": "35"}).status_code == 302
    session.expire_all()
    assert session.get(Product, product.id).stock == 35
    details = list(session.scalars(select(ChangeRecord.detail).where(
        ChangeRecord.action.in_(["stock_received", "stock_counted"])).order_by(ChangeRecord.id)))
    assert details == ["Chè Shan Tuyết: +20 → 30", "Chè Shan Tuyết: 30 → 35"]


@pytest.mark.parametrize("field, typed, message", [
    ("stock_received", "0", "Số lượng nhập thêm phải từ 1 đến 1.000.000."),
    ("stock_received", "1000000", "Số lượng trong kho phải từ 0 đến 1.000.000."),
    ("stock_counted", "-1", "Số lượng trong kho phải từ 0 đến 1.000.000."),
])
def test_stock_changes_out_of_bounds_are_refused(session, client, login, field, typed, message):
    shop = published_shop(session)
    product = session.scalar(select(Product).where(Product.booth_id == shop.booth.id))
    session.commit()
    login(shop.officer.username)
    form = _edit_form(client, product.id)
    response = client.post(f"/products/{product.id}/edit", data={**form, field: typed})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Product, product.id).stock == 10


def test_second_of_two_booth_edits_is_refused(session, client, login):
    shop = make_shop(session)
    session.commit()
    login(shop.officer.username)
    marker = '<form method="post" class="card">'
    page = client.get(f"/booths/{shop.booth.id}/edit").get_data(as_text=True)
    first, second = form_fields(page, marker), form_fields(page, marker)
    first["title"], second["story"] = "Gạo Séng Cù Mường Phăng", "Một câu chuyện khác"
    assert client.post(f"/booths/{shop.booth.id}/edit", data=first).status_code == 302
    response = client.post(f"/booths/{shop.booth.id}/edit", data=second)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert STALE_VI in html and 'value="Gạo Séng Cù Mường Phăng"' in html
    session.expire_all()
    booth = session.get(Booth, shop.booth.id)
    assert (booth.title, booth.story) == ("Gạo Séng Cù Mường Phăng",
                                          "Gạo trồng trên ruộng bậc thang.")


# --- only staff certify -------------------------------------------------------------------

def _certified_shop(session, name: str, stars=None, certified_on=None, certificate=None):
    shop = make_shop(session, title=f"Gian hàng {name}", ocop_stars=stars,
                     ocop_certificate_no=certificate, ocop_certified_on=certified_on)
    add_product(session, shop, name)
    from shop import booths
    booths.publish_booth(session, shop.officer, shop.booth)
    return shop


def test_producer_login_cannot_give_its_products_stars(session, client, login):
    shop = make_shop(session)
    product = add_product(session, shop, "Mật ong bạc hà")
    from shop import booths
    booths.publish_booth(session, shop.officer, shop.booth)
    own = make_user(session, Role.producer, producer=shop.producer)
    session.commit()
    login(own.username)
    form = _edit_form(client, product.id)
    assert "ocop_stars" not in form and "ocop_certificate_no" not in form
    forged = {**form, "ocop_stars": "5", "ocop_certificate_no": "GIẢ-001",
              "ocop_expires_on": "2099-01-01"}
    assert client.post(f"/products/{product.id}/edit", data=forged).status_code == 302
    response = client.post(f"/producers/{shop.producer.id}/edit", data={
        "code": shop.producer.code, "kind": "household", "name": shop.producer.name,
        "commune": str(shop.commune.id), "ocop_stars": "5", "ocop_certificate_no": "GIẢ-002",
        "ocop_certified_on": "2026-01-01", "version": "1"})
    assert response.status_code == 404
    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "Mật ong bạc hà" in page and "★" not in page and "GIẢ-00" not in page
    assert "Mật ong bạc hà" not in client.get("/search?stars=5").get_data(as_text=True)
    session.expire_all()
    producer = session.get(type(shop.producer), shop.producer.id)
    assert (producer.ocop_stars, producer.ocop_certificate_no) == (None, None)


def test_search_by_stars_lists_only_producers_with_a_valid_certificate(session, client):
    from datetime import date, timedelta

    today = date.today()
    valid = _certified_shop(session, "Chè Shan Tuyết cổ thụ", 5, today - timedelta(days=400),
                            "OCOP-ĐB-2025-001")
    _certified_shop(session, "Chè hết hạn", 5, today - timedelta(days=4 * 365), "OCOP-ĐB-2021-9")
    _certified_shop(session, "Gạo bốn sao", 4, today - timedelta(days=30), "OCOP-ĐB-2026-4")
    _certified_shop(session, "Măng chưa chứng nhận")
    session.commit()
    html = client.get("/search?stars=5").get_data(as_text=True)
    assert "Chè Shan Tuyết cổ thụ" in html
    assert "Chè hết hạn" not in html and "Gạo bốn sao" not in html and "Măng" not in html
    html = client.get("/search?stars=4").get_data(as_text=True)
    assert "Chè Shan Tuyết cổ thụ" in html and "Gạo bốn sao" in html
    assert "Chè hết hạn" not in html
    product = session.scalar(select(Product).where(Product.booth_id == valid.booth.id))
    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "★★★★★" in page and "OCOP-ĐB-2025-001" in page
    expired = session.scalar(select(Product).where(Product.name == "Chè hết hạn"))
    page = client.get(f"/products/{expired.id}-{expired.slug}").get_data(as_text=True)
    assert "★" not in page and "OCOP-ĐB-2021-9" not in page
