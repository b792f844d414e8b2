"""Refunds of card payments against a real localstripe: serialised across the gateway call
(five at once from five processes refund once), a lost answer found again, refunds made at
the gateway recorded once (signed events, reconcile), and payouts that never include
refunded money."""
from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ocopkit.access import SYSTEM
from ocopkit.db import make_engine, transaction
from ocopkit.errors import Invalid, NotFound
from ocopkit.users import Role
from payments import refunds, transactions
from payments.devgateway import free_port
from payments.gateway import GatewayClient
from payments.signatures import sign
from payments.models import (
    EntryKind, EntryStatus, LedgerEntry, RefundReservation, ReservationStatus,
)
from shop.models import Order, PaymentMethod
from tests.concurrency import run_together
from tests.factories import make_product, make_user

PAID = 100_000


def make_paid_order(session, gateway, total=PAID) -> Order:
    product = make_product(session)
    order = Order(reference=f"R{product.id:07d}", booth_id=product.booth_id,
                  producer_id=product.booth.producer_id, buyer_name="Chị Hoa",
                  buyer_phone="0912345678", delivery_address="Hà Nội",
                  payment_method=PaymentMethod.card, total_vnd=total)
    session.add(order)
    session.flush()
    transactions.start_card_payment(session, gateway, order, payment_method="pm_card_visa")
    session.commit()
    return order


def ledger_refunds(engine, order_id) -> list[int]:
    with Session(engine) as fresh:
        return sorted(fresh.scalars(select(LedgerEntry.amount_vnd).where(
            LedgerEntry.order_id == order_id, LedgerEntry.kind == EntryKind.refund)))


def gateway_refunds(gateway, intent_id) -> list[int]:
    return sorted(r.amount for r in gateway.list_refunds(payment_intent=intent_id)
                  if r.status != "failed")


def refund(session, client, actor, order, amount_vnd):
    """What the order page's refund does: reserve, then call the gateway and settle, each
    committed."""
    with transaction(session):
        reservation = refunds.reserve_refund(session, actor, order, amount_vnd=amount_vnd)
    with transaction(session):
        return refunds.complete_refund(session, client, actor, order, reservation)


def refund_in_process(database_url: str, gateway_url: str, order_id: int,
                      amount_vnd: int) -> str:
    """One producer's click on "refund", as one gunicorn worker would run it."""
    from ocopkit.models import load_all

    load_all()
    client = GatewayClient(gateway_url, "sk_test_ocopkit")
    with Session(make_engine(database_url), expire_on_commit=False) as session:
        order = session.get(Order, order_id)
        try:
            refund(session, client, SYSTEM, order, amount_vnd)
        except Invalid:
            return "refused"
        except Exception as error:  # what a worker would answer with a 500
            return type(error).__name__
        return "refunded"


def test_five_simultaneous_full_refunds_refund_once(session, gateway, engine, database_url,
                                                    localstripe):
    order = make_paid_order(session, gateway)
    sale = transactions.card_sale(session, order.id)
    outcomes = run_together(refund_in_process,
                            [(database_url, localstripe.url, order.id, PAID)] * 5)
    at_gateway = gateway_refunds(gateway, sale.reference)
    assert sum(at_gateway) <= PAID
    assert ledger_refunds(engine, order.id) == at_gateway == [PAID]
    assert sorted(outcomes) == ["refunded"] + ["refused"] * 4


def test_refunds_never_exceed_what_was_paid(session, gateway):
    order = make_paid_order(session, gateway, total=200000)
    with pytest.raises(Invalid) as error:
        refund(session, gateway, SYSTEM, order, 200001)
    assert error.value.field == "amount_vnd"
    assert refund(session, gateway, SYSTEM, order, 50000).status == ReservationStatus.completed
    assert transactions.order_paid_vnd(session, order.id) == 150000
    with pytest.raises(Invalid):
        refund(session, gateway, SYSTEM, order, 150001)
    refund(session, gateway, SYSTEM, order, 150000)
    assert transactions.order_paid_vnd(session, order.id) == 0
    sale = transactions.card_sale(session, order.id)
    session.refresh(sale)
    assert sale.status == EntryStatus.refunded


def test_other_communes_officer_cannot_refund(session, gateway):
    order = make_paid_order(session, gateway)
    with pytest.raises(NotFound):
        refund(session, gateway, make_user(session, Role.officer), order, 1000)
    assert transactions.order_paid_vnd(session, order.id) == PAID
    assert session.scalar(select(func.count()).select_from(RefundReservation)) == 0


class AnswerDroppingProxy:
    """Forwards each request to the gateway, waits for its answer, then hangs up without
    passing it on: the refund is made, ocopkit never hears so."""

    def __init__(self, target_url: str):
        self.target = ("127.0.0.1", int(target_url.rsplit(":", 1)[1]))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                with socket.create_connection(self.target) as upstream:
                    upstream.sendall(head + b"\r\n\r\n" + body)
                    upstream.recv(65536)  # the gateway has answered: drop it

    def close(self):
        self.server.close()


@pytest.fixture
def lost_answers(localstripe):
    proxy = AnswerDroppingProxy(localstripe.url)
    yield GatewayClient(proxy.url, "sk_test_ocopkit", retries=0)
    proxy.close()


@pytest.fixture
def producer_page(app, client, session, login, localstripe):
    """The producer's order page, logged in, the app talking to localstripe."""
    app.config.update(GATEWAY_URL=localstripe.url, WEBHOOK_SECRET=SECRET, CLI_LANGUAGE="en")
    client.set_cookie("lang", "en")

    def page(order):
        if not getattr(page, "user", None):
            from onboarding.models import Producer
            page.user = make_user(session, Role.producer,
                                  producer=session.get(Producer, order.producer_id))
            session.commit()
            login(page.user.username)
        return client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    return page


SECRET = "whsec_ocopkit_test"


def test_a_refund_whose_answer_was_lost_is_recorded_once_and_never_refunded_twice(
        session, gateway, engine, lost_answers, producer_page, runner):
    from ocopkit.cli import cli

    order = make_paid_order(session, gateway)
    sale = transactions.card_sale(session, order.id)
    held = refund(session, lost_answers, SYSTEM, order, PAID)
    assert held.status == ReservationStatus.reserved
    assert gateway_refunds(gateway, sale.reference) == [PAID]  # made, but unheard
    assert ledger_refunds(engine, order.id) == []
    html = producer_page(order)
    assert "Refund on its way to the buyer's card: 100.000 ₫" in html
    assert 'name="amount_vnd"' not in html  # nothing left to refund
    with pytest.raises(Invalid) as error:
        refund(session, gateway, SYSTEM, order, 1)
    assert "At most 0" in str(error.value)

    outputs = [runner.invoke(cli, ["payments", "reconcile"]).output for _ in range(2)]
    assert "1 refund(s) recorded" in outputs[0] and "0 refund(s) recorded" in outputs[1]
    assert ledger_refunds(engine, order.id) == gateway_refunds(gateway, sale.reference) == [PAID]
    session.refresh(held)
    assert held.status == ReservationStatus.completed and held.refund_id.startswith("re_")
    assert "Refund on its way" not in producer_page(order)


def test_a_reservation_the_gateway_never_saw_is_released_by_sync(session, gateway, engine):
    order = make_paid_order(session, gateway)
    dead = GatewayClient(f"http://127.0.0.1:{free_port()}", "sk_test", retries=0)
    held = refund(session, dead, SYSTEM, order, 40_000)
    assert held.status == ReservationStatus.reserved
    assert refunds.refundable_vnd(session, order.id) == 60_000
    with transaction(session):  # too recent: the call might still be on its way
        refunds.sync_refunds(session, gateway, order)
    assert session.get(RefundReservation, held.id).status == ReservationStatus.reserved
    held.created_at -= timedelta(minutes=2)
    session.commit()
    with transaction(session):
        refunds.sync_refunds(session, gateway, order)
    session.refresh(held)
    assert held.status == ReservationStatus.released
    assert refunds.refundable_vnd(session, order.id) == PAID
    assert refund(session, gateway, SYSTEM, order, PAID).status == ReservationStatus.completed
    assert ledger_refunds(engine, order.id) == [PAID]


def test_a_gateway_that_refuses_releases_the_reservation(session, gateway, engine):
    order = make_paid_order(session, gateway)
    with transaction(session):
        held = refunds.reserve_refund(session, SYSTEM, order, amount_vnd=PAID)
        held.payment_intent = "pi_unknown"  # the gateway answers 404
    with transaction(session):
        refunds.complete_refund(session, gateway, SYSTEM, order, held)
    assert held.status == ReservationStatus.released
    assert refunds.refundable_vnd(session, order.id) == PAID


def _post_event(client, event: dict):
    body = json.dumps(event).encode()
    return client.post("/payments/webhook", data=body, content_type="application/json",
                       headers={"Stripe-Signature": sign(body, SECRET, int(time.time()))})


def test_a_refund_made_at_the_gateway_reaches_the_ledger_once_by_signed_events(
        session, gateway, engine, client, producer_page, runner):
    from ocopkit.cli import cli

    order = make_paid_order(session, gateway)
    sale = transactions.card_sale(session, order.id)
    made = gateway.create_refund(payment_intent=sale.reference, amount_vnd=30_000,
                                 idempotency_key="dashboard-1")
    charge_refunded = {"id": "evt_r1", "type": "charge.refunded", "data": {"object": {
        "id": "ch_x", "object": "charge", "payment_intent": sale.reference,
        "amount_refunded": 999_999}}}  # the body's amount is never believed
    first = _post_event(client, charge_refunded)
    assert first.status_code == 200 and first.get_json()["event"] == "evt_r1"
    assert _post_event(client, charge_refunded).get_json()["duplicate"] is True
    updated = {"id": "evt_r2", "type": "refund.updated",
               "data": {"object": {"id": made.id, "object": "refund"}}}
    assert _post_event(client, updated).status_code == 200
    assert ledger_refunds(engine, order.id) == [30_000]
    result = runner.invoke(cli, ["payments", "reconcile"])
    assert "0 refund(s) recorded" in result.output
    assert ledger_refunds(engine, order.id) == gateway_refunds(gateway, sale.reference)
    assert "Paid so far: <strong>70.000 ₫" in producer_page(order)


def test_a_refund_event_naming_only_the_refund_finds_its_payment_at_the_gateway(
        session, gateway, engine, client, producer_page):
    order = make_paid_order(session, gateway)
    sale = transactions.card_sale(session, order.id)
    made = gateway.create_refund(payment_intent=sale.reference, amount_vnd=20_000,
                                 idempotency_key="dashboard-3")
    updated = {"id": "evt_r3", "type": "refund.updated",
               "data": {"object": {"id": made.id, "object": "refund"}}}
    answer = _post_event(client, updated)
    assert answer.status_code == 200 and answer.get_json()["ignored"] is False
    assert ledger_refunds(engine, order.id) == [20_000]


def test_a_refund_event_for_a_payment_that_is_not_ours_writes_nothing(
        session, gateway, engine, client, producer_page):
    from payments.models import WebhookEvent

    order = make_paid_order(session, gateway)
    stranger = gateway.create_payment_intent(amount_vnd=50_000, idempotency_key="other-1",
                                             metadata={}, payment_method="pm_card_visa",
                                             confirm=True)
    event = {"id": "evt_r4", "type": "charge.refunded", "data": {"object": {
        "id": "ch_y", "object": "charge", "payment_intent": stranger.id}}}
    answer = _post_event(client, event)
    assert answer.status_code == 200 and answer.get_json()["ignored"] is True
    with Session(engine) as fresh:
        assert fresh.scalar(select(func.count(WebhookEvent.id))) == 0
    assert ledger_refunds(engine, order.id) == []


def test_reconcile_records_a_refund_made_at_the_gateway_once(session, gateway, engine,
                                                             runner, app, localstripe):
    from ocopkit.cli import cli

    app.config.update(GATEWAY_URL=localstripe.url, CLI_LANGUAGE="en")
    order = make_paid_order(session, gateway)
    sale = transactions.card_sale(session, order.id)
    gateway.create_refund(payment_intent=sale.reference, amount_vnd=PAID,
                          idempotency_key="dashboard-2")
    outputs = [runner.invoke(cli, ["payments", "reconcile"]).output for _ in range(2)]
    assert "1 refund(s) recorded" in outputs[0] and "0 refund(s) recorded" in outputs[1]
    assert ledger_refunds(engine, order.id) == [PAID]
    session.refresh(sale)
    assert sale.status == EntryStatus.refunded


def test_a_payout_never_includes_refunded_money(session, gateway, client, login, app,
                                                localstripe, engine):
    from onboarding.models import Producer
    from payments.models import AccountKind, AccountStatus, LinkedAccount

    app.config["GATEWAY_URL"] = localstripe.url
    client.set_cookie("lang", "en")
    order = make_paid_order(session, gateway)
    producer = session.get(Producer, order.producer_id)
    account = LinkedAccount(producer_id=producer.id, kind=AccountKind.bank, bank_bin="970415",
                            provider="VietinBank", account_number="0011001932418",
                            holder_name="GIANG A DE", status=AccountStatus.verified)
    session.add(account)
    officer = make_user(session, Role.officer, communes=[producer.commune])
    session.commit()
    sale = transactions.card_sale(session, order.id)
    gateway.create_refund(payment_intent=sale.reference, amount_vnd=40_000,
                          idempotency_key="dashboard-3")  # made at the gateway only
    dead = GatewayClient(f"http://127.0.0.1:{free_port()}", "sk_test", retries=0)
    refund(session, dead, SYSTEM, order, 10_000)  # held, its answer lost

    def payouts():
        with Session(engine) as fresh:
            return fresh.scalars(select(LedgerEntry.amount_vnd).where(
                LedgerEntry.kind == EntryKind.payout)).all()

    login(officer.username)
    url = f"/payments/producers/{producer.id}/payouts"
    refused = client.post(url, data={"account_id": account.id, "amount_vnd": "100.000",
                                     "reference": "FT-R1"})
    assert refused.status_code == 422
    assert "At most 50.000 ₫ can be paid out" in refused.get_data(as_text=True)
    assert payouts() == []
    assert ledger_refunds(engine, order.id) == [40_000]
    assert client.post(url, data={"account_id": account.id, "amount_vnd": "50.000",
                                  "reference": "FT-R2"}).status_code == 302
    assert payouts() == [50_000]

