"""Two staff confirm one VietQR transfer at the same instant, from separate processes: one
sale in the ledger, the second person is told it is already confirmed, nobody gets a 500.

Once through the domain function with the view's error handling, once through the HTTP
route served by gunicorn workers."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from ocopkit.users import Role
from onboarding.models import ConsentPurpose
from onboarding.producers import record_consent
from payments.accounts import AccountDetails, link_account, verify_account
from payments.models import AccountKind, BankTransfer, Channel, EntryKind, LedgerEntry
from payments.transfers import expect_transfers
from shop.models import BoothStatus
from shop.orders import place_order
from tests.concurrency import run_together
from tests.factories import PASSWORD, PIN, make_booth, make_commune, make_producer, make_product
from tests.factories import totp_code
from tests.factories import make_user
from tests.shop.test_stock_race import gunicorn  # noqa: F401  (the fixture)

BUYER = {"buyer_name": "Trần Thị Bình", "buyer_phone": "0987654321",
         "delivery_address": "5 Trần Phú, Đà Lạt"}
CONFIRMED = "Transfer confirmed"
ALREADY = "already confirmed"


@pytest.fixture
def claimed_order(session):
    """A VietQR order of 240.000 ₫ and two staff who may confirm it: the producer's own
    login and an officer of its commune."""
    commune = make_commune(session)
    producer = make_producer(session, commune=commune)
    booth = make_booth(session, producer=producer, status=BoothStatus.published)
    product = make_product(session, booth=booth, price_vnd=120000, stock=10)
    officer = make_user(session, Role.officer, communes=[commune])
    owner = make_user(session, Role.producer, producer=producer)
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    account = link_account(session, officer, producer, AccountDetails(
        AccountKind.bank, "0011001932418", "LO VAN PANH", bank_bin="970415"))
    verify_account(session, officer, account, "in_person")
    [order] = place_order(session, lines=[(product.id, 2)], payment_method="vietqr", **BUYER)
    [transfer] = expect_transfers(session, [order])
    session.commit()
    return {"order": order, "transfer": transfer, "staff": [officer, owner]}


def confirm_in_process(database_url: str, transfer_id: int, user_id: int) -> str:
    """What the confirm view does, in a process of its own: the message the person sees."""
    from sqlalchemy.orm import Session

    from ocopkit.db import make_engine, transaction
    from ocopkit.errors import DomainError
    from ocopkit.models import load_all
    from ocopkit.users import User
    from payments.models import BankTransfer, ConfirmedHow
    from payments.transfers import confirm_transfer

    load_all()
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            actor = session.get(User, user_id)
            transfer = session.get(BankTransfer, transfer_id)
            try:
                with transaction(session):
                    confirm_transfer(session, actor, transfer, how=ConfirmedHow.officer)
            except DomainError as error:
                return error.message
            return CONFIRMED
    except Exception as error:  # what would be a 500: reported so the test shows the cause
        return f"error: {error!r}"
    finally:
        engine.dispose()


def _sales(session, order):
    session.expire_all()
    return session.scalars(select(LedgerEntry).where(
        LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.sale)).all()


def _assert_one_sale(session, order, outcomes):
    assert sorted(outcomes) == sorted([CONFIRMED, "This transfer is already confirmed."]), \
        outcomes
    [sale] = _sales(session, order)
    assert (sale.channel, sale.amount_vnd) == (Channel.vietqr, 240000)
    assert session.scalar(select(BankTransfer.status)).value == "confirmed"


def test_two_staff_confirming_at_once_record_one_sale(session, database_url, claimed_order):
    transfer_id = claimed_order["transfer"].id
    outcomes = run_together(confirm_in_process, [
        (database_url, transfer_id, user.id) for user in claimed_order["staff"]])
    _assert_one_sale(session, claimed_order["order"], outcomes)


def post_confirm(base: str, cookies: dict, order_id: int) -> tuple[int, str]:
    """One person presses "confirm" on the order page; returns what they get back."""
    response = requests.post(f"{base}/manage/orders/{order_id}/confirm-transfer?lang=en",
                             cookies=cookies, allow_redirects=False, timeout=60)
    if response.status_code != 302:
        return response.status_code, response.text[:300]
    page = requests.get(base + response.headers["Location"], cookies={**cookies, **response.cookies.get_dict()},
                        params={"lang": "en"}, timeout=60)
    return page.status_code, page.text


def _login(base: str, session, user) -> dict:
    """Through the served forms: the password or PIN, then the second factor when owed."""
    http = requests.Session()
    secret = PIN if user.role == Role.producer else PASSWORD
    response = http.post(f"{base}/login", allow_redirects=False, timeout=30,
                         data={"username": user.username, "password": secret})
    assert response.status_code == 302, response.text[:500]
    if response.headers["Location"].endswith("/login/code"):
        response = http.post(f"{base}/login/code", allow_redirects=False, timeout=30,
                             data={"code": totp_code(session, user.username)})
        assert response.status_code == 302, response.text[:500]
    return http.cookies.get_dict()


def test_two_staff_confirming_through_the_site_at_once(session, claimed_order, gunicorn):  # noqa: F811
    order = claimed_order["order"]
    cookies = [_login(gunicorn, session, user) for user in claimed_order["staff"]]
    replies = run_together(post_confirm, [(gunicorn, c, order.id) for c in cookies])
    assert [status for status, _ in replies] == [200, 200], replies
    seen = sorted("confirmed-ok" if CONFIRMED in text else "already" if ALREADY in text
                  else text[:300] for _, text in replies)
    assert seen == ["already", "confirmed-ok"]
    _assert_one_sale(session, order, [CONFIRMED, "This transfer is already confirmed."])
