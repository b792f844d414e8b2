"""Batches (lots) of products: trace codes, timelines, recalls, scan counts, the GS1 Digital
Link resolver and an EPCIS 2.0 export. Plain functions over a Session; the caller commits."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_producer
from ocopkit.db import utcnow
from ocopkit.errors import Invalid, N_, NotFound
from ocopkit.text import nfc
from onboarding.consents import has_consent
from shop.booths import certificate_badge
from shop.gs1 import check_batch, digital_link_path, normalise_gtin
from shop.labels import LabelData
from shop.models import Booth, Lot, LotEvent, LotEventKind, LotScanDay, Product, ProductImage

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TRACE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
TRACE_CODE_LENGTH = 8
_LOT_CODE = re.compile(r"^[A-Za-z0-9]{1,20}$")
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
_BIZ_STEPS = {
    LotEventKind.harvested: "commissioning", LotEventKind.processed: "transforming",
    LotEventKind.packed: "packing", LotEventKind.shipped: "shipping",
    LotEventKind.received: "receiving", LotEventKind.sold: "retail_selling",
}


def new_trace_code() -> str:
    """8 characters from 32 unambiguous ones: 2^40 codes, not guessable, short in a QR."""
    return "".join(secrets.choice(TRACE_ALPHABET) for _ in range(TRACE_CODE_LENGTH))


def _producer_of(session: Session, product: Product):
    return session.get(Booth, product.booth_id).producer


def _require_manager(session: Session, actor, product: Product) -> None:
    if not can_manage_producer(actor, _producer_of(session, product)):
        raise NotFound(N_("No such product."))


def get_lot(session: Session, actor, lot_id: int) -> Lot:
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(N_("No such batch."))
    _require_manager(session, actor, lot.product)
    return lot


def set_gtin(session: Session, actor, product: Product, gtin: str | None) -> Product:
    """Record (or clear) the product's GTIN after checking its GS1 check digit."""
    _require_manager(session, actor, product)
    value = normalise_gtin(gtin) if gtin and gtin.strip() else None
    if value and session.scalar(select(Product.id).where(Product.gtin == value,
                                                         Product.id != product.id)):
        raise Invalid("gtin", N_("Another product already has the GTIN %(gtin)s."), gtin=value)
    product.gtin = value
    session.flush()
    return product


def create_lot(session: Session, actor, product: Product, *, lot_code: str, produced_on: date,
               expires_on: date | None = None, quantity: int | None = None, unit: str = "",
               origin: str = "", notes: str = "") -> Lot:
    """A new batch with a fresh trace code; lot codes are unique per product."""
    _require_manager(session, actor, product)
    lot_code = (lot_code or "").strip().upper()
    if not _LOT_CODE.match(lot_code):
        raise Invalid("lot_code", N_("A lot code is 1 to 20 letters and digits."))
    if expires_on is not None and expires_on < produced_on:
        raise Invalid("expires_on", N_("The expiry date is before the production date."))
    if quantity is not None and quantity < 0:
        raise Invalid("quantity", N_("The quantity cannot be negative."))
    if session.scalar(select(Lot.id).where(Lot.product_id == product.id,
                                           Lot.lot_code == lot_code)):
        raise Invalid("lot_code", N_("This product already has a batch %(lot)s."), lot=lot_code)
    lot = Lot(product_id=product.id, lot_code=lot_code, produced_on=produced_on,
              expires_on=expires_on, quantity=quantity, unit=nfc(unit) or product.unit,
              origin=nfc(origin), notes=nfc(notes))
    for _ in range(5):
        lot.trace_code = new_trace_code()
        if not session.scalar(select(Lot.id).where(Lot.trace_code == lot.trace_code)):
            break
    session.add(lot)
    session.flush()
    return lot


def add_event(session: Session, actor, lot: Lot, *, kind: LotEventKind | str,
              occurred_at: datetime, place: str = "", note: str = "") -> LotEvent:
    _require_manager(session, actor, lot.product)
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    if occurred_at > utcnow():
        raise Invalid("occurred_at", N_("This step is in the future."))
    event = LotEvent(lot_id=lot.id, kind=LotEventKind(kind), occurred_at=occurred_at,
                     place=nfc(place), note=nfc(note), recorded_by_id=getattr(actor, "id", None))
    session.add(event)
    session.flush()
    return event


def withdraw_lot(session: Session, actor, lot: Lot, *, reason: str) -> Lot:
    """Recall a batch: its scan page shows the recall and the resolver answers 410."""
    _require_manager(session, actor, lot.product)
    reason = nfc(reason)
    if not reason:
        raise Invalid("reason", N_("Say why the batch is withdrawn."))
    lot.withdrawn_at = utcnow()
    lot.withdrawal_reason = reason
    session.flush()
    return lot


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LOCAL_TZ).date()


def record_scan(session: Session, lot_id: int, day: date) -> None:
    """Count one scan of the batch on `day`; no address or other personal data is kept."""
    bump = (update(LotScanDay).where(LotScanDay.lot_id == lot_id, LotScanDay.day == day)
            .values(scans=LotScanDay.scans + 1))
    if session.execute(bump).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(LotScanDay(lot_id=lot_id, day=day, scans=1))
    except IntegrityError:
        session.execute(bump)


def scan_counts(session: Session, lot_id: int, limit: int = 60) -> list[tuple[date, int]]:
    rows = session.execute(
        select(LotScanDay.day, LotScanDay.scans).where(LotScanDay.lot_id == lot_id)
        .order_by(LotScanDay.day.desc()).limit(limit))
    return [(day, scans) for day, scans in rows]


@dataclass(frozen=True)
class TraceStep:
    kind: str
    occurred_at: datetime
    place: str


@dataclass(frozen=True)
class TracePage:
    """Everything the scan page shows (Circular 02/2024/TT-BKHCN's minimum and more)."""

    trace_code: str
    lot_code: str
    gtin: str | None
    product_id: int
    product_name: str
    product_slug: str
    unit: str
    image_key: str | None
    booth_id: int
    booth_slug: str
    booth_published: bool
    producer_name: str
    commune: str
    village: str
    origin: str
    produced_on: date
    expires_on: date | None
    ocop_stars: int | None
    ocop_certificate_no: str | None
    ocop_valid: bool
    steps: tuple[TraceStep, ...]
    withdrawn: bool
    withdrawal_reason: str
    producer_private: bool = False


def producer_private(session: Session, lot: Lot) -> bool:
    """Without the publish consent a batch still tells its product, lot, dates and steps,
    but not who made it, where they live (village, places) or their photos."""
    return not has_consent(session, lot.product.booth.producer_id)


def trace_page(session: Session, lot: Lot, today: date) -> TracePage:
    product = lot.product
    booth = session.get(Booth, product.booth_id)
    producer = booth.producer
    private = producer_private(session, lot)
    image_key = None if private else session.scalar(select(ProductImage.key).where(
        ProductImage.product_id == product.id).order_by(ProductImage.position).limit(1))
    stars, certificate = producer.ocop_stars, producer.ocop_certificate_no
    valid = certificate_badge(stars, certificate, producer.ocop_certified_on, today) is not None
    from shop.models import BoothStatus

    return TracePage(
        trace_code=lot.trace_code, lot_code=lot.lot_code, gtin=product.gtin,
        product_id=product.id, product_name=product.name, product_slug=product.slug,
        unit=lot.unit, image_key=image_key, booth_id=booth.id, booth_slug=booth.slug,
        booth_published=booth.status == BoothStatus.published and not private,
        producer_name="" if private else producer.name, commune=producer.commune.name,
        village="" if private else producer.village, origin="" if private else lot.origin,
        produced_on=lot.produced_on, expires_on=lot.expires_on,
        ocop_stars=stars, ocop_certificate_no=certificate, ocop_valid=valid,
        steps=tuple(TraceStep(e.kind.value, e.occurred_at, "" if private else e.place)
                    for e in lot.events),
        withdrawn=lot.withdrawn_at is not None, withdrawal_reason=lot.withdrawal_reason,
        producer_private=private,
    )


def lot_by_trace_code(session: Session, code: str) -> Lot | None:
    return session.scalar(select(Lot).where(Lot.trace_code == code.upper()))


@dataclass(frozen=True)
class Resolution:
    """What the GS1 Digital Link resolver answers: 200 lot, 303 product (bare GTIN or unknown
    lot), 400 malformed key (`error` says why), 404 unknown GTIN, 410 recalled lot."""

    status: int
    lot: Lot | None = None
    product: Product | None = None
    error: Invalid | None = None


def resolve_digital_link(session: Session, gtin: str, lot_code: str | None = None) -> Resolution:
    try:
        gtin14 = normalise_gtin(gtin)
        if lot_code is not None:
            check_batch(lot_code)
    except Invalid as e:
        return Resolution(400, error=e)
    product = session.scalar(select(Product).where(Product.gtin == gtin14))
    if product is None:
        return Resolution(404)
    lot = None if lot_code is None else session.scalar(select(Lot).where(
        Lot.product_id == product.id, Lot.lot_code == lot_code.upper()))
    if lot is None:
        return Resolution(303, product=product)
    return Resolution(410 if lot.withdrawn_at else 200, lot=lot, product=product)


def epcis_document(lot: Lot, *, trace_url: str, now: datetime | None = None,
                   private: bool = False) -> dict:
    """The batch's events as an EPCIS 2.0 JSON-LD document (ObjectEvents on the lot's
    class-level identifier: the GTIN + lot when there is a GTIN, else the trace URL).
    `private` (see producer_private) leaves out the places, which name the village."""
    product = lot.product
    if product.gtin:
        epc_class = f"https://id.gs1.org/01/{product.gtin}/10/{lot.lot_code}"
    else:
        epc_class = trace_url
    events = []
    for event in lot.events:
        item = {
            "type": "ObjectEvent",
            "eventTime": event.occurred_at.astimezone(timezone.utc).isoformat().replace(
                "+00:00", "Z"),
            "eventTimeZoneOffset": "+07:00",
            "action": "ADD" if event.kind == LotEventKind.harvested else "OBSERVE",
            "bizStep": _BIZ_STEPS[event.kind],
            "quantityList": [{"epcClass": epc_class,
                              **({"quantity": lot.quantity, "uom": lot.unit}
                                 if lot.quantity is not None else {})}],
        }
        if event.place and not private:
            item["ocop:place"] = event.place
        events.append(item)
    created = (now or utcnow()).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return {
        "@context": [EPCIS_CONTEXT, {"ocop": "urn:ocopkit:"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisBody": {"eventList": events},
    }


def trace_link(base_url: str, trace_code: str) -> str:
    """The short public URL of a batch, as printed in its QR code: <base>/t/<code>."""
    return f"{base_url.rstrip('/')}/t/{trace_code}"


def label_url(lot: Lot, base_url: str) -> str:
    """What a batch's QR code holds: its GS1 Digital Link URI when the product has a GTIN
    (any GS1 scanner app reads it), else the short trace URL."""
    if lot.product.gtin:
        return base_url.rstrip("/") + digital_link_path(lot.product.gtin, lot.lot_code)
    return trace_link(base_url, lot.trace_code)


def lot_label(lot: Lot, base_url: str) -> LabelData:
    """The facts printed beside the QR code, which leads to label_url."""
    product = lot.product
    producer = product.booth.producer
    return LabelData(url=label_url(lot, base_url), product=product.name,
                     producer=producer.name, lot=lot.lot_code,
                     stars=_valid_stars(producer),
                     produced_on=lot.produced_on, expires_on=lot.expires_on)


def _valid_stars(producer) -> int | None:
    """The stars a label may print: the producer's, while its certificate is valid."""
    badge = certificate_badge(producer.ocop_stars, producer.ocop_certificate_no,
                              producer.ocop_certified_on, local_today())
    return badge.stars if badge else None


def local_to_utc(value: datetime) -> datetime:
    """A wall-clock time typed in Vietnam (naive) as an aware UTC time."""
    return value.replace(tzinfo=LOCAL_TZ).astimezone(timezone.utc)
