"""A producer's rights over its personal data (Law 91/2025/QH15, Decree 13/2023): see
everything held about it, and be erased. Plain functions over a Session; the caller commits.

Erasure removes what names or reaches the household (names, representative, phone,
own-language texts, village, account numbers, photos) and keeps what the reports and the
books need (commune, ethnic group, kind, OCOP stars and dates, the ledger, order amounts,
booth status and consent periods), so every report figure stays as it was. Public pages
stop showing an erased producer at once (onboarding.consents.consented). Photo files
cannot share the transaction: the caller deletes them after the commit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_producer
from ocopkit.db import utcnow
from ocopkit.errors import Conflict, Invalid, N_, NotAllowed, NotFound
from ocopkit.text import fold, nfc, slugify
from ocopkit.users import Role, User
from onboarding import consents
from onboarding.models import ChangeRecord, Consent, Erasure, Producer, Training
from onboarding.producers import record_change

ERASED = "[đã xoá]"
MIN_SECRET_LENGTH = 3  # shorter fragments would blot out unrelated words


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _rows(items, *names) -> list[dict]:
    return [{n: _iso(getattr(i, n)) for n in names} for i in items]


def _enum(value):
    return getattr(value, "value", value)


def personal_data(session: Session, actor, producer: Producer) -> dict:
    """Everything ocopkit holds about the producer, as plain data (the JSON download and
    the readable page). Account numbers are masked; buyers' details are theirs, not the
    producer's, so orders show only reference, date, status and amount."""
    from payments.accounts import accounts_of, mask
    from payments.ledger import entries
    from shop.booths import booth_of_producer
    from shop.models import Order, Product, ProductImage

    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such producer."))
    consent_rows = session.scalars(select(Consent).where(Consent.producer_id == producer.id)
                                   .order_by(Consent.granted_at, Consent.id)).unique()
    booth = booth_of_producer(session, producer.id)
    products = list(session.scalars(select(Product).where(
        Product.booth_id == (booth.id if booth else -1)).order_by(Product.id)))
    photos = dict(session.execute(
        select(ProductImage.product_id, func.count(ProductImage.id))
        .where(ProductImage.product_id.in_([p.id for p in products] or [-1]))
        .group_by(ProductImage.product_id)).all())
    ledger = entries(session, producer.id, per_page=10_000).items
    orders = session.execute(select(Order.reference, Order.placed_at, Order.status,
                                    Order.total_vnd).where(Order.producer_id == producer.id)
                             .order_by(Order.placed_at, Order.id)).all()
    history = session.scalars(select(ChangeRecord).where(ChangeRecord.producer_id == producer.id)
                              .order_by(ChangeRecord.at, ChangeRecord.id)).unique()
    return {
        "producer": {
            "code": producer.code, "kind": _enum(producer.kind), "name": producer.name,
            "name_own_language": producer.name_own_language,
            "representative": producer.representative, "phone": producer.phone,
            "ethnic_group": producer.ethnic_group.name if producer.ethnic_group else None,
            "commune": producer.commune.name, "village": producer.village,
            "ocop_stars": producer.ocop_stars,
            "ocop_certificate_no": producer.ocop_certificate_no,
            "ocop_certified_on": _iso(producer.ocop_certified_on),
            "registered_at": _iso(producer.created_at),
        },
        "consents": [{"purpose": _enum(c.purpose), "granted_at": _iso(c.granted_at),
                      "withdrawn_at": _iso(c.withdrawn_at),
                      "witness": c.witness.display_name if c.witness else None}
                     for c in consent_rows],
        "consent_periods": [{"purpose": _enum(p.purpose), "started_at": _iso(p.started_at),
                             "ended_at": _iso(p.ended_at)}
                            for p in consents.periods(session, producer.id)],
        "trainings": _rows(session.scalars(select(Training).where(
            Training.producer_id == producer.id).order_by(Training.held_on)),
            "held_on", "topic", "trainer"),
        "booth": None if booth is None else {
            "title": booth.title, "story": booth.story,
            "story_own_language": booth.story_own_language, "status": _enum(booth.status),
            "published_at": _iso(booth.published_at), "has_cover_photo": bool(booth.cover_image),
        },
        "products": [{"name": p.name, "description": p.description, "unit": p.unit,
                      "price_vnd": p.price_vnd, "stock": p.stock, "status": _enum(p.status),
                      "photos": photos.get(p.id, 0)} for p in products],
        "accounts": [{"kind": _enum(a.kind), "provider": a.provider,
                      "account_number": mask(a.account_number), "holder_name": a.holder_name,
                      "status": _enum(a.status)} for a in accounts_of(session, producer.id)],
        "ledger": [{"occurred_at": _iso(e.occurred_at), "kind": _enum(e.kind),
                    "channel": _enum(e.channel), "platform": e.platform,
                    "status": _enum(e.status), "amount_vnd": e.amount_vnd,
                    "reference": e.reference} for e in ledger],
        "orders": [{"reference": ref, "placed_at": _iso(at), "status": _enum(status),
                    "total_vnd": total} for ref, at, status, total in orders],
        "history": [{"at": _iso(h.at), "action": h.action, "detail": h.detail}
                    for h in history],
    }


# --- erasure ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErasureResult:
    erasure: Erasure
    photo_keys: tuple[str, ...]  # delete these files after the commit (delete_photo_files)


def is_erased(session: Session, producer_id: int) -> bool:
    return session.scalar(select(Erasure.id).where(Erasure.producer_id == producer_id)) is not None


def _secrets(session: Session, producer: Producer, logins: list[User], accounts) -> list[str]:
    values = [producer.name, producer.name_own_language, producer.representative,
              producer.phone, producer.village]
    values += [a.account_number for a in accounts] + [a.holder_name for a in accounts]
    values += [u.username for u in logins] + [u.display_name for u in logins]
    found = {nfc(v).strip() for v in values if v and len(nfc(v).strip()) >= MIN_SECRET_LENGTH}
    return sorted(found, key=len, reverse=True)  # longest first: a name before its parts


def _scrubber(secrets: list[str]):
    if not secrets:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(s) for s in secrets), re.IGNORECASE)
    return lambda text: pattern.sub(ERASED, text) if text else text


def erase_producer(session: Session, actor, producer: Producer, *,
                   reason: str) -> ErasureResult:
    """Erase the producer's personal data (administrators only, with a reason)."""
    from payments.accounts import accounts_of
    from shop.booths import booth_of_producer
    from shop.models import Lot, Order, OrderLine, Product, ProductImage

    if getattr(actor, "role", None) != Role.admin or not can_manage_producer(actor, producer):
        raise NotAllowed(N_("Only an administrator can erase a producer."))
    reason = nfc(reason or "").strip()
    if not reason:
        raise Invalid("reason", N_("Say why the producer is erased (for example: the "
                                   "household asked on 2 December)."))
    if is_erased(session, producer.id):
        raise Conflict("reason", N_("This producer has already been erased."))
    logins = list(session.scalars(select(User).where(User.producer_id == producer.id)))
    accounts = accounts_of(session, producer.id)
    scrub = _scrubber(_secrets(session, producer, logins, accounts))
    keys: list[str] = []

    booth = booth_of_producer(session, producer.id)
    if booth is not None:
        if booth.cover_image:
            keys.append(booth.cover_image)
        booth.title, booth.slug, booth.story, booth.story_own_language = ERASED, "da-xoa", "", ""
        booth.cover_image = None
        products = list(session.scalars(select(Product).where(Product.booth_id == booth.id)))
        product_ids = [p.id for p in products] or [-1]
        for image in session.scalars(select(ProductImage)
                                     .where(ProductImage.product_id.in_(product_ids))):
            keys.append(image.key)
            session.delete(image)
        for product in products:
            product.name, product.description = scrub(product.name), scrub(product.description)
            product.slug = slugify(product.name) or "san-pham"
            product.search_text = fold(product.name)
        for lot in session.scalars(select(Lot).where(Lot.product_id.in_(product_ids))):
            lot.origin, lot.notes = scrub(lot.origin), scrub(lot.notes)
            lot.withdrawal_reason = scrub(lot.withdrawal_reason)
            for event in lot.events:
                event.place, event.note = scrub(event.place), scrub(event.note)
        for line in session.scalars(select(OrderLine).join(Order, Order.id == OrderLine.order_id)
                                    .where(Order.producer_id == producer.id)):
            line.name = scrub(line.name)
        for order in session.scalars(select(Order).where(Order.producer_id == producer.id)):
            order.note = scrub(order.note)
    for account in accounts:
        account.account_number, account.holder_name = ERASED, ERASED
    for training in session.scalars(select(Training).where(Training.producer_id == producer.id)):
        training.topic = scrub(training.topic)
    for change in session.scalars(select(ChangeRecord)
                                  .where(ChangeRecord.producer_id == producer.id)):
        change.detail = scrub(change.detail)
    for user in logins:
        user.username, user.display_name = f"erased-{user.id}", ERASED
        user.password_hash, user.is_active = "!", False
        user.session_version = (user.session_version or 0) + 1
    producer.name, producer.name_own_language, producer.representative = ERASED, None, ""
    producer.phone, producer.village, producer.ocop_certificate_no = None, "", None
    producer.search_text = fold(producer.code)
    erasure = Erasure(producer_id=producer.id, erased_by_id=getattr(actor, "id", None),
                      erased_at=utcnow(), reason=scrub(reason), photos_deleted=len(keys))
    session.add(erasure)
    session.flush()
    record_change(session, actor, producer, "erased")
    return ErasureResult(erasure, tuple(keys))


def delete_photo_files(media_root, keys) -> None:
    """After the erasure's commit: remove the photos' files from the media root."""
    from shop.media import delete_photo

    for key in keys:
        delete_photo(media_root, key)
