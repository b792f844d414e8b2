"""Reference data and the producer register: ethnic groups, communes, producers, consent,
training and the history of changes made for a producer."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Date, Enum, ForeignKey, Index, Integer, String, Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ocopkit.db import Base, UTCDateTime, utcnow, version_column

KINH_CODE = "01"
CERTIFICATE_VALID_MONTHS = 36


class ProducerKind(str, enum.Enum):
    household = "household"
    cooperative = "cooperative"
    enterprise = "enterprise"


class ConsentPurpose(str, enum.Enum):
    publish_booth = "publish_booth"
    show_phone = "show_phone"
    link_payment_account = "link_payment_account"


class EthnicGroup(Base):
    """One of the 54 officially recognised ethnic groups (code from the statistics office)."""

    __tablename__ = "ethnic_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)

    @property
    def is_minority(self) -> bool:
        return self.code != KINH_CODE


class Commune(Base):
    __tablename__ = "commune"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    is_ethnic_minority_area: Mapped[bool] = mapped_column(Boolean, default=False)


class Producer(Base):
    """A household, cooperative or enterprise on the province's OCOP register."""

    __tablename__ = "producer"
    __table_args__ = (
        CheckConstraint("ocop_stars IS NULL OR ocop_stars BETWEEN 3 AND 5", name="ocop_stars"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[ProducerKind] = mapped_column(
        Enum(ProducerKind, native_enum=False, length=20, validate_strings=True)
    )
    name: Mapped[str] = mapped_column(String(200))
    name_own_language: Mapped[str | None] = mapped_column(String(200))
    representative: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(15), unique=True)
    ethnic_group_id: Mapped[int | None] = mapped_column(ForeignKey("ethnic_group.id"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id"), index=True)
    village: Mapped[str] = mapped_column(String(120), default="")
    ocop_stars: Mapped[int | None] = mapped_column(Integer)
    ocop_certificate_no: Mapped[str | None] = mapped_column(String(60))
    ocop_certified_on: Mapped[date | None] = mapped_column(Date)
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = version_column()

    __mapper_args__ = {"version_id_col": version}

    ethnic_group: Mapped[EthnicGroup | None] = relationship(lazy="joined")
    commune: Mapped[Commune] = relationship(lazy="joined")


class Consent(Base):
    """A household's consent to one purpose, witnessed by an officer; withdrawn_at ends it."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    purpose: Mapped[ConsentPurpose] = mapped_column(
        Enum(ConsentPurpose, native_enum=False, length=30, validate_strings=True)
    )
    witness_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    witness = relationship("User", foreign_keys=[witness_id], lazy="joined")


class ConsentPeriod(Base):
    """A span during which a consent held: reports ask "consented on day D?" (as
    AccountVerification does for accounts). ended_at is empty while it holds."""

    __tablename__ = "consent_period"
    __table_args__ = (Index("ix_consent_period_producer_purpose", "producer_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"))
    purpose: Mapped[ConsentPurpose] = mapped_column(
        Enum(ConsentPurpose, native_enum=False, length=30, validate_strings=True)
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Erasure(Base):
    """That a producer's personal data was erased, when, by whom and why; nothing personal."""

    __tablename__ = "erasure"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), unique=True)
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    photos_deleted: Mapped[int] = mapped_column(Integer, default=0)


class Training(Base):
    """One training a producer attended."""

    __tablename__ = "training"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200))
    trainer: Mapped[str] = mapped_column(String(120))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class ChangeRecord(Base):
    """Who entered what for which producer: the history shown on the producer's page."""

    __tablename__ = "change_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("User", lazy="joined")
