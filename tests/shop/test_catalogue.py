"""The buyers' read side: Vietnamese-aware search, filters, pagination, consent, queries."""
from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from onboarding.producers import record_consent, withdraw_consent
from shop import booths, catalogue
from shop.models import ProductStatus

from .booth_data import add_product, make_shop, photo_row, published_shop


@contextlib.contextmanager
def count_queries(session):
    statements = []
    engine = session.get_bind()

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _names(result):
    return sorted(p.name for p in result.items)


@pytest.fixture
def market(session):
    """Stars are the producer's certificate: tea's 4 stars are valid, rice's 5 expired."""
    tea = make_shop(session, commune_name="Xã Điện Biên Đông", title="Chè Tủa Chùa",
                    ocop_stars=4, ocop_certificate_no="1/QĐ",
                    ocop_certified_on=date.today() - timedelta(days=400))
    add_product(session, tea, "Chè Shan Tuyết")
    add_product(session, tea, "Đậu đen", category="other")
    add_product(session, tea, "dau tuong", category="other")
    add_product(session, tea, "Chè nháp", status="draft")
    booths.publish_booth(session, tea.officer, tea.booth)
    rice = make_shop(session, commune_name="Xã Mường Phăng", title="Gạo Séng Cù", ocop_stars=5,
                     ocop_certified_on=date.today() - timedelta(days=4 * 365))
    add_product(session, rice, "Gạo Séng Cù", category="rice")
    booths.publish_booth(session, rice.officer, rice.booth)
    return tea, rice


@pytest.mark.parametrize("q", ["che shan tuyet", "CHÈ SHAN TUYẾT", "Chè  shan", "TUYET"])
def test_search_ignores_case_and_diacritics(session, market, q):
    assert _names(catalogue.search_products(session, q=q)) == ["Chè Shan Tuyết"]


def test_search_handles_d_stroke_both_ways(session, market):
    assert _names(catalogue.search_products(session, q="dau")) == ["dau tuong", "Đậu đen"]
    assert _names(catalogue.search_products(session, q="ĐẬU")) == ["dau tuong", "Đậu đen"]
    assert _names(catalogue.search_products(session, q="dau den")) == ["Đậu đen"]
    # the commune's name is searchable too: 'dien bien' finds Điện Biên Đông
    assert len(catalogue.search_products(session, q="dien bien dong").items) == 3
    assert len(catalogue.search_products(session, q="ĐIỆN BIÊN").items) == 3


def test_search_treats_like_wildcards_as_text(session, market):
    assert catalogue.search_products(session, q="%").total == 0
    assert catalogue.search_products(session, q="_").total == 0


def test_filters(session, market):
    tea, rice = market
    assert _names(catalogue.search_products(session, commune_id=rice.commune.id)) == [
        "Gạo Séng Cù"]
    assert _names(catalogue.search_products(session, category="rice")) == ["Gạo Séng Cù"]
    # the producer's expired 5-star certificate counts for nothing; drafts never show
    tea_products = ["Chè Shan Tuyết", "dau tuong", "Đậu đen"]
    assert _names(catalogue.search_products(session, stars=4)) == tea_products
    assert _names(catalogue.search_products(session, stars=3)) == tea_products
    assert catalogue.search_products(session, stars=5).total == 0
    assert catalogue.search_products(session, q="nhap").total == 0
    assert catalogue.search_products(session, q="che", category="rice").total == 0


def test_pagination(session):
    published_shop(session, products=5)
    first = catalogue.search_products(session, per_page=2)
    assert (first.total, first.pages, first.page, len(first.items)) == (5, 3, 1, 2)
    last = catalogue.search_products(session, per_page=2, page=3)
    assert [p.name for p in last.items] == ["Sản phẩm 1"]  # newest first
    assert catalogue.search_products(session, per_page=2, page=99).page == 3
    seen = [p.name for n in (1, 2, 3)
            for p in catalogue.search_products(session, per_page=2, page=n).items]
    assert seen == [f"Sản phẩm {i}" for i in range(5, 0, -1)]


def test_booth_page_content(session, market):
    tea, _ = market
    page = catalogue.booth_page(session, tea.booth.id)
    assert page.title == "Chè Tủa Chùa" and page.commune_name == "Xã Điện Biên Đông"
    assert page.producer_name == tea.producer.name and page.village == "Bản Thử"
    assert page.phone is None
    assert [p.name for p in page.products] == ["Chè Shan Tuyết", "Đậu đen", "dau tuong"]
    by_name = {p.name: p for p in page.products}
    assert by_name["Chè Shan Tuyết"].badge == by_name["dau tuong"].badge  # the producer's
    assert (by_name["dau tuong"].badge.stars, by_name["dau tuong"].badge.certificate_no) == (
        4, "1/QĐ")
    assert by_name["Đậu đen"].image.key and by_name["Đậu đen"].image.height_at(320) == 240
    record_consent(session, tea.officer, tea.producer, "show_phone")
    assert catalogue.booth_page(session, tea.booth.id).phone == tea.producer.phone


def test_first_image_is_the_lowest_position(session):
    shop = make_shop(session)
    product = add_product(session, shop, photo=False)
    second = photo_row(session, product, position=2)
    first = photo_row(session, product, position=1)
    booths.publish_booth(session, shop.officer, shop.booth)
    card = catalogue.booth_page(session, shop.booth.id).products[0]
    assert card.image.key == first.key != second.key
    page = catalogue.product_page(session, product.id)
    assert [i.key for i in page.images] == [first.key, second.key]


def test_withdrawn_consent_hides_the_booth_everywhere(session, market):
    tea, rice = market
    product_id = catalogue.booth_page(session, tea.booth.id).products[0].id
    withdraw_consent(session, tea.officer, tea.producer, "publish_booth")
    assert catalogue.booth_page(session, tea.booth.id) is None
    assert catalogue.product_page(session, product_id) is None
    assert _names(catalogue.search_products(session)) == ["Gạo Séng Cù"]
    home = catalogue.home(session)
    assert [b.title for b in home.recent_booths] == ["Gạo Séng Cù"]
    assert [c.name for c in home.communes] == ["Xã Mường Phăng"]
    assert [c.category.value for c in home.categories] == ["rice"]
    assert catalogue.commune_choices(session) == [(rice.commune.id, "Xã Mường Phăng")]


def test_unpublished_booth_and_hidden_products_are_not_public(session, market):
    tea, _ = market
    hidden = add_product(session, tea, "Ẩn", status="hidden")
    assert catalogue.product_page(session, hidden.id) is None
    booths.unpublish_booth(session, tea.officer, tea.booth)
    assert catalogue.booth_page(session, tea.booth.id) is None


def test_home_counts(session, market):
    home = catalogue.home(session)
    assert [(c.name, c.booths) for c in home.communes] == [("Xã Điện Biên Đông", 1),
                                                          ("Xã Mường Phăng", 1)]
    assert {c.category.value: c.products for c in home.categories} == {
        "tea": 1, "other": 2, "rice": 1}


@pytest.mark.parametrize("products", [1, 24])
def test_booth_page_query_count_does_not_grow(session, products):
    shop = published_shop(session, products=products)
    session.commit()
    session.expire_all()
    with count_queries(session) as statements:
        page = catalogue.booth_page(session, shop.booth.id)
    assert len(page.products) == products
    assert len(statements) <= 6, statements


def test_search_and_product_page_query_counts(session, market):
    tea, _ = market
    session.commit()
    session.expire_all()
    with count_queries(session) as statements:
        result = catalogue.search_products(session, q="che")
        catalogue.product_page(session, result.items[0].id)
    assert len(statements) <= 4, statements


def test_editor_lists_every_product_and_the_certificate_warning(session, market):
    tea, rice = market
    rows = {p.name: p for p in catalogue.editor_products(session, tea.booth.id)}
    assert rows["Chè nháp"].status == ProductStatus.draft
    assert booths.certificate_warning(tea.producer, date.today()) is None
    assert "expired" in booths.certificate_warning(rice.producer, date.today())
    assert rows["Đậu đen"].photos == 1
