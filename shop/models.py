"""Booths, products and their photos, orders and order lines."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ocopkit.db import Base, UTCDateTime, str_enum, utcnow, version_column

MAX_PHOTOS_PER_PRODUCT = 5


class BoothStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    suspended = "suspended"


class ProductStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    hidden = "hidden"


class Category(str, enum.Enum):
    tea = "tea"
    rice = "rice"
    coffee = "coffee"
    honey = "honey"
    spices = "spices"
    herbs = "herbs"
    fruit = "fruit"
    meat = "meat"
    drinks = "drinks"
    crafts = "crafts"
    other = "other"


class OrderStatus(str, enum.Enum):
    placed = "placed"
    confirmed = "confirmed"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


class PaymentMethod(str, enum.Enum):
    card = "card"
    vietqr = "vietqr"
    cash = "cash"


class Booth(Base):
    """A producer's online booth (gian hàng): one per producer."""

    __tablename__ = "booth"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80))
    story: Mapped[str] = mapped_column(Text, default="")
    story_own_language: Mapped[str] = mapped_column(Text, default="")
    cover_image: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[BoothStatus] = mapped_column(str_enum(BoothStatus), default=BoothStatus.draft)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = version_column()

    __mapper_args__ = {"version_id_col": version}

    producer = relationship("Producer", lazy="joined")


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price_vnd >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = mapped_column(ForeignKey("booth.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    slug: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[Category] = mapped_column(str_enum(Category), default=Category.other)
    unit: Mapped[str] = mapped_column(String(30))
    price_vnd: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ProductStatus] = mapped_column(str_enum(ProductStatus),
                                                  default=ProductStatus.draft)
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = version_column()

    __mapper_args__ = {"version_id_col": version}

    booth = relationship("Booth")
    images = relationship("ProductImage", order_by="ProductImage.position",
                          cascade="all, delete-orphan")


class ProductImage(Base):
    """A photo stored as WebP renditions 320 px and 960 px wide under a random key."""

    __tablename__ = "product_image"
    __table_args__ = (UniqueConstraint("product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(Base):
    """One buyer's order from one booth; a cart spanning booths makes one order per booth."""

    __tablename__ = "shop_order"
    __table_args__ = (CheckConstraint("total_vnd >= 0", name="total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    booth_id: Mapped[int] = mapped_column(ForeignKey("booth.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    buyer_name: Mapped[str] = mapped_column(String(120))
    buyer_phone: Mapped[str] = mapped_column(String(15))
    delivery_address: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus), default=OrderStatus.placed)
    payment_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    total_vnd: Mapped[int] = mapped_column(BigInteger)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines = relationship("OrderLine", order_by="OrderLine.id", cascade="all, delete-orphan")
    booth = relationship("Booth")


class OrderLine(Base):
    """A product in an order, with its name and price as they were when ordered."""

    __tablename__ = "order_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    unit: Mapped[str] = mapped_column(String(30))
    price_vnd: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)


class LotEventKind(str, enum.Enum):
    harvested = "harvested"
    processed = "processed"
    packed = "packed"
    shipped = "shipped"
    received = "received"
    sold = "sold"


class Lot(Base):
    """A traceable batch of a product; `trace_code` is the short public code in /t/<code>."""

    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("product_id", "lot_code"),
                      CheckConstraint("quantity IS NULL OR quantity >= 0",
                                      name="quantity_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    lot_code: Mapped[str] = mapped_column(String(20))
    trace_code: Mapped[str] = mapped_column(String(12), unique=True)
    produced_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(30), default="")
    origin: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product = relationship("Product")
    events = relationship("LotEvent", order_by="LotEvent.occurred_at",
                          cascade="all, delete-orphan")


class LotEvent(Base):
    """One step of a batch's life: harvested, processed, packed, shipped, received, sold."""

    __tablename__ = "lot_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    kind: Mapped[LotEventKind] = mapped_column(str_enum(LotEventKind))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recorded_by = relationship("User", lazy="joined")


class LotScanDay(Base):
    """How often a batch's label was scanned on one local day: a count, nothing personal."""

    __tablename__ = "lot_scan_day"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    scans: Mapped[int] = mapped_column(Integer, default=0)
