"""The gateway client against a real localstripe on loopback."""
from __future__ import annotations

import time

import pytest

from payments.devgateway import free_port
from payments.gateway import GatewayClient, GatewayError


def test_card_payment_in_whole_dong_succeeds(gateway):
    intent = gateway.create_payment_intent(amount_vnd=120000, idempotency_key="order-1-a1",
                                           metadata={"order": "DH7KQ2"},
                                           payment_method="pm_card_visa", confirm=True)
    assert intent.status == "succeeded"
    assert (intent.amount, intent.currency) == (120000, "vnd")
    again = gateway.retrieve_payment_intent(intent.id)
    assert again.status == "succeeded" and again.metadata == {"order": "DH7KQ2"}


def test_declined_card_reports_card_declined(gateway):
    intent = gateway.create_payment_intent(amount_vnd=50000, idempotency_key="order-2-a1",
                                           payment_method="pm_card_chargeCustomerFail")
    with pytest.raises(GatewayError) as error:
        gateway.confirm_payment_intent(intent.id)
    assert error.value.code == "card_declined"
    assert gateway.retrieve_payment_intent(intent.id).status != "succeeded"


def test_cancel_and_partial_refund(gateway):
    pending = gateway.create_payment_intent(amount_vnd=30000, idempotency_key="k1")
    assert gateway.cancel_payment_intent(pending.id).status == "canceled"
    paid = gateway.create_payment_intent(amount_vnd=200000, idempotency_key="k2",
                                         payment_method="pm_card_visa", confirm=True)
    refund = gateway.create_refund(payment_intent=paid.id, amount_vnd=50000,
                                   idempotency_key="r1", metadata={"reason": "thiếu hàng"})
    assert (refund.amount, refund.payment_intent) == (50000, paid.id)


def test_customers_can_be_created(gateway):
    assert gateway.create_customer(name="Hộ Lò Văn Pánh", idempotency_key="c1").startswith("cus_")


def test_a_dead_gateway_fails_fast_and_clearly():
    client = GatewayClient(f"http://127.0.0.1:{free_port()}", "sk_test_x")
    start = time.monotonic()
    with pytest.raises(GatewayError) as error:
        client.create_payment_intent(amount_vnd=1000, idempotency_key="k")
    assert error.value.retryable
    assert time.monotonic() - start < 15


def test_non_integer_amounts_never_reach_the_gateway(gateway):
    with pytest.raises(ValueError):
        gateway.create_payment_intent(amount_vnd=1200.5, idempotency_key="k")


def test_listing_payment_intents_pages_to_the_end_or_says_it_cannot(gateway):
    made = {gateway.create_payment_intent(amount_vnd=1000 + n, idempotency_key=f"list-{n}",
                                          metadata={"attempt": str(n)}).id
            for n in range(101)}
    listed = gateway.list_payment_intents(max_pages=2)
    assert {i.id for i in listed} == made and len(listed) == 101
    assert {i.metadata["attempt"] for i in listed} == {str(n) for n in range(101)}
    with pytest.raises(GatewayError):
        gateway.list_payment_intents(max_pages=1)  # a partial list never means "absent"
