"""Linked payment accounts and their verification periods."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ocopkit.db import Base, UTCDateTime, str_enum, utcnow


class AccountKind(str, enum.Enum):
    bank = "bank"
    ewallet = "ewallet"
    mobile_money = "mobile_money"


class AccountStatus(str, enum.Enum):
    pending = "pending"
    verified = "verified"
    disabled = "disabled"


class VerificationMethod(str, enum.Enum):
    test_transfer = "test_transfer"
    statement = "statement"
    in_person = "in_person"


class LinkedAccount(Base):
    """A producer's bank account, e-wallet or mobile-money account that buyers pay into."""

    __tablename__ = "linked_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    bank_bin: Mapped[str | None] = mapped_column(String(6))
    provider: Mapped[str] = mapped_column(String(60), default="")
    account_number: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(120))
    status: Mapped[AccountStatus] = mapped_column(str_enum(AccountStatus),
                                                  default=AccountStatus.pending)
    # The user who typed a number that replaces a verified destination; until someone else
    # verifies it (or a test transfer's reference is recorded) it is not trusted. A plain id,
    # no foreign key: SQLite adds and drops it without rebuilding this referenced table.
    number_changed_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    verifications = relationship("AccountVerification", order_by="AccountVerification.id",
                                 cascade="all, delete-orphan")


class AccountVerification(Base):
    """A period during which an account was verified: reports ask "verified on day D?"."""

    __tablename__ = "account_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("linked_account.id"), index=True)
    method: Mapped[VerificationMethod] = mapped_column(str_enum(VerificationMethod))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(String(80))  # of the test transfer seen

    verified_by = relationship("User", lazy="joined")


class Channel(str, enum.Enum):
    card = "card"
    vietqr = "vietqr"
    cash = "cash"
    external = "external"
    transfer = "transfer"  # a payout sent to the producer's own account


class EntryKind(str, enum.Enum):
    sale = "sale"
    refund = "refund"
    payout = "payout"


class EntryStatus(str, enum.Enum):
    completed = "completed"
    refunded = "refunded"
    cancelled = "cancelled"


class LedgerEntry(Base):
    """One completed sale, refund or payout of a producer, on ocopkit or another platform.

    Amounts are whole đồng, positive; `kind` says which way the money went. `platform` and
    `reference` identify an entry from outside (unique together, so re-imports are no-ops)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("platform", "reference"),
                      CheckConstraint("amount_vnd > 0", name="amount_positive"),
                      Index("ix_ledger_entry_producer_occurred", "producer_id", "occurred_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    platform: Mapped[str] = mapped_column(String(40), default="ocopkit")
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reference: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("linked_account.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class AttemptStatus(str, enum.Enum):
    created = "created"
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"


class PaymentAttempt(Base):
    """One try at paying an order by card: the idempotency key is stored before the gateway
    is called and reused on retry; the gateway's PaymentIntent id is stored after."""

    __tablename__ = "payment_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[AttemptStatus] = mapped_column(str_enum(AttemptStatus),
                                                  default=AttemptStatus.created)
    error_code: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PaymentProblem(Base):
    """A PaymentIntent of one of our attempts that succeeded at the gateway with another
    amount or currency than the attempt's: no sale is recorded, the order stays unpaid, and
    staff see this row on the order and the producer's ledger until they settle it with
    the buyer (a refund at the gateway). One row per PaymentIntent."""

    __tablename__ = "payment_problem"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempt.id"))
    intent_id: Mapped[str] = mapped_column(String(64), unique=True)
    expected_vnd: Mapped[int] = mapped_column(Integer)
    gateway_amount: Mapped[int] = mapped_column(BigInteger)  # in the currency's smallest unit
    gateway_currency: Mapped[str] = mapped_column(String(10))
    gateway_status: Mapped[str] = mapped_column(String(40))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEvent(Base):
    """A gateway event already handled: inserted in the same transaction as its effect."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TransferStatus(str, enum.Enum):
    expected = "expected"
    claimed = "claimed"
    confirmed = "confirmed"
    cancelled = "cancelled"


class ConfirmedHow(str, enum.Enum):
    producer = "producer"
    officer = "officer"
    statement = "statement"


class BankTransfer(Base):
    """A VietQR bank transfer the buyer owes for an order, paid straight into the producer's
    verified account: expected -> claimed (the buyer says it is sent) -> confirmed (the
    producer or an officer saw it, or a bank statement line matched reference and amount).

    The destination shown to the buyer at checkout is stored with it: the code never follows
    later edits of the account row."""

    __tablename__ = "bank_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("linked_account.id"))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(25))
    status: Mapped[TransferStatus] = mapped_column(str_enum(TransferStatus),
                                                   default=TransferStatus.expected)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_how: Mapped[ConfirmedHow | None] = mapped_column(str_enum(ConfirmedHow))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the destination as shown at checkout
    bank_bin: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(120))

    account = relationship("LinkedAccount", lazy="joined")


class ReservationStatus(str, enum.Enum):
    reserved = "reserved"    # counted against the cap; the gateway call may be on its way
    completed = "completed"  # the gateway refunded: the ledger row is `entry`
    released = "released"    # the gateway said no, or shows it never happened


class RefundReservation(Base):
    """A refund held against what an order's card paid, committed before the gateway is
    called (under the order's lock), so refunds running at once never exceed the payment.
    Its id travels in the gateway refund's metadata, so a refund whose answer was lost is
    found again by listing the PaymentIntent's refunds."""

    __tablename__ = "refund_reservation"
    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), index=True)
    payment_intent: Mapped[str] = mapped_column(String(64))
    amount_vnd: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[ReservationStatus] = mapped_column(str_enum(ReservationStatus),
                                                      default=ReservationStatus.reserved)
    refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
