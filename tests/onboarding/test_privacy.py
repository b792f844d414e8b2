"""A household's own rights (issue 11): it withdraws its consents itself, downloads what is
held about it, and an administrator erases it while every report figure stays the same;
buyers' details are purged a set time after delivery; the privacy notice says so."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import String, Text, select, text

from ocopkit import create_app
from ocopkit.cli import cli
from ocopkit.db import Base
from ocopkit.users import Role
from onboarding import reporting
from onboarding.models import ChangeRecord, Consent, ConsentPurpose, Erasure, Producer
from onboarding.producers import give_login, record_consent, record_training
from payments.accounts import AccountDetails, link_account, verify_account
from payments.models import AccountKind, Channel, EntryKind, EntryStatus, LedgerEntry
from shop import booths, traceability
from shop.booths import ProductData
from shop.models import Order, OrderStatus
from shop.orders import place_order, purge_buyer_data
from tests.factories import PASSWORD, PIN, make_user
from tests.shop.booth_data import jpeg, make_shop

NAME, REP, PHONE = "Hộ Giàng A Dế", "Giàng A Dế", "0912345678"
VILLAGE, OWN, ACCOUNT = "Bản Tả Phìn", "Ntxawg Zaj Dej", "0011001932418"
CHECKOUT = {"buyer_name": "Nguyễn Thị Hoa", "buyer_phone": "0987654321",
            "delivery_address": "12 Hàng Bài, Hà Nội", "note": "Gọi Giàng A Dế trước",
            "payment_method": "cash"}


@pytest.fixture
def app(engine, database_url, tmp_path):
    return create_app({"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
                       "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                       "MEDIA_ROOT": str(tmp_path / "media")})


@pytest.fixture
def household(session, app):
    """A published Hmong household with photos, a batch, a verified account, a training,
    a sale in the ledger and an order; its own login."""
    media = app.config["MEDIA_ROOT"]
    shop = make_shop(session, name=NAME, representative=REP, phone=PHONE, village=VILLAGE,
                     name_own_language=OWN, ocop_stars=4, ocop_certified_on=date(2025, 1, 10),
                     title=f"Chè nhà {REP}")
    shop.booth.story_own_language = "Peb cov tshuaj yej"
    product = booths.create_product(session, shop.officer, shop.booth, ProductData(
        name="Chè Shan Tuyết cổ thụ", unit="gói", price_vnd=120000, stock=10, category="tea",
        status="published", description=f"Chè của {REP} ở {VILLAGE}."))
    booths.add_product_photo(session, shop.officer, product, jpeg(800, 600), media)
    booths.set_cover_photo(session, shop.officer, shop.booth, jpeg(900, 500), media)
    booths.publish_booth(session, shop.officer, shop.booth)
    record_consent(session, shop.officer, shop.producer, ConsentPurpose.link_payment_account)
    account = link_account(session, shop.officer, shop.producer, AccountDetails(
        AccountKind.bank, ACCOUNT, "GIANG A DE", bank_bin="970415"))
    verify_account(session, shop.officer, account, "in_person")
    record_training(session, shop.officer, shop.producer, held_on=date(2026, 3, 1),
                    topic="Bán hàng trên mạng", trainer="Sở Công Thương")
    lot = traceability.create_lot(session, shop.officer, product, lot_code="L1",
                                  produced_on=date(2026, 10, 1), origin=VILLAGE)
    traceability.add_event(session, shop.officer, lot, kind="harvested", place=VILLAGE,
                           occurred_at=datetime(2026, 10, 1, 1, tzinfo=timezone.utc))
    session.add(LedgerEntry(producer_id=shop.producer.id, kind=EntryKind.sale,
                            channel=Channel.vietqr, platform="ocopkit",
                            status=EntryStatus.completed, amount_vnd=150_000,
                            occurred_at=datetime.now(timezone.utc) - timedelta(days=3),
                            reference="R-1"))
    [order] = place_order(session, lines=[(product.id, 2)], **CHECKOUT)
    login = give_login(session, shop.officer, shop.producer, password=PIN)
    session.commit()
    shop.product, shop.order, shop.login, shop.lot = product, order, login, lot
    return shop


# --- withdrawing a consent itself ---------------------------------------------------------

def test_the_household_withdraws_a_consent_itself(client, session, household, login):
    login(household.login.username)
    page = client.get(f"/producers/{household.producer.id}/privacy")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert "Rút lại: Mở gian hàng" in html and "<script" not in html
    booth_url = f"/booths/{household.booth.id}-{household.booth.slug}"
    assert client.get(booth_url).status_code == 200
    response = client.post(f"/producers/{household.producer.id}/privacy/withdraw",
                           data={"purpose": "publish_booth"}, follow_redirects=True)
    assert "Đã rút lại sự đồng ý." in response.get_data(as_text=True)
    consent = session.scalar(select(Consent).where(
        Consent.purpose == ConsentPurpose.publish_booth).execution_options(populate_existing=True))
    assert consent.withdrawn_at is not None and consent.withdrawn_by_id == household.login.id
    assert client.get(booth_url).status_code == 404


def test_another_household_cannot_withdraw_or_read(client, session, household, login):
    other = make_shop(session)
    give_login(session, other.officer, other.producer, password=PIN, username="khac")
    session.commit()
    login("khac")
    pid = household.producer.id
    assert client.get(f"/producers/{pid}/privacy").status_code == 404
    assert client.get(f"/producers/{pid}/data.json").status_code == 404
    client.post(f"/producers/{pid}/privacy/withdraw", data={"purpose": "publish_booth"})
    assert session.scalar(select(Consent.withdrawn_at).where(
        Consent.producer_id == pid, Consent.purpose == ConsentPurpose.publish_booth)) is None


# --- downloading its data -----------------------------------------------------------------------

def test_the_household_downloads_everything_held_about_it(client, household, login):
    login(household.login.username)
    response = client.get(f"/producers/{household.producer.id}/data.json")
    assert response.status_code == 200 and "attachment" in response.headers[
        "Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["producer"]["name"] == NAME and data["producer"]["phone"] == PHONE
    assert data["producer"]["village"] == VILLAGE and data["producer"]["ethnic_group"] == "Thái"
    assert {c["purpose"] for c in data["consents"]} == {"publish_booth", "link_payment_account"}
    assert all(p["started_at"] for p in data["consent_periods"])
    assert data["trainings"][0]["topic"] == "Bán hàng trên mạng"
    assert data["booth"]["status"] == "published" and data["products"][0]["photos"] == 1
    assert data["accounts"][0]["account_number"].endswith("2418")
    assert ACCOUNT not in response.get_data(as_text=True)
    assert [e["amount_vnd"] for e in data["ledger"]] == [150_000]
    assert data["orders"][0]["total_vnd"] == 240_000 and "buyer_name" not in data["orders"][0]
    assert any(h["action"] == "consent_given" for h in data["history"])

    page = client.get(f"/producers/{household.producer.id}/data").get_data(as_text=True)
    for shown in (NAME, VILLAGE, "Bán hàng trên mạng", "150000", "Mọi thông tin"):
        assert shown in page, shown


# --- erasure ------------------------------------------------------------------------------------

def _every_string(engine) -> list[str]:
    values = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c.name for c in table.columns if isinstance(c.type, (String, Text))]
            if not columns:
                continue
            for row in conn.execute(select(*(table.c[c] for c in columns))):
                values += [v for v in row if v]
    return values


def _report(client) -> dict:
    return client.get("/reports/adoption.json").get_json()


def test_admin_erases_a_household_and_every_report_figure_stays(client, session, engine, app,
                                                                household, login):
    media = app.config["MEDIA_ROOT"]
    assert len(os.listdir(media)) >= 4  # product photo + cover, two renditions each
    admin = make_user(session, Role.admin)
    session.commit()
    login(admin.username)
    today = reporting.local_today()
    before = _report(client)
    assert before["indicators"][0]["numerator"] == 1
    trend_before = reporting.trend(session, months=2, as_of=today)
    username = household.login.username

    response = client.post(f"/producers/{household.producer.id}/erase",
                           data={"reason": f"Hộ {REP} yêu cầu xoá ngày 2/12", "confirmed": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)

    assert _report(client) == before
    session.expire_all()
    assert reporting.trend(session, months=2, as_of=today) == trend_before
    strings = "\n".join(_every_string(engine))
    for secret in (NAME, REP, PHONE, VILLAGE, OWN, ACCOUNT, "Peb cov", "GIANG A DE",
                   username):
        assert secret not in strings, secret
    assert os.listdir(media) == []
    erasure = session.scalar(select(Erasure))
    assert erasure.erased_by_id == admin.id and erasure.photos_deleted == 2
    assert REP not in erasure.reason and "yêu cầu xoá" in erasure.reason
    assert session.scalar(select(ChangeRecord.action).order_by(ChangeRecord.id.desc())
                          .limit(1)) == "erased"
    # the books stay: ledger and order amounts
    assert session.scalar(select(LedgerEntry.amount_vnd)) == 150_000
    assert session.scalar(select(Order.total_vnd)) == 240_000
    # nothing about it is public any more, and its login no longer works
    assert client.get(f"/booths/{household.booth.id}").status_code == 404
    scan = client.get(f"/t/{household.lot.trace_code}").get_data(as_text=True)
    assert "Chè Shan Tuyết" in scan and "[đã xoá]" not in scan
    client.post("/logout")
    assert client.post("/login", data={"username": PHONE, "password": PASSWORD}).status_code != 302


def test_only_an_admin_erases_and_a_reason_is_required(client, session, household, login):
    login(household.officer.username)
    url = f"/producers/{household.producer.id}/erase"
    assert client.post(url, data={"reason": "x", "confirmed": "y"}).status_code in (403, 404)
    admin = make_user(session, Role.admin)
    session.commit()
    client.post("/logout")
    login(admin.username)
    assert client.post(url, data={"reason": "", "confirmed": "y"}).status_code == 422
    assert session.scalar(select(Erasure.id)) is None


def test_erasure_from_the_command_line(runner, session, household, app):
    result = runner.invoke(cli, ["privacy", "erase", household.producer.code,
                                "--reason", "household asked"])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(Erasure.reason)) == "household asked"


# --- buyers' details -----------------------------------------------------------------------------

def _age(session, order, status, days):
    session.execute(text("UPDATE shop_order SET status = :s, updated_at = :at WHERE id = :id"),
                    {"s": status.value, "at": datetime.now(timezone.utc) - timedelta(days=days),
                     "id": order.id})
    session.commit()


def test_buyers_details_are_purged_after_the_configured_days(session, household, runner):
    second = place_order(session, lines=[(household.product.id, 1)], **CHECKOUT)[0]
    third = place_order(session, lines=[(household.product.id, 1)], **CHECKOUT)[0]
    session.commit()
    _age(session, household.order, OrderStatus.delivered, 200)
    _age(session, second, OrderStatus.delivered, 10)
    _age(session, third, OrderStatus.placed, 400)  # not delivered yet: still needed
    result = runner.invoke(cli, ["privacy", "purge"])
    assert result.exit_code == 0, result.output
    rows = {o.id: o for o in session.scalars(select(Order).execution_options(
        populate_existing=True))}
    purged = rows[household.order.id]
    assert (purged.buyer_name, purged.buyer_phone, purged.delivery_address, purged.note) == (
        "[đã xoá]", "", "", "")
    assert purged.total_vnd == 240_000 and purged.status == OrderStatus.delivered
    assert rows[second.id].buyer_phone == "0987654321"
    assert rows[third.id].buyer_phone == "0987654321"
    assert purge_buyer_data(session, days=5) == 1  # the 10-day one; the first stays purged


def test_purge_days_come_from_the_config(engine, database_url, session, household):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x",
                      "BUYER_DATA_DAYS": 5})
    _age(session, household.order, OrderStatus.delivered, 10)
    result = app.test_cli_runner().invoke(cli, ["privacy", "purge"])
    assert result.exit_code == 0 and "1" in result.output
    assert session.scalar(select(Order.buyer_phone).execution_options(
        populate_existing=True)) == ""


# --- the notice ------------------------------------------------------------------------------------

def test_privacy_notice_says_what_why_and_how_long(client):
    html = client.get("/privacy").get_data(as_text=True)
    assert '<html lang="vi">' in html and "180 ngày" in html and "Nghị định 13/2023" in html
    english = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "180 days" in english and "<script" not in english
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)


def test_erasing_needs_the_admins_password_typed_again(client, session, household, login):
    admin = make_user(session, Role.admin)
    session.commit()
    login(admin.username)
    with client.session_transaction() as cookie:
        cookie["reauth_at"] -= 6 * 60
    response = client.post(f"/producers/{household.producer.id}/erase",
                           data={"reason": "household asked", "confirmed": "y"})
    assert response.headers["Location"].startswith("/reauth")
    assert session.scalar(select(Erasure.id)) is None
    session.expire_all()
    assert session.get(Producer, household.producer.id).name == NAME
