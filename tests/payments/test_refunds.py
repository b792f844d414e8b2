"""Refunds of card payments against a real localstripe: serialised across the gateway call
(five at once from five processes refund once), a lost answer found again, refunds made at
the gateway recorded once (signed events, reconcile), and payouts that never include
refunded money."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ocopkit.access import SYSTEM
from ocopkit.db import make_engine, transaction
from ocopkit.errors import Invalid, NotFound
from ocopkit.users import Role
from payments import refunds, transactions
from payments.gateway import GatewayClient
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
