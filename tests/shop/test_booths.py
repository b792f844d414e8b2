"""Booth rules without HTTP: access per commune, consent and a sellable product to publish,
prices, photos, history, the OCOP badge."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ocopkit.errors import Conflict, Invalid, NotAllowed, NotFound
from ocopkit.users import Role
from onboarding.models import ChangeRecord
from onboarding.producers import onboarding_progress, withdraw_consent
from shop import booths
from shop.booths import ProductData, ocop_badge, ocop_warning
from shop.models import BoothStatus, Product, ProductImage
from tests.factories import make_producer, make_product, make_user

from .booth_data import add_product, jpeg, make_shop, photo_modules, photo_row


def _history(session, producer_id):
    return session.execute(select(ChangeRecord.action, ChangeRecord.actor_id)
                           .where(ChangeRecord.producer_id == producer_id)
                           .order_by(ChangeRecord.id)).all()


def test_officer_of_the_commune_opens_one_booth_and_it_is_recorded(session):
    shop = make_shop(session, consent=False)
    assert shop.booth.slug == "gao-seng-cu-dien-bien"
    assert shop.booth.status == BoothStatus.draft
    assert ("booth_created", shop.officer.id) in _history(session, shop.producer.id)
    with pytest.raises(Conflict):
        booths.create_booth(session, shop.officer, shop.producer, title="Gian hàng thứ hai")


def test_producer_login_may_open_its_own_booth(session):
    officer = make_user(session, Role.officer)
    producer = make_producer(session, commune=officer.communes[0], actor=officer)
    own = make_user(session, Role.producer, producer=producer)
    booth = booths.create_booth(session, own, producer, title="Mật ong bạc hà")
    assert booth.producer_id == producer.id
    assert ("booth_created", own.id) in _history(session, producer.id)


def test_others_get_not_found_and_change_nothing(session):
    shop = make_shop(session)
    other_officer = make_user(session, Role.officer)
    neighbour = make_producer(session, commune=shop.commune, actor=shop.officer)
    neighbour_login = make_user(session, Role.producer, producer=neighbour)
    for actor in (other_officer, neighbour_login):
        with pytest.raises(NotFound):
            booths.get_booth_for_edit(session, actor, shop.booth.id)
        with pytest.raises(NotFound):
            booths.update_booth(session, actor, shop.booth, title="Stolen")
        with pytest.raises(NotFound):
            booths.create_product(session, actor, shop.booth,
                                  ProductData(name="X", unit="kg", price_vnd=1))
        with pytest.raises(NotFound):
            booths.publish_booth(session, actor, shop.booth)
    assert shop.booth.title == "Gạo Séng Cù Điện Biên"


def test_publishing_needs_consent(session):
    shop = make_shop(session, consent=False)
    add_product(session, shop)
    with pytest.raises(Invalid) as e:
        booths.publish_booth(session, shop.officer, shop.booth)
    assert e.value.field == "consent"
    assert shop.booth.status == BoothStatus.draft


def test_publishing_needs_a_published_product_with_photo_and_price(session):
    shop = make_shop(session)
    with pytest.raises(Invalid) as e:
        booths.publish_booth(session, shop.officer, shop.booth)
    assert e.value.field == "products"
    add_product(session, shop, "Không ảnh", photo=False)
    # a product left at 0 ₫ from before prices had to be 1 ₫ or more
    photo_row(session, make_product(session, booth=shop.booth, name="Miễn phí", price_vnd=0))
    add_product(session, shop, "Nháp", status="draft")
    with pytest.raises(Invalid):
        booths.publish_booth(session, shop.officer, shop.booth)
    add_product(session, shop, "Chè Shan Tuyết")
    booths.publish_booth(session, shop.officer, shop.booth)
    assert shop.booth.status == BoothStatus.published and shop.booth.published_at
    assert ("booth_published", shop.officer.id) in _history(session, shop.producer.id)
    steps = {s.key: s.done for s in onboarding_progress(session, shop.producer)}
    assert steps["booth"] is True


def test_suspension_is_for_officers_only(session):
    shop = make_shop(session)
    add_product(session, shop)
    own = make_user(session, Role.producer, producer=shop.producer)
    with pytest.raises(NotAllowed):
        booths.suspend_booth(session, own, shop.booth)
    booths.suspend_booth(session, shop.officer, shop.booth, "ảnh sai")
    with pytest.raises(NotAllowed):
        booths.publish_booth(session, own, shop.booth)
    booths.publish_booth(session, shop.officer, shop.booth)
    booths.unpublish_booth(session, own, shop.booth)
    assert shop.booth.status == BoothStatus.draft
    actions = [a for a, _ in _history(session, shop.producer.id)]
    assert {"booth_suspended", "booth_published", "booth_unpublished"} <= set(actions)


@pytest.mark.parametrize("field, values", [
    ("price_vnd", {"price_vnd": -1}),
    ("price_vnd", {"price_vnd": 1.5}),
    ("price_vnd", {"price_vnd": "120000"}),
    ("stock", {"stock": -3}),
    ("name", {"name": "  "}),
    ("unit", {"unit": ""}),
])
def test_product_rules(session, field, values):
    shop = make_shop(session)
    data = {"name": "Mật ong", "unit": "chai", "price_vnd": 250000, **values}
    with pytest.raises(Invalid) as e:
        booths.create_product(session, shop.officer, shop.booth, ProductData(**data))
    assert e.value.field == field


def test_product_takes_free_text_units_and_builds_its_search_text(session):
    shop = make_shop(session, commune_name="Xã Điện Biên")
    product = booths.create_product(session, shop.officer, shop.booth, ProductData(
        name="Chè Shan Tuyết", unit="ống tre", price_vnd=90000, stock=4,
        description="Búp chè cổ thụ"))
    assert product.unit == "ống tre" and product.slug == "che-shan-tuyet"
    assert product.search_text == "che shan tuyet bup che co thu gao seng cu dien bien xa dien bien"
    booths.update_booth(session, shop.officer, shop.booth, title="Đặc sản Tủa Chùa")
    assert "dac san tua chua" in product.search_text
    changed = booths.update_product(session, shop.officer, product, ProductData(
        name="Chè Shan Tuyết", unit="ống tre", price_vnd=95000, stock=4,
        description="Búp chè cổ thụ"))
    assert changed == ["price_vnd"]
    assert ("product_updated", shop.officer.id) in _history(session, shop.producer.id)


def test_completeness_lists_what_is_missing(session):
    shop = make_shop(session, consent=False)
    items = {i.key: i.done for i in booths.completeness(session, shop.booth)}
    assert items == {"consent": False, "product": False, "photo": False, "price": False,
                     "unit": False, "story": True, "payment_account": False}
    add_product(session, shop)
    items = {i.key: i.done for i in booths.completeness(session, shop.booth)}
    assert items["product"] and items["photo"] and items["price"] and items["unit"]
    add_product(session, shop, "Không ảnh", photo=False)
    items = {i.key: i.done for i in booths.completeness(session, shop.booth)}
    assert items["photo"] is False and items["payment_account"] is False


def test_ocop_badge_and_officer_warning():
    today = date(2026, 11, 28)
    assert ocop_badge(4, "12/QĐ", today + timedelta(days=200), today).stars == 4
    assert ocop_badge(4, "12/QĐ", None, today) is not None
    assert ocop_badge(4, "12/QĐ", today, today) is None
    assert ocop_badge(None, None, None, today) is None
    assert ocop_warning(4, today + timedelta(days=200), today) is None
    assert "60 days" in ocop_warning(4, today + timedelta(days=60), today)
    assert "expired" in ocop_warning(4, today - timedelta(days=1), today)


def test_withdrawing_consent_blocks_the_next_publish(session):
    shop = make_shop(session)
    add_product(session, shop)
    withdraw_consent(session, shop.officer, shop.producer, "publish_booth")
    with pytest.raises(Invalid):
        booths.publish_booth(session, shop.officer, shop.booth)


# --- photos (shop.images / shop.media, or stand-ins) -------------------------------------------

@pytest.fixture
def media(monkeypatch):
    return photo_modules(monkeypatch)[1]


def test_add_and_remove_photos(session, tmp_path, media):
    shop = make_shop(session)
    product = add_product(session, shop, photo=False)
    image = booths.add_product_photo(session, shop.officer, product, jpeg(), tmp_path)
    assert image.position == 1 and image.width > 0 and image.height > 0
    assert media.photo_path(tmp_path, image.key, 320).is_file()
    assert ("photo_added", shop.officer.id) in _history(session, shop.producer.id)
    for _ in range(4):
        booths.add_product_photo(session, shop.officer, product, jpeg(), tmp_path)
    with pytest.raises(Invalid) as e:
        booths.add_product_photo(session, shop.officer, product, jpeg(), tmp_path)
    assert e.value.field == "photo"
    booths.remove_product_photo(session, shop.officer, image, tmp_path)
    assert not media.photo_path(tmp_path, image.key, 320).exists()
    assert session.scalar(select(ProductImage.id).where(ProductImage.key == image.key)) is None


def test_bad_photo_writes_nothing(session, tmp_path, media):
    shop = make_shop(session)
    product = add_product(session, shop, photo=False)
    with pytest.raises(Invalid) as e:
        booths.add_product_photo(session, shop.officer, product, b"not a photo", tmp_path)
    assert e.value.field == "photo"
    assert not any(tmp_path.rglob("*.webp"))
    assert session.scalar(select(ProductImage.id)) is None


def test_files_are_deleted_when_the_row_fails(session, tmp_path, monkeypatch, media):
    shop = make_shop(session)
    product = add_product(session, shop, photo=False)
    taken = photo_row(session, product, position=1)
    real_save = media.save_photo

    def save_then_clash(root, photo):
        real_save(root, photo)          # files written, then a key that is already used
        return taken.key
    deleted = []
    monkeypatch.setattr(media, "save_photo", save_then_clash)
    monkeypatch.setattr(media, "delete_photo", lambda root, key: deleted.append(key))
    with pytest.raises(IntegrityError) as error:
        booths.add_product_photo(session, shop.officer, product, jpeg(), tmp_path)
    assert "product_image" in str(error.value) and "key" in str(error.value)
    assert deleted == [taken.key]


# --- no lost updates ----------------------------------------------------------------------

def test_two_saves_from_one_version_at_once_one_is_refused(session, database_url):
    from ocopkit.errors import Stale
    from tests.concurrency import run_together
    from .race_worker import edit_product

    shop = make_shop(session)
    product = add_product(session, shop)
    session.commit()
    version = product.version
    outcomes = run_together(edit_product, [
        (database_url, product.id, shop.officer.id, version, "Bản A"),
        (database_url, product.id, shop.officer.id, version, "Bản B")])
    assert sorted(outcomes) == ["ok", "stale"]
    session.expire_all()
    saved = session.get(Product, product.id)
    assert saved.description == ("Bản A" if outcomes[0] == "ok" else "Bản B")
    assert saved.version == version + 1
    updates = session.scalars(select(ChangeRecord.detail).where(
        ChangeRecord.action == "product_updated")).all()
    assert len(updates) == 1
    with pytest.raises(Stale) as error:   # the loser's form, saved again, is still refused
        booths.update_product(session, shop.officer, saved, ProductData(
            name=saved.name, unit="gói", price_vnd=1000), version=version)
    assert "since you opened it" in error.value.message


def test_units_received_at_once_are_all_kept(session, database_url):
    from tests.concurrency import run_together
    from .race_worker import receive

    shop = make_shop(session)
    product = add_product(session, shop, stock=10)
    session.commit()
    seen = run_together(receive, [(database_url, product.id, shop.officer.id, 20)] * 3)
    assert sorted(seen) == [30, 50, 70]
    session.expire_all()
    assert session.get(Product, product.id).stock == 70
