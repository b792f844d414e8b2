"""Pages through HTTP: buyers' pages show the right content; the editor is closed to other
households and other communes' officers; photo uploads succeed or are refused cleanly."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ocopkit.users import Role
from shop.models import Booth, BoothStatus, Product, ProductImage
from tests.factories import log_in, make_producer, make_user

from .booth_data import add_product, jpeg, make_shop, photo_modules, published_shop


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
    shop = published_shop(session)
    add_product(session, shop, "Mật ong", ocop_stars=4, price_vnd=250000)
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


def test_add_to_cart_form_posts_to_the_orders_endpoint(session, app, client):
    if "orders.cart_add" not in app.view_functions:
        pytest.skip("the orders blueprint has no cart_add yet")
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
    assert "whole number of đồng" in response.get_data(as_text=True)


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
                           data={"title": "Gạo Séng Cù Mường Phăng", "story": "Gạo mới"})
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
