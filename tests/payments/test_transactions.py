"""Card payments against a real localstripe: the status machine as a table, payments that
succeed or are declined, webhooks applied once whatever their order, reconciliation."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ocopkit.errors import Invalid
from payments import transactions
from payments.devgateway import free_port
from payments.gateway import GatewayClient
from payments.models import AttemptStatus as S
from payments.models import LedgerEntry, WebhookEvent
from payments.signatures import sign
from shop.models import Order, PaymentMethod
from tests.factories import make_product

SECRET = "whsec_ocopkit_test"


@pytest.mark.parametrize("current, new, expected", [
    (S.created, S.succeeded, S.succeeded),
    (S.created, S.failed, S.failed),
    (S.failed, S.processing, S.processing),
    (S.failed, S.succeeded, S.succeeded),
    (S.processing, S.canceled, S.canceled),
    (S.succeeded, S.failed, S.succeeded),      # a late failure cannot undo a payment
    (S.succeeded, S.canceled, S.succeeded),
    (S.canceled, S.succeeded, S.canceled),
    (S.processing, S.created, S.processing),
])
def test_next_status(current, new, expected):
    assert transactions.next_status(current, new) == expected


def make_order(session, total=150000, method=PaymentMethod.card) -> Order:
    product = make_product(session)
    order = Order(reference=f"R{product.id:07d}", booth_id=product.booth_id,
                  producer_id=product.booth.producer_id, buyer_name="Chị Hoa",
                  buyer_phone="0912345678", delivery_address="Hà Nội", payment_method=method,
                  total_vnd=total)
    session.add(order)
    session.flush()
    return order


def _sales(session, order_id):
    return session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.order_id == order_id))


def test_paid_card_order_records_one_sale_in_whole_dong(session, gateway):
    order = make_order(session)
    attempt = transactions.start_card_payment(session, gateway, order,
                                              payment_method="pm_card_visa")
    assert attempt.status == S.succeeded and attempt.intent_id.startswith("pi_")
    assert gateway.retrieve_payment_intent(attempt.intent_id).amount == 150000
    entry = session.scalar(select(LedgerEntry))
    assert (entry.amount_vnd, entry.order_id, entry.channel.value) == (150000, order.id, "card")
    assert transactions.order_paid_vnd(session, order.id) == 150000
    with pytest.raises(Invalid):
        transactions.start_card_payment(session, gateway, order, payment_method="pm_card_visa")


def test_declined_card_keeps_the_order_payable(session, gateway):
    order = make_order(session)
    with pytest.raises(Invalid) as error:
        transactions.start_card_payment(session, gateway, order,
                                        payment_method="pm_card_chargeCustomerFail")
    assert error.value.field == "card"
    assert _sales(session, order.id) == 0
    paid = transactions.start_card_payment(session, gateway, order, payment_method="pm_card_visa")
    assert paid.status == S.succeeded and _sales(session, order.id) == 1


def test_gateway_down_marks_nothing_paid(session):
    order = make_order(session)
    dead = GatewayClient(f"http://127.0.0.1:{free_port()}", "sk_test")
    with pytest.raises(transactions.PaymentUnavailable):
        transactions.start_card_payment(session, dead, order, payment_method="pm_card_visa")
    assert _sales(session, order.id) == 0


def test_out_of_order_failure_after_success_changes_nothing(session, gateway):
    order = make_order(session)
    attempt = transactions.start_card_payment(session, gateway, order, payment_method="pm_card_visa")
    session.commit()
    late = {"id": "evt_late", "type": "payment_intent.payment_failed",
            "data": {"object": {"id": attempt.intent_id}}}
    transactions.handle_event(session, gateway, late)
    session.commit()
    assert attempt.status == S.succeeded and _sales(session, order.id) == 1
    with pytest.raises(IntegrityError):
        transactions.handle_event(session, gateway, late)
    session.rollback()


def test_reconcile_repairs_a_lost_webhook(session, gateway):
    order = make_order(session)
    attempt = transactions.start_card_payment(session, gateway, order)
    session.commit()
    gateway._request("POST", f"/v1/payment_intents/{attempt.intent_id}",
                     {"payment_method": "pm_card_visa"})
    gateway.confirm_payment_intent(attempt.intent_id)
    assert _sales(session, order.id) == 0
    assert transactions.reconcile(session, gateway, since=timedelta(hours=1)) == 1
    assert transactions.reconcile(session, gateway, since=timedelta(hours=1)) == 0
    assert _sales(session, order.id) == 1


def _signed_post(client, event: dict, secret=SECRET, timestamp=None, body=None):
    body = body if body is not None else json.dumps(event).encode()
    header = sign(json.dumps(event).encode(), secret, timestamp or int(time.time()))
    return client.post("/payments/webhook", data=body, headers={"Stripe-Signature": header},
                       content_type="application/json")


@pytest.fixture
def webhook_app(app, localstripe, gateway):
    app.config.update(GATEWAY_URL=localstripe.url, WEBHOOK_SECRET=SECRET)
    return app


def test_webhook_endpoint_verifies_and_is_idempotent(webhook_app, session, gateway):
    client = webhook_app.test_client()
    order = make_order(session)
    attempt = transactions.start_card_payment(session, gateway, order, payment_method="pm_card_visa")
    session.execute(delete(LedgerEntry))
    attempt.status = S.processing
    session.commit()
    event = {"id": "evt_paid", "type": "payment_intent.succeeded",
             "data": {"object": {"id": attempt.intent_id}}}
    assert _signed_post(client, event, secret="forged").status_code == 400
    assert _signed_post(client, event, body=json.dumps({**event, "id": "evt_x"}).encode()
                        ).status_code == 400                                 # tampered body
    assert _signed_post(client, event, timestamp=int(time.time()) - 400).status_code == 400
    assert client.post("/payments/webhook", data=b"{}").status_code == 400  # no signature
    assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert _signed_post(client, event).status_code == 200
    assert _signed_post(client, event).get_json()["duplicate"] is True
    session.expire_all()
    assert _sales(session, order.id) == 1


def test_two_deliveries_racing_record_one_payment(webhook_app, session, gateway, engine):
    order = make_order(session)
    attempt = transactions.start_card_payment(session, gateway, order, payment_method="pm_card_visa")
    session.execute(delete(LedgerEntry))
    attempt.status = S.processing
    session.commit()
    event = {"id": "evt_race", "type": "payment_intent.succeeded",
             "data": {"object": {"id": attempt.intent_id}}}
    results = []

    def deliver():
        results.append(_signed_post(webhook_app.test_client(), event).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 200]
    with Session(engine) as fresh:
        assert _sales(fresh, order.id) == 1
        assert fresh.scalar(select(func.count()).select_from(WebhookEvent)) == 1


def test_cli_reconcile(runner, app, session, gateway, localstripe):
    from ocopkit.cli import cli

    order = make_order(session)
    attempt = transactions.start_card_payment(session, gateway, order)
    session.commit()
    gateway._request("POST", f"/v1/payment_intents/{attempt.intent_id}",
                     {"payment_method": "pm_card_visa"})
    gateway.confirm_payment_intent(attempt.intent_id)
    app.config.update(GATEWAY_URL=localstripe.url, CLI_LANGUAGE="en")
    result = runner.invoke(cli, ["payments", "reconcile"])
    assert result.exit_code == 0 and result.output.startswith("1 payment")
    session.expire_all()
    assert _sales(session, order.id) == 1
