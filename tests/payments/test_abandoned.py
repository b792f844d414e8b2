"""Abandoned card payments give their stock back, but only once the gateway (a real
localstripe) says nothing was paid; a payment whose create answer was lost is still found."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ocopkit.db import utcnow
from ocopkit.errors import Conflict
from payments import transactions
from payments.abandoned import release_abandoned
from payments.devgateway import free_port
from payments.gateway import GatewayClient
from payments.models import AttemptStatus, EntryKind, LedgerEntry, PaymentAttempt
from shop.models import BoothStatus, Order, OrderStatus, Product
from shop.orders import place_order
from tests.concurrency import second_waits_for_first
from tests.factories import make_booth, make_product
from tests.payments.lossy import AnswerLosingProxy

BUYER = {"buyer_name": "Chị Hoa", "buyer_phone": "0912345678", "delivery_address": "Hà Nội"}
HOUR = timedelta(minutes=60)


@pytest.fixture
def tea(session):
    booth = make_booth(session, status=BoothStatus.published)
    return make_product(session, booth=booth, price_vnd=100000, stock=10)


def _order(session, product, method="card", minutes_ago=90):
    [order] = place_order(session, lines=[(product.id, 2)], payment_method=method, **BUYER)
    order.placed_at = utcnow() - timedelta(minutes=minutes_ago)
    session.flush()
    return order


def _stock(session, product):
    session.expire(product)
    return session.scalar(select(Product.stock).where(Product.id == product.id))


def test_an_unpaid_card_order_is_cancelled_at_the_gateway_and_its_stock_returned(
        session, gateway, tea):
    order = _order(session, tea)
    attempt = transactions.start_card_payment(session, gateway, order)  # card page opened
    fresh = _order(session, tea, minutes_ago=5)
    cash = _order(session, tea, method="cash")
    session.commit()
    assert _stock(session, tea) == 10 - 6

    released = release_abandoned(session, gateway, older_than=HOUR)
    session.commit()
    assert released.cancelled == [order.reference]
    assert order.status == OrderStatus.cancelled
    assert (fresh.status, cash.status) == (OrderStatus.placed, OrderStatus.placed)
    assert _stock(session, tea) == 10 - 4
    assert gateway.retrieve_payment_intent(attempt.intent_id).status == "canceled"
    assert attempt.status == AttemptStatus.canceled
    # a second run finds nothing more to do
    assert release_abandoned(session, gateway, older_than=HOUR).cancelled == []


def test_a_payment_that_went_through_meanwhile_is_recorded_not_cancelled(session, gateway,
                                                                         tea):
    order = _order(session, tea)
    transactions.start_card_payment(session, gateway, order)  # opened, never paid
    paid = _order(session, tea)
    paid_attempt = transactions.new_attempt(session, paid)
    intent = gateway.create_payment_intent(
        amount_vnd=paid.total_vnd, idempotency_key=paid_attempt.idempotency_key,
        metadata={"attempt": str(paid_attempt.id)}, payment_method="pm_card_visa",
        confirm=True)
    paid_attempt.intent_id = intent.id  # paid at the gateway; the webhook was lost
    session.commit()

    released = release_abandoned(session, gateway, older_than=HOUR)
    session.commit()
    assert released.paid_meanwhile == [paid.reference]
    assert paid.status == OrderStatus.placed
    assert transactions.order_paid_vnd(session, paid.id) == paid.total_vnd
    assert order.reference in released.cancelled


def test_when_the_gateway_cannot_answer_nothing_is_released(session, gateway, tea):
    order = _order(session, tea)
    transactions.start_card_payment(session, gateway, order)
    session.commit()
    dead = GatewayClient("http://127.0.0.1:9", "sk_test_x", retries=0)
    released = release_abandoned(session, dead, older_than=HOUR)
    assert released.unreachable == [order.reference] and released.cancelled == []
    assert order.status == OrderStatus.placed and _stock(session, tea) == 8


def test_reconcile_command_releases_after_the_configured_time(app, runner, session, gateway,
                                                              localstripe, tea):
    from ocopkit.cli import cli

    app.config.update(GATEWAY_URL=localstripe.url, CARD_PAYMENT_TIMEOUT_MINUTES=120,
                      CLI_LANGUAGE="en")
    order = _order(session, tea, minutes_ago=90)
    session.commit()
    result = runner.invoke(cli, ["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "0 unpaid card order(s) cancelled" in result.output
    app.config["CARD_PAYMENT_TIMEOUT_MINUTES"] = 60
    result = runner.invoke(cli, ["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert order.reference in result.output
    session.expire_all()
    assert _stock(session, tea) == 10


def test_a_webhook_finds_an_attempt_whose_create_answer_was_lost(session, gateway, tea):
    order = _order(session, tea, minutes_ago=1)
    attempt = transactions.new_attempt(session, order)  # the create call timed out
    intent = gateway.create_payment_intent(
        amount_vnd=order.total_vnd, idempotency_key=attempt.idempotency_key,
        metadata={"order": order.reference, "attempt": str(attempt.id)},
        payment_method="pm_card_visa", confirm=True)
    session.commit()
    assert attempt.intent_id is None
    event = {"id": "evt_lost_answer", "type": "payment_intent.succeeded",
             "data": {"object": {"id": intent.id, "status": "succeeded"}}}
    assert transactions.handle_event(session, gateway, event) is True
    session.commit()
    assert attempt.intent_id == intent.id and attempt.status == AttemptStatus.succeeded
    sales = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.sale))
    assert [s.amount_vnd for s in sales] == [order.total_vnd]
    assert session.scalars(select(PaymentAttempt)).one().id == attempt.id


def test_two_card_submissions_at_once_make_one_attempt(session, engine, tea):
    """A double click: the second waits for the first (PostgreSQL: the order row lock;
    SQLite: the write lock of its insert), then sees it on its way and is refused."""
    order = _order(session, tea, minutes_ago=1)
    session.commit()

    def submit(db):
        transactions.new_attempt(db, db.get(Order, order.id))
    assert isinstance(second_waits_for_first(engine, submit, submit, Conflict), Conflict)
    assert len(session.scalars(select(PaymentAttempt)).all()) == 1


# --- a create call whose answer was lost (issue 10, item 4) -------------------------------

@pytest.fixture
def lossy(localstripe, gateway):
    proxy = AnswerLosingProxy(localstripe.url)
    yield proxy
    proxy.close()


def _paid_but_answer_lost(session, lossy, order) -> PaymentAttempt:
    """The buyer pays: the gateway charges the card, its answer never reaches ocopkit (and
    no webhook is delivered: none is registered)."""
    attempt = transactions.new_attempt(session, order)
    session.commit()
    # retries=0: localstripe ignores idempotency keys, so a retry would charge twice there
    client = GatewayClient(lossy.url, "sk_test_ocopkit", retries=0)
    with pytest.raises(transactions.PaymentUnavailable):
        transactions.charge_attempt(session, client, attempt, payment_method="pm_card_visa")
    session.rollback()  # what the card page's transaction does
    assert lossy.lost == 1 and attempt.intent_id is None
    attempt.created_at = utcnow() - 2 * transactions.IN_FLIGHT
    session.commit()
    return attempt


def _sales(session, order):
    session.expire_all()
    return [e.amount_vnd for e in session.scalars(select(LedgerEntry).where(
        LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.sale))]


def test_reconcile_records_a_payment_whose_create_answer_was_lost(
        app, runner, session, gateway, localstripe, lossy, tea):
    from ocopkit.cli import cli

    order = _order(session, tea, minutes_ago=90)
    attempt = _paid_but_answer_lost(session, lossy, order)
    [intent] = gateway._request("GET", "/v1/payment_intents")["data"]
    assert intent["status"] == "succeeded"    # the money was taken
    app.config.update(GATEWAY_URL=localstripe.url, CARD_PAYMENT_TIMEOUT_MINUTES=60,
                      CLI_LANGUAGE="en")
    result = runner.invoke(cli, ["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "1 payment(s) recorded" in result.output
    assert "0 unpaid card order(s) cancelled" in result.output
    assert _sales(session, order) == [200000]
    assert session.get(Order, order.id).status == OrderStatus.placed
    assert _stock(session, tea) == 8
    attempt = session.get(PaymentAttempt, attempt.id)
    assert (attempt.intent_id, attempt.status) == (intent["id"], AttemptStatus.succeeded)


def test_release_looks_a_lost_answer_up_before_cancelling(session, gateway, lossy, tea):
    paid = _order(session, tea)
    _paid_but_answer_lost(session, lossy, paid)
    never_sent = _order(session, tea)      # the create never reached the gateway
    quiet = transactions.new_attempt(session, never_sent)
    quiet.created_at = utcnow() - 2 * transactions.IN_FLIGHT
    session.commit()
    released = release_abandoned(session, gateway, older_than=HOUR)
    session.commit()
    assert released.paid_meanwhile == [paid.reference]
    assert released.cancelled == [never_sent.reference]
    assert paid.status == OrderStatus.placed and _sales(session, paid) == [200000]
    assert session.get(PaymentAttempt, quiet.id).status == AttemptStatus.canceled
    assert _stock(session, tea) == 10 - 2


def test_a_create_that_may_still_be_on_its_way_is_waited_for(session, gateway, tea):
    order = _order(session, tea)
    transactions.new_attempt(session, order)  # a moment ago: its answer may still come
    session.commit()
    released = release_abandoned(session, gateway, older_than=HOUR)
    assert released.cancelled == [] and released.unreachable == [order.reference]
    assert order.status == OrderStatus.placed


def test_with_the_gateway_unreachable_a_lost_answer_waits_for_the_next_run(
        app, runner, session, gateway, localstripe, lossy, tea):
    from ocopkit.cli import cli

    order = _order(session, tea, minutes_ago=90)
    _paid_but_answer_lost(session, lossy, order)
    dead = GatewayClient(f"http://127.0.0.1:{free_port()}", "sk_test_x", retries=0)
    released = release_abandoned(session, dead, older_than=HOUR)
    session.commit()
    assert released.unreachable == [order.reference] and released.cancelled == []
    app.config.update(GATEWAY_URL=dead.base_url, CARD_PAYMENT_TIMEOUT_MINUTES=60,
                      CLI_LANGUAGE="en")
    result = runner.invoke(cli, ["payments", "reconcile"])
    assert result.exit_code != 0 and "did not answer" in result.output
    session.expire_all()
    assert session.get(Order, order.id).status == OrderStatus.placed
    assert _stock(session, tea) == 8 and _sales(session, order) == []
    app.config["GATEWAY_URL"] = localstripe.url          # the next run, the gateway is back
    result = runner.invoke(cli, ["payments", "reconcile"])
    assert result.exit_code == 0 and "1 payment(s) recorded" in result.output
    assert _sales(session, order) == [200000]
