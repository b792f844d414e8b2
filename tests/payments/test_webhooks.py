"""The webhook endpoint against a real localstripe: events that are not ours are answered
2xx and write nothing (so the sender stops), bodies that are signed but malformed are
refused, and no database write is held open while the gateway is asked."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select, text

from payments import transactions
from payments.devgateway import free_port
from payments.models import AttemptStatus, LedgerEntry, PaymentAttempt, WebhookEvent
from payments.signatures import sign
from tests.payments.test_transactions import make_order

SECRET = "whsec_ocopkit_hooks"


@pytest.fixture
def hooks(app, localstripe, gateway):
    app.config.update(GATEWAY_URL=localstripe.url, WEBHOOK_SECRET=SECRET)
    return app.test_client()


def post(client, body: bytes, header: str | None = "sign"):
    headers = {}
    if header == "sign":
        headers["Stripe-Signature"] = sign(body, SECRET, int(time.time()))
    elif header is not None:
        headers["Stripe-Signature"] = header
    return client.post("/payments/webhook", data=body, headers=headers,
                       content_type="application/json")


def event(intent_id: str, event_id: str = "evt_hook", kind="payment_intent.succeeded") -> bytes:
    return json.dumps({"id": event_id, "type": kind,
                       "data": {"object": {"id": intent_id, "object": "payment_intent"}}}
                      ).encode()


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_an_event_for_an_intent_the_gateway_does_not_know_is_answered_and_dropped(
        hooks, session):
    response = post(hooks, event("pi_not_at_the_gateway"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["ignored"] is True
    assert count(session, WebhookEvent) == 0
    # the sender retrying gets the same answer, never a 5xx that loops
    assert post(hooks, event("pi_not_at_the_gateway")).status_code == 200


def test_an_event_for_someone_elses_intent_writes_nothing(hooks, session, gateway):
    order = make_order(session)
    attempt = transactions.new_attempt(session, order)
    session.commit()
    foreign = gateway.create_payment_intent(amount_vnd=order.total_vnd, idempotency_key="x-1",
                                            metadata={"shop": "another"},
                                            payment_method="pm_card_visa", confirm=True)
    stray = gateway.create_payment_intent(   # an attempt id of ours, an order that is not
        amount_vnd=order.total_vnd, idempotency_key="x-2",
        metadata={"order": "NOT-OURS", "attempt": str(attempt.id)},
        payment_method="pm_card_visa", confirm=True)
    for intent in (foreign, stray):
        response = post(hooks, event(intent.id, f"evt_{intent.id}"))
        assert response.status_code == 200 and response.get_json()["ignored"] is True
    assert count(session, WebhookEvent) == 0 and count(session, LedgerEntry) == 0
    assert session.get(PaymentAttempt, attempt.id).intent_id is None


def test_when_the_gateway_cannot_be_reached_the_sender_is_asked_to_retry(hooks, app, session):
    app.config["GATEWAY_URL"] = f"http://127.0.0.1:{free_port()}"
    response = post(hooks, event("pi_whatever"))
    assert response.status_code == 503
    assert count(session, WebhookEvent) == 0


@pytest.mark.parametrize("body", [
    b"not json at all",
    b"[1, 2]",
    b'"evt_1"',
    b'{"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}}',  # no id
    b'{"id": 5, "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}}',
    b'{"id": "", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}}',
    b'{"id": "evt_1", "type": ["payment_intent.succeeded"], "data": {"object": {}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": []}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": "pi_1"}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": 7}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded"}',
    b'\xff\xfe{}',
])
def test_a_signed_but_malformed_body_is_refused(hooks, session, body):
    response = post(hooks, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "payload" in response.get_json()["error"]
    assert count(session, WebhookEvent) == 0


def paid_but_unrecorded(session, gateway) -> PaymentAttempt:
    """An attempt paid at the gateway whose success ocopkit has not recorded yet."""
    attempt = transactions.start_card_payment(session, gateway, make_order(session),
                                              payment_method="pm_card_visa")
    session.execute(LedgerEntry.__table__.delete())
    attempt.status = AttemptStatus.processing
    session.commit()
    return attempt


def _signature_parts(body: bytes) -> tuple[str, str]:
    t, v1 = sign(body, SECRET, int(time.time())).split(",")
    return t, v1


@pytest.mark.parametrize("broken", ["empty v1", "truncated v1", "no header", "v1 only",
                                    "empty header"])
def test_a_valid_event_with_a_broken_signature_is_refused(hooks, session, gateway, broken):
    attempt = paid_but_unrecorded(session, gateway)
    body = event(attempt.intent_id, "evt_broken")
    t, v1 = _signature_parts(body)
    header = {"empty v1": f"{t},v1=", "truncated v1": f"{t},{v1[:-8]}", "no header": None,
              "v1 only": v1, "empty header": ""}[broken]
    response = post(hooks, body, header=header)
    assert response.status_code == 400
    assert "signature" in response.get_json()["error"]
    assert count(session, WebhookEvent) == 0 and count(session, LedgerEntry) == 0
    assert post(hooks, body).status_code == 200     # the same body, signed, is applied
    assert count(session, LedgerEntry) == 1


class WatchingGateway:
    """The real client, asking on each gateway read whether another connection could write
    right now: on SQLite a held write transaction makes every other writer wait."""

    def __init__(self, client, engine):
        self.client, self.engine, self.writable = client, engine, []

    def __getattr__(self, name):
        return getattr(self.client, name)

    def retrieve_payment_intent(self, intent_id):
        self.writable.append(self._can_write())
        return self.client.retrieve_payment_intent(intent_id)

    def _can_write(self) -> bool:
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    conn.exec_driver_sql("ROLLBACK")
                    return True
                except Exception:
                    return False
                finally:
                    conn.exec_driver_sql("PRAGMA busy_timeout=10000")
            conn.execute(text("SET lock_timeout = '100ms'"))
            try:
                conn.execute(text("LOCK TABLE webhook_event IN SHARE MODE"))
            except Exception:
                return False
            finally:
                conn.rollback()
            return True


def test_no_write_is_held_while_the_gateway_is_read(session, gateway, engine):
    attempt = paid_but_unrecorded(session, gateway)
    watching = WatchingGateway(gateway, engine)
    payload = {"id": "evt_watch", "type": "payment_intent.succeeded",
               "data": {"object": {"id": attempt.intent_id}}}
    assert transactions.handle_event(session, watching, payload) is True
    session.commit()
    assert watching.writable == [True]
    assert count(session, WebhookEvent) == 1 and count(session, LedgerEntry) == 1
