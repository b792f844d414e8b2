"""The producer's ledger: balance per channel in one query, payouts (staff only, to a verified
account, never above what is owed, unique reference), and the ledger page."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from ocopkit import create_app
from ocopkit.errors import Invalid, NotAllowed, NotFound
from ocopkit.users import Role
from onboarding.models import ChangeRecord, Producer
from payments import ledger
from payments.models import (
    AccountKind, AccountStatus, Channel, EntryKind, EntryStatus, LedgerEntry, LinkedAccount,
)
from tests.concurrency import second_waits_for_first
from tests.factories import log_in, make_commune, make_producer, make_user

_refs = itertools.count(1)
T0 = datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc)


@dataclass
class World:
    officer: object
    producer: Producer
    account: LinkedAccount        # verified bank account
    pending: LinkedAccount
    other: Producer
    other_account: LinkedAccount  # verified, of the other producer


def _account(session, producer, status=AccountStatus.verified, number="0011001932418",
             kind=AccountKind.bank):
    account = LinkedAccount(producer_id=producer.id, kind=kind, bank_bin="970415",
                            provider="VietinBank", account_number=number,
                            holder_name="GIANG A DE", status=status)
    session.add(account)
    session.flush()
    return account


def _entry(session, producer, kind, channel, amount, status=EntryStatus.completed, *,
           platform="ocopkit", minutes=0, reference=None):
    entry = LedgerEntry(producer_id=producer.id, kind=EntryKind(kind), channel=Channel(channel),
                        platform=platform, status=EntryStatus(status), amount_vnd=amount,
                        occurred_at=T0 + timedelta(minutes=minutes),
                        reference=reference or f"ref-{next(_refs)}")
    session.add(entry)
    session.flush()
    return entry


def _paid_at(gateway, amount, refunded=0) -> tuple[str | None, str | None]:
    """A card payment (and a refund of part of it) really made at the gateway, so a payout
    that re-reads the gateway's refunds finds exactly the seeded ones."""
    if gateway is None:
        return None, None
    intent = gateway.create_payment_intent(amount_vnd=amount, payment_method="pm_card_visa",
                                           confirm=True, idempotency_key=f"k{next(_refs)}")
    refund = refunded and gateway.create_refund(payment_intent=intent.id, amount_vnd=refunded,
                                                idempotency_key=f"k{next(_refs)}")
    return intent.id, refund.id if refund else None


def _seed_sales(session, producer, gateway=None):
    """Worked by hand: card 500 + 200 (fully refunded) + 100 (30 refunded) = 800 sold,
    230 refunded, so 570 collected; VietQR 150 + cash 80 = 230 paid directly; 300 outside;
    100 paid out, so 470 owed. Cancelled rows (999 card, 70 cash) count for nothing.
    With a gateway, the card sales with money left are real payments there."""
    _entry(session, producer, "sale", "card", 500_000, minutes=1,
           reference=_paid_at(gateway, 500_000)[0])
    _entry(session, producer, "sale", "card", 200_000, EntryStatus.refunded, minutes=2)
    _entry(session, producer, "refund", "card", 200_000, minutes=3)
    intent, refund = _paid_at(gateway, 100_000, refunded=30_000)
    _entry(session, producer, "sale", "card", 100_000, minutes=4, reference=intent)
    _entry(session, producer, "refund", "card", 30_000, minutes=5, reference=refund)
    _entry(session, producer, "sale", "card", 999_000, EntryStatus.cancelled, minutes=6)
    _entry(session, producer, "sale", "vietqr", 150_000, minutes=7)
    _entry(session, producer, "sale", "cash", 80_000, minutes=8)
    _entry(session, producer, "sale", "cash", 70_000, EntryStatus.cancelled, minutes=9)
    _entry(session, producer, "sale", "external", 300_000, platform="Shopee", minutes=10)
    _entry(session, producer, "payout", "transfer", 100_000, minutes=11, reference="FT-OLD-1")


def _world(session, gateway=None) -> World:
    commune = make_commune(session)
    officer = make_user(session, Role.officer, communes=[commune])
    producer = make_producer(session, commune=commune, name="Hộ Giàng A Dế")
    other = make_producer(session, commune=commune, name="Hộ Lò Văn Pánh")
    world = World(officer, producer, _account(session, producer),
                  _account(session, producer, AccountStatus.pending, "1234567890"),
                  other, _account(session, other, number="99998888777"))
    _seed_sales(session, producer, gateway)
    _entry(session, other, "sale", "card", 1_000_000)  # never counted for `producer`
    session.commit()
    return world


def _payouts(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(LedgerEntry)
                          .where(LedgerEntry.kind == EntryKind.payout))


# --- balance and entries ------------------------------------------------------------------

def test_balance_counts_each_channel_in_one_query(session, engine):
    w = _world(session)
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        b = ledger.balance(session, w.producer.id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "GROUP BY" in statements[0].upper()
    assert (b.card_sales, b.card_refunds, b.vietqr_sales, b.cash_sales, b.external_sales,
            b.paid_out) == (800_000, 230_000, 150_000, 80_000, 300_000, 100_000)
    assert (b.paid_directly, b.collected, b.owed) == (230_000, 570_000, 470_000)


def test_balance_of_a_producer_without_entries_is_zero(session):
    producer = make_producer(session)
    assert ledger.balance(session, producer.id) == ledger.Balance()
    assert ledger.balance(session, producer.id).owed == 0


def test_entries_are_newest_first_and_paginated(session):
    w = _world(session)
    first = ledger.entries(session, w.producer.id, page=1, per_page=4)
    assert (first.total, first.pages, first.page) == (11, 3, 1)
    assert [e.reference for e in first.items][0] == "FT-OLD-1"
    times = [e.occurred_at for e in first.items]
    assert times == sorted(times, reverse=True)
    last = ledger.entries(session, w.producer.id, page=99, per_page=4)
    assert last.page == 3 and len(last.items) == 3
    assert last.items[-1].amount_vnd == 500_000


# --- payouts ------------------------------------------------------------------------------

def test_officer_records_a_payout_to_a_verified_account(session):
    w = _world(session)
    entry = ledger.record_payout(session, w.officer, w.producer, account_id=w.account.id,
                                 amount_vnd=470_000, reference="  FT25060 1234 ")
    session.commit()
    assert (entry.kind, entry.channel, entry.platform, entry.status) == (
        EntryKind.payout, Channel.transfer, "ocopkit", EntryStatus.completed)
    assert (entry.account_id, entry.recorded_by_id, entry.reference) == (
        w.account.id, w.officer.id, "FT25060 1234")
    assert ledger.balance(session, w.producer.id).owed == 0
    history = session.scalar(select(ChangeRecord).where(ChangeRecord.action == "payout_recorded"))
    assert history.producer_id == w.producer.id
    assert "•••• 2418" in history.detail and "0011001932418" not in history.detail
    assert "470.000 ₫" in history.detail


def test_admin_may_record_a_payout_to_an_ewallet(session):
    w = _world(session)
    wallet = _account(session, w.producer, number="0912000003", kind=AccountKind.ewallet)
    admin = make_user(session, Role.admin)
    ledger.record_payout(session, admin, w.producer, account_id=wallet.id, amount_vnd=1,
                         reference="MOMO-1")
    assert ledger.balance(session, w.producer.id).paid_out == 100_001


def test_payout_above_what_is_owed_is_refused_naming_the_maximum(session):
    w = _world(session)
    with pytest.raises(Invalid) as caught:
        ledger.record_payout(session, w.officer, w.producer, account_id=w.account.id,
                             amount_vnd=470_001, reference="FT-1")
    assert caught.value.field == "amount_vnd"
    assert caught.value.params == {"maximum": "470.000 ₫"}
    assert "470.000 ₫" in str(caught.value)
    session.rollback()
    assert _payouts(session) == 1


@pytest.mark.parametrize("which", ["pending", "disabled", "other_producer", "missing"])
def test_payout_only_to_this_producers_verified_account(session, which):
    w = _world(session)
    account_id = {"pending": w.pending.id, "other_producer": w.other_account.id,
                  "missing": 999_999, "disabled": None}[which]
    if which == "disabled":
        account_id = _account(session, w.producer, AccountStatus.disabled, "5555444433").id
    with pytest.raises(Invalid) as caught:
        ledger.record_payout(session, w.officer, w.producer, account_id=account_id,
                             amount_vnd=1_000, reference="FT-2")
    assert caught.value.field == "account_id"


def test_a_reference_already_recorded_is_refused(session):
    w = _world(session)
    with pytest.raises(Invalid) as caught:
        ledger.record_payout(session, w.officer, w.producer, account_id=w.account.id,
                             amount_vnd=1_000, reference=" FT-OLD-1 ")
    assert caught.value.field == "reference" and "FT-OLD-1" in str(caught.value)


@pytest.mark.parametrize("field, amount, reference", [
    ("amount_vnd", 0, "FT-3"), ("amount_vnd", -5, "FT-3"), ("amount_vnd", 10.5, "FT-3"),
    ("amount_vnd", True, "FT-3"), ("reference", 1_000, "   "), ("reference", 1_000, "X" * 81),
])
def test_bad_amount_or_reference_is_refused(session, field, amount, reference):
    w = _world(session)
    with pytest.raises(Invalid) as caught:
        ledger.record_payout(session, w.officer, w.producer, account_id=w.account.id,
                             amount_vnd=amount, reference=reference)
    assert caught.value.field == field


@pytest.mark.parametrize("who", ["producer", "other_commune_officer", "anonymous"])
def test_only_staff_of_the_commune_record_payouts(session, who):
    from flask_login import AnonymousUserMixin

    w = _world(session)
    actor = {"producer": lambda: make_user(session, Role.producer, producer=w.producer),
             "other_commune_officer": lambda: make_user(session, Role.officer),
             "anonymous": AnonymousUserMixin}[who]()
    with pytest.raises(NotFound):
        ledger.record_payout(session, actor, w.producer, account_id=w.account.id,
                             amount_vnd=1_000, reference="FT-4")


def test_two_payouts_at_once_never_exceed_what_is_owed(session, engine):
    """The second waits (PostgreSQL: the producer row lock; SQLite: the write lock of its
    insert), then sees the first payout and is refused."""
    w = _world(session)

    def pay(reference):
        return lambda db: ledger.record_payout(
            db, w.officer, db.get(Producer, w.producer.id), account_id=w.account.id,
            amount_vnd=400_000, reference=reference)
    error = second_waits_for_first(engine, pay("FT-A"), pay("FT-B"), Invalid)
    assert error.field == "amount_vnd"
    assert ledger.balance(session, w.producer.id).owed == 70_000


# --- pages --------------------------------------------------------------------------------

def _figures(html: str) -> dict[str, str]:
    import re
    return dict(re.findall(r'<dd id="([a-z-]+)">(?:<strong>)?([^<]*)<', html))


def test_producer_sees_its_own_figures_but_no_payout_form(client, session, login):
    w = _world(session)
    own = make_user(session, Role.producer, producer=w.producer)
    session.commit()
    login(own.username)
    html = client.get(f"/payments/producers/{w.producer.id}/ledger").get_data(as_text=True)
    assert _figures(html) == {"paid-directly": "230.000 ₫", "collected": "570.000 ₫",
                              "paid-out": "100.000 ₫", "owed": "470.000 ₫",
                              "external": "300.000 ₫"}
    assert "FT-OLD-1" in html and "Shopee" in html and "<script" not in html
    assert "/payouts" not in html
    assert client.get(f"/payments/producers/{w.other.id}/ledger").status_code == 404
    home = client.get("/").get_data(as_text=True)  # the producer's menu leads to its money
    assert f'href="/payments/producers/{w.producer.id}/ledger"' in home


def test_ledger_page_is_paginated(client, session, login, app):
    w = _world(session)
    app.config["LEDGER_PAGE_SIZE"] = 4
    login(w.officer.username)
    url = f"/payments/producers/{w.producer.id}/ledger"
    first = client.get(url).get_data(as_text=True)
    assert "FT-OLD-1" in first and f"{url}?page=2" in first
    last = client.get(f"{url}?page=3").get_data(as_text=True)
    assert "500.000 ₫" in last and "FT-OLD-1" not in last


def test_strangers_get_404(client, session, login):
    w = _world(session)
    stranger = make_user(session, Role.officer)
    other_producer = make_user(session, Role.producer, producer=w.other)
    session.commit()
    url = f"/payments/producers/{w.producer.id}/ledger"
    assert client.get(url).status_code == 302  # to the login page
    for user in (stranger, other_producer):
        login(user.username)
        assert client.get(url).status_code == 404
        assert client.post(f"/payments/producers/{w.producer.id}/payouts", data={
            "account_id": w.account.id, "amount_vnd": "1000", "reference": "FT-5"},
        ).status_code == 404
        assert client.post("/logout").status_code == 302
        assert client.get(url).status_code == 302  # logged out: the next login really runs
    assert _payouts(session) == 1


def test_producer_cannot_record_a_payout(client, session, login):
    w = _world(session)
    own = make_user(session, Role.producer, producer=w.producer)
    session.commit()
    login(own.username)
    response = client.post(f"/payments/producers/{w.producer.id}/payouts", data={
        "account_id": w.account.id, "amount_vnd": "1.000", "reference": "FT-6"})
    assert response.status_code == 404
    assert _payouts(session) == 1


@pytest.fixture
def app_at_gateway(app, gateway, localstripe):
    """Payouts re-read the refunds of the producer's card sales at this gateway first."""
    app.config["GATEWAY_URL"] = localstripe.url
    return app


def test_officer_records_a_payout_through_the_form(client, session, login, app_at_gateway,
                                                  gateway):
    w = _world(session, gateway)
    login(w.officer.username)
    url = f"/payments/producers/{w.producer.id}/ledger"
    form = client.get(url).get_data(as_text=True)
    assert "•••• 2418" in form and "0011001932418" not in form
    assert "•••• 7777" not in form and "•••• 7890" not in form  # other's / pending account
    response = client.post(f"/payments/producers/{w.producer.id}/payouts", data={
        "account_id": w.account.id, "amount_vnd": "400.000", "reference": "FT2506 99"})
    assert response.status_code == 302 and response.location.endswith(url)
    html = client.get(url).get_data(as_text=True)
    figures = _figures(html)
    assert (figures["paid-out"], figures["owed"]) == ("500.000 ₫", "70.000 ₫")
    assert "FT2506 99" in html and "•••• 2418" in html
    assert _payouts(session) == 2


@pytest.mark.parametrize("data, error", [
    ({"amount_vnd": "470.001", "reference": "FT-7"}, "470.000 ₫"),
    ({"amount_vnd": "mười nghìn", "reference": "FT-7"}, None),
    ({"amount_vnd": "0", "reference": "FT-7"}, None),
    ({"amount_vnd": "1.000", "reference": ""}, None),
    ({"amount_vnd": "1.000", "reference": "FT-OLD-1"}, "FT-OLD-1"),
    ({"amount_vnd": "1.000", "reference": "FT-7", "account": "pending"}, None),
    ({"amount_vnd": "1.000", "reference": "FT-7", "account": "other"}, None),
])
def test_payout_form_errors_give_422_and_write_nothing(client, session, login, data, error,
                                                      app_at_gateway, gateway):
    w = _world(session, gateway)
    login(w.officer.username)
    data = dict(data)  # the parameter is shared by every run of the test
    account = {"pending": w.pending, "other": w.other_account}.get(data.pop("account", None),
                                                                   w.account)
    response = client.post(f"/payments/producers/{w.producer.id}/payouts",
                           data={"account_id": account.id, **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error"' in html
    if error:
        assert error in html.split('class="error"', 1)[1].split("</p>", 1)[0]
    assert _figures(html)["owed"] == "470.000 ₫"
    assert _payouts(session) == 1


def test_payout_needs_the_csrf_token(session, database_url, gateway, localstripe):
    w = _world(session, gateway)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": True, "GATEWAY_URL": localstripe.url})
    client = app.test_client()
    import re
    log_in(client, session, w.officer.username, csrf=True)
    url = f"/payments/producers/{w.producer.id}/payouts"
    data = {"account_id": w.account.id, "amount_vnd": "1.000", "reference": "FT-8"}
    assert client.post(url, data=data).status_code == 400
    assert _payouts(session) == 1
    page = client.get(f"/payments/producers/{w.producer.id}/ledger").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post(url, data={**data, "csrf_token": token}).status_code == 302
    assert _payouts(session) == 2


def test_producer_and_accounts_pages_link_to_the_ledger(client, session, login):
    w = _world(session)
    login(w.officer.username)
    link = f"/payments/producers/{w.producer.id}/ledger"
    assert link in client.get(f"/producers/{w.producer.id}").get_data(as_text=True)
    assert link in client.get(f"/payments/producers/{w.producer.id}/accounts").get_data(
        as_text=True)


# --- moving a sale to the right producer (an admin's recorded correction) ------------------

def _history(session, producer):
    session.expire_all()
    return [(r.action, r.detail) for r in session.scalars(
        select(ChangeRecord).where(ChangeRecord.producer_id == producer.id)
        .order_by(ChangeRecord.id)).unique()]


def test_admin_moves_an_imported_sale_and_both_histories_record_it(session):
    world = _world(session)
    admin = make_user(session, Role.admin)
    sale = _entry(session, world.producer, "sale", "external", 90_000, platform="Shopee",
                  reference="SP-77")
    ledger.move_sale(session, admin, sale, to_producer=world.other,
                     reason="  Nhập nhầm   mã hộ ")
    session.commit()
    session.expire_all()
    assert session.get(LedgerEntry, sale.id).producer_id == world.other.id
    assert ledger.balance(session, world.other.id).external_sales == 90_000
    assert ledger.balance(session, world.producer.id).external_sales == 300_000
    out = _history(session, world.producer)[-1]
    into = _history(session, world.other)[-1]
    assert out[0] == "sale_moved_out" and into[0] == "sale_moved_in"
    for _, detail in (out, into):
        assert "Shopee SP-77" in detail and "90.000" in detail and "Nhập nhầm mã hộ" in detail
    assert world.other.code in out[1] and world.producer.code in into[1]


@pytest.mark.parametrize("who", ["officer", "producer"])
def test_only_admins_move_sales(session, who):
    world = _world(session)
    actor = (world.officer if who == "officer"
             else make_user(session, Role.producer, producer=world.producer))
    sale = _entry(session, world.producer, "sale", "external", 90_000, platform="Shopee")
    session.commit()
    with pytest.raises((NotAllowed, NotFound)):
        ledger.move_sale(session, actor, sale, to_producer=world.other, reason="nhầm")
    session.rollback()
    session.expire_all()
    assert session.get(LedgerEntry, sale.id).producer_id == world.producer.id


@pytest.mark.parametrize("case", ["no_reason", "same_producer", "ocopkit_sale", "payout"])
def test_a_move_needs_a_reason_another_producer_and_an_outside_sale(session, case):
    world = _world(session)
    admin = make_user(session, Role.admin)
    entry = (_entry(session, world.producer, "sale", "vietqr", 50_000) if case == "ocopkit_sale"
             else _entry(session, world.producer, "payout", "transfer", 1_000)
             if case == "payout"
             else _entry(session, world.producer, "sale", "external", 90_000, platform="Lazada"))
    target = world.producer if case == "same_producer" else world.other
    session.commit()
    with pytest.raises(Invalid):
        ledger.move_sale(session, admin, entry, to_producer=target,
                         reason="" if case == "no_reason" else "nhầm")
    session.rollback()
    session.expire_all()
    assert session.get(LedgerEntry, entry.id).producer_id == world.producer.id


def test_cli_moves_a_sale(runner, session):
    from ocopkit.cli import cli

    world = _world(session)
    _entry(session, world.producer, "sale", "external", 90_000, platform="Shopee",
           reference="SP-78")
    session.commit()
    args = ["sales", "move", "--platform", "Shopee", "--reference", "SP-78",
            "--to", world.other.code]
    refused = runner.invoke(cli, args)
    assert refused.exit_code != 0
    result = runner.invoke(cli, args + ["--reason", "Sổ ghi nhầm hộ"])
    assert result.exit_code == 0, result.output
    assert world.other.code in result.output
    session.expire_all()
    moved = session.scalar(select(LedgerEntry).where(LedgerEntry.reference == "SP-78"))
    assert moved.producer_id == world.other.id
    assert _history(session, world.other)[-1][0] == "sale_moved_in"
    unknown = runner.invoke(cli, ["sales", "move", "--platform", "Shopee", "--reference",
                                  "NOPE", "--to", world.other.code, "--reason", "x"])
    assert unknown.exit_code == 1
