"""A payment is recorded only when the gateway's amount and currency are the attempt's: a
USD PaymentIntent of the same number, or a VND one of another amount, leaves the order
unpaid and shows staff a problem on the order and on the producer's ledger."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import func, select

from ocopkit.users import Role
from onboarding.models import Producer
from payments import problems, transactions
from payments.models import AttemptStatus, LedgerEntry, PaymentProblem
from payments.abandoned import release_abandoned
from payments.signatures import sign
from shop.models import OrderStatus
from tests.factories import make_user
from tests.payments.test_transactions import make_order

SECRET = "whsec_ocopkit_problems"


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _usd_intent_for(gateway, order, attempt) -> str:
    """A USD PaymentIntent of the attempt's number, paid, carrying the attempt's metadata."""
    data = gateway._request("POST", "/v1/payment_intents", {
        "amount": attempt.amount_vnd, "currency": "usd", "payment_method_types": ["card"],
        "metadata": {"order": order.reference, "attempt": str(attempt.id)},
        "payment_method": "pm_card_visa", "confirm": True}, "usd-test")
    assert data["status"] == "succeeded" and data["currency"] == "usd"
    return data["id"]


def test_a_usd_payment_of_the_same_amount_does_not_mark_the_order_paid(
        app, client, login, session, gateway, localstripe):
    app.config.update(GATEWAY_URL=localstripe.url, WEBHOOK_SECRET=SECRET)
    order = make_order(session, total=150000)
    attempt = transactions.new_attempt(session, order)  # the create answer never came
    producer = session.get(Producer, order.producer_id)
    officer = make_user(session, Role.officer, communes=[producer.commune])
    session.commit()
    intent_id = _usd_intent_for(gateway, order, attempt)
    body = json.dumps({"id": "evt_usd", "type": "payment_intent.succeeded",
                       "data": {"object": {"id": intent_id}}}).encode()
    response = client.post("/payments/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body, SECRET, int(time.time()))})
    assert response.status_code == 200
    assert _count(session, LedgerEntry) == 0
    assert transactions.order_paid_vnd(session, order.id) == 0
    assert not transactions.is_paid(session, order.id)
    problem = session.scalars(select(PaymentProblem)).one()
    assert (problem.order_id, problem.attempt_id, problem.intent_id) == (
        order.id, attempt.id, intent_id)
    assert (problem.gateway_amount, problem.gateway_currency, problem.expected_vnd) == (
        150000, "usd", 150000)
    # a second delivery of the same news adds no second row
    again = body.replace(b"evt_usd", b"evt_usd_again")
    client.post("/payments/webhook", data=again, content_type="application/json",
                headers={"Stripe-Signature": sign(again, SECRET, int(time.time()))})
    assert _count(session, PaymentProblem) == 1

    login(officer.username)
    page = client.get(f"/manage/orders/{order.id}?lang=en").get_data(as_text=True)
    assert 'id="payment-problems"' in page and intent_id in page
    assert "150000 USD" in page and "150,000" in page.replace(".", ",")
    assert "not marked paid" in page
    ledger = client.get(f"/payments/producers/{order.producer_id}/ledger?lang=en"
                        ).get_data(as_text=True)
    assert 'id="payment-problems"' in ledger and order.reference in ledger
    assert intent_id in ledger and "150000 USD" in ledger
    vi = client.get(f"/payments/producers/{order.producer_id}/ledger?lang=vi"
                    ).get_data(as_text=True)
    assert "Thanh toán cần kiểm tra" in vi


def test_a_vnd_payment_of_another_amount_is_a_problem_not_a_sale(session, gateway):
    order = make_order(session, total=150000)
    attempt = transactions.start_card_payment(session, gateway, order)  # card page opened
    session.commit()
    gateway._request("POST", f"/v1/payment_intents/{attempt.intent_id}",
                     {"amount": 15000, "payment_method": "pm_card_visa"})
    gateway.confirm_payment_intent(attempt.intent_id)
    assert transactions.reconcile(session, gateway, since=timedelta(hours=1)) == 0
    session.commit()
    assert _count(session, LedgerEntry) == 0 and attempt.status == AttemptStatus.succeeded
    problem = session.scalars(select(PaymentProblem)).one()
    assert (problem.gateway_amount, problem.gateway_currency, problem.expected_vnd) == (
        15000, "vnd", 150000)
    assert problems.order_problems(session, order.id) == [problem]
    # money was taken: the order is never released as abandoned while the problem stands
    released = release_abandoned(session, gateway, older_than=timedelta(0))
    session.commit()
    assert released.cancelled == [] and released.problems == [order.reference]
    assert order.status == OrderStatus.placed
