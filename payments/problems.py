"""Payments the gateway took that ocopkit cannot record: the PaymentIntent of one of our
attempts succeeded with another amount or currency than the attempt's. Nothing is guessed
(a USD amount is not "converted", a short payment is not "partly paid"): the order stays
unpaid, and the problem is kept for staff to see and settle with the buyer."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.gateway import PaymentIntent
from payments.models import PaymentAttempt, PaymentProblem
from shop.models import Order

CURRENCY = "vnd"


def matches(attempt: PaymentAttempt, intent: PaymentIntent) -> bool:
    """Whether the gateway's amount and currency are exactly the attempt's."""
    return intent.amount == attempt.amount_vnd and intent.currency == CURRENCY


def record_problem(session: Session, attempt: PaymentAttempt,
                   intent: PaymentIntent) -> PaymentProblem:
    """Keep what the gateway said, once per PaymentIntent (re-deliveries add nothing)."""
    problem = session.scalar(select(PaymentProblem).where(PaymentProblem.intent_id == intent.id))
    if problem is None:
        problem = PaymentProblem(order_id=attempt.order_id, attempt_id=attempt.id,
                                 intent_id=intent.id, expected_vnd=attempt.amount_vnd,
                                 gateway_amount=intent.amount,
                                 gateway_currency=intent.currency, gateway_status=intent.status)
        session.add(problem)
        session.flush()
    return problem


def order_problems(session: Session, order_id: int) -> list[PaymentProblem]:
    return list(session.scalars(select(PaymentProblem).where(
        PaymentProblem.order_id == order_id).order_by(PaymentProblem.id)))


@dataclass(frozen=True)
class ProducerProblem:
    order_id: int
    order_reference: str
    intent_id: str
    expected_vnd: int
    gateway_amount: int
    gateway_currency: str
    detected_at: datetime


def producer_problems(session: Session, producer_id: int) -> list[ProducerProblem]:
    """The problems on a producer's orders, newest first, for its ledger page."""
    rows = session.execute(
        select(PaymentProblem, Order.reference).join(Order, Order.id == PaymentProblem.order_id)
        .where(Order.producer_id == producer_id).order_by(PaymentProblem.id.desc()))
    return [ProducerProblem(p.order_id, reference, p.intent_id, p.expected_vnd,
                            p.gateway_amount, p.gateway_currency, p.detected_at)
            for p, reference in rows]
