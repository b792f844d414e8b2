"""Batches, trace codes, recalls, scan counts, the resolver and EPCIS, without HTTP."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from ocopkit.errors import Invalid, NotFound
from ocopkit.users import Role
from shop import traceability
from shop.models import LotScanDay
from tests.factories import (
    make_booth, make_commune, make_consent, make_producer, make_product, make_user,
)

UTC = timezone.utc


@pytest.fixture
def world(session):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, communes=[commune])
    producer = make_producer(session, commune=commune, name="HTX Chè Tủa Chùa", ocop_stars=4,
                             village="Bản Háng Đề Dê")
    make_consent(session, producer)  # the scan page names the producer only with it
    product = make_product(session, booth=make_booth(session, producer=producer),
                           name="Chè Shan Tuyết")
    return officer, product


def _lot(session, officer, product, code="L2026A1", **kw):
    return traceability.create_lot(session, officer, product, lot_code=code,
                                   produced_on=date(2026, 10, 1), **kw)


def test_lot_gets_a_short_unguessable_trace_code(session, world):
    officer, product = world
    lots = [_lot(session, officer, product, code=f"L{n}") for n in range(20)]
    codes = {lot.trace_code for lot in lots}
    assert len(codes) == 20
    assert all(len(c) == 8 and set(c) <= set(traceability.TRACE_ALPHABET) for c in codes)


@pytest.mark.parametrize("code", ["", "L-1", "Lô1", "A" * 21, "L 1"])
def test_bad_lot_codes_are_refused(session, world, code):
    officer, product = world
    with pytest.raises(Invalid) as error:
        _lot(session, officer, product, code=code)
    assert error.value.field == "lot_code"


def test_lot_code_unique_per_product_but_not_across_products(session, world):
    officer, product = world
    _lot(session, officer, product, code="l1")
    with pytest.raises(Invalid):
        _lot(session, officer, product, code="L1")
    other = make_product(session, booth=product.booth, name="Chè xanh")
    assert _lot(session, officer, other, code="L1").lot_code == "L1"


def test_expiry_before_production_is_refused(session, world):
    officer, product = world
    with pytest.raises(Invalid) as error:
        _lot(session, officer, product, expires_on=date(2026, 9, 1))
    assert error.value.field == "expires_on"


def test_officer_of_another_commune_cannot_touch_the_batches(session, world):
    officer, product = world
    stranger = make_user(session, Role.officer)
    with pytest.raises(NotFound):
        _lot(session, stranger, product)
    lot = _lot(session, officer, product)
    with pytest.raises(NotFound):
        traceability.get_lot(session, stranger, lot.id)
    with pytest.raises(NotFound):
        traceability.withdraw_lot(session, stranger, lot, reason="x")
    assert lot.withdrawn_at is None


def test_timeline_is_ordered_and_future_steps_refused(session, world):
    officer, product = world
    lot = _lot(session, officer, product)
    now = datetime.now(UTC)
    traceability.add_event(session, officer, lot, kind="packed", occurred_at=now - timedelta(days=1))
    traceability.add_event(session, officer, lot, kind="harvested",
                           occurred_at=now - timedelta(days=5), place="Nương chè")
    session.refresh(lot)
    assert [e.kind.value for e in lot.events] == ["harvested", "packed"]
    with pytest.raises(Invalid):
        traceability.add_event(session, officer, lot, kind="sold",
                               occurred_at=now + timedelta(hours=2))


def test_scan_counts_per_day_store_no_personal_data(session, world):
    officer, product = world
    lot = _lot(session, officer, product)
    for day in (date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 2)):
        traceability.record_scan(session, lot.id, day)
    assert traceability.scan_counts(session, lot.id) == [(date(2026, 11, 2), 1),
                                                         (date(2026, 11, 1), 2)]
    columns = {c.key for c in inspect(LotScanDay).columns}
    assert columns == {"lot_id", "day", "scans"}


def test_resolver_statuses(session, world):
    officer, product = world
    traceability.set_gtin(session, officer, product, "4006381333931")
    lot = _lot(session, officer, product)
    assert traceability.resolve_digital_link(session, "04006381333931", "L2026A1").status == 200
    assert traceability.resolve_digital_link(session, "4006381333931", "l2026a1").lot == lot
    unknown_lot = traceability.resolve_digital_link(session, "04006381333931", "NOPE")
    assert (unknown_lot.status, unknown_lot.product) == (303, product)
    assert traceability.resolve_digital_link(session, "09506000134352", "L2026A1").status == 404
    bad = traceability.resolve_digital_link(session, "04006381333932", "L2026A1")
    assert (bad.status, bad.error.field) == (400, "gtin")
    too_long = traceability.resolve_digital_link(session, "04006381333931", "A" * 21)
    assert (too_long.status, too_long.error.field) == (400, "lot_code")
    bare = traceability.resolve_digital_link(session, "04006381333931")
    assert (bare.status, bare.product, bare.lot) == (303, product, None)
    traceability.withdraw_lot(session, officer, lot, reason="Nấm mốc")
    assert traceability.resolve_digital_link(session, "04006381333931", "L2026A1").status == 410


def test_gtin_is_checked_and_unique(session, world):
    officer, product = world
    with pytest.raises(Invalid):
        traceability.set_gtin(session, officer, product, "4006381333932")
    traceability.set_gtin(session, officer, product, "96385074")
    assert product.gtin == "00000096385074"
    other = make_product(session, booth=product.booth)
    with pytest.raises(Invalid):
        traceability.set_gtin(session, officer, other, "96385074")


def test_trace_page_has_what_a_scan_must_show(session, world):
    officer, product = world
    lot = _lot(session, officer, product, expires_on=date(2027, 10, 1), origin="Nương chè cổ thụ")
    traceability.add_event(session, officer, lot, kind="harvested",
                           occurred_at=datetime(2026, 10, 1, 2, tzinfo=UTC), place="Háng Đề Dê")
    session.refresh(lot)
    page = traceability.trace_page(session, lot, date(2026, 11, 28))
    assert (page.product_name, page.producer_name, page.village) == (
        "Chè Shan Tuyết", "HTX Chè Tủa Chùa", "Bản Háng Đề Dê")
    assert page.ocop_stars == 4 and page.lot_code == "L2026A1"
    assert page.expires_on == date(2027, 10, 1) and page.origin == "Nương chè cổ thụ"
    assert [s.kind for s in page.steps] == ["harvested"] and not page.withdrawn


def test_epcis_document_follows_epcis_2(session, world):
    officer, product = world
    traceability.set_gtin(session, officer, product, "4006381333931")
    lot = _lot(session, officer, product, quantity=50, unit="kg")
    traceability.add_event(session, officer, lot, kind="harvested",
                           occurred_at=datetime(2026, 10, 1, 2, 30, tzinfo=UTC))
    traceability.add_event(session, officer, lot, kind="shipped",
                           occurred_at=datetime(2026, 10, 3, 8, tzinfo=UTC), place="Tủa Chùa")
    session.refresh(lot)
    doc = traceability.epcis_document(lot, trace_url="https://x.vn/t/ABC")
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    assert traceability.EPCIS_CONTEXT in doc["@context"]
    events = doc["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["commissioning", "shipping"]
    assert events[0]["eventTime"] == "2026-10-01T02:30:00Z"
    assert events[0]["quantityList"] == [{"epcClass": "https://id.gs1.org/01/04006381333931/10/L2026A1",
                                          "quantity": 50, "uom": "kg"}]
    assert events[1]["ocop:place"] == "Tủa Chùa"


def test_label_leads_to_the_digital_link_with_a_gtin_else_to_the_trace_url(session, world):
    officer, product = world
    lot = _lot(session, officer, product)
    assert traceability.lot_label(lot, "https://ocop.example.vn/").url == (
        f"https://ocop.example.vn/t/{lot.trace_code}")
    traceability.set_gtin(session, officer, product, "4006381333931")
    label = traceability.lot_label(lot, "https://ocop.example.vn")
    assert label.url == "https://ocop.example.vn/01/04006381333931/10/L2026A1"
    assert (label.product, label.lot) == ("Chè Shan Tuyết", "L2026A1")
