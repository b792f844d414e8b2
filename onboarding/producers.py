"""The producer register: registering and updating producers, consent, logins, training,
and the on-behalf history. Plain functions over a Session; the caller commits."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_commune, can_manage_producer, is_staff, producer_scope
from ocopkit.db import check_version, flush_versioned, utcnow
from ocopkit.errors import Conflict, Invalid, N_, NotAllowed, NotFound
from ocopkit.text import fold, nfc
from ocopkit.passwords import temporary_pin
from ocopkit.users import (
    Role, User, create_user, normalise_username, record_account_event, set_password,
)
from onboarding import consents
from onboarding.models import (
    CERTIFICATE_VALID_MONTHS, ChangeRecord, Commune, Consent, ConsentPurpose, EthnicGroup,
    Producer, ProducerKind, Training,
)

_PHONE_JUNK = re.compile(r"[\s.\-()]")
_PHONE = re.compile(r"0[1-9][0-9]{8,9}")  # [0-9], not \d: other scripts' digits never match


@dataclass
class ProducerData:
    """The register's fields for one producer, already typed (from a form or a CSV row)."""

    code: str
    kind: ProducerKind
    name: str
    commune: Commune
    representative: str = ""
    phone: str | None = None
    ethnic_group: EthnicGroup | None = None
    village: str = ""
    name_own_language: str | None = None
    ocop_stars: int | None = None
    ocop_certificate_no: str | None = None
    ocop_certified_on: date | None = None


def normalise_phone(raw: str | None) -> str | None:
    """'+84 912 345 678' -> '0912345678'; blank -> None; anything else raises Invalid."""
    text = _PHONE_JUNK.sub("", raw or "")
    if not text:
        return None
    if text.startswith("+84"):
        text = "0" + text[3:].removeprefix("0")  # '+84 0912...' keeps one trunk 0
    elif text.startswith("84") and len(text) in (11, 12):
        text = "0" + text[2:].removeprefix("0")
    if not _PHONE.fullmatch(text):
        raise Invalid("phone", N_("%(value)s is not a Vietnamese phone number (10 digits, "
                                  "starting with 0)."), value=raw.strip())
    return text


def certificate_expires_on(certified_on: date) -> date:
    """The first day on which a certificate issued on `certified_on` is no longer valid."""
    month = certified_on.month - 1 + CERTIFICATE_VALID_MONTHS
    year, month = certified_on.year + month // 12, month % 12 + 1
    day = min(certified_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def check_producer_data(data: ProducerData, today: date) -> list[Invalid]:
    """Every rule a single producer's fields must meet, as a list of errors (empty if fine)."""
    errors = []
    data.code = nfc(data.code)
    data.name = nfc(data.name)
    data.representative = nfc(data.representative)
    data.village = nfc(data.village)
    data.name_own_language = nfc(data.name_own_language) or None
    data.ocop_certificate_no = nfc(data.ocop_certificate_no) or None
    if not data.code:
        errors.append(Invalid("code", N_("The producer code is required.")))
    elif len(data.code) > 40:
        errors.append(Invalid("code", N_("The producer code is longer than 40 characters.")))
    if not data.name:
        errors.append(Invalid("name", N_("The name is required.")))
    if data.kind == ProducerKind.household and data.ethnic_group is None:
        errors.append(Invalid("ethnic_group", N_("A household needs the ethnic group of its head.")))
    try:
        data.phone = normalise_phone(data.phone)
    except Invalid as e:
        errors.append(e)
    if data.ocop_stars is not None and data.ocop_stars not in (3, 4, 5):
        errors.append(Invalid("ocop_stars", N_("OCOP stars must be 3, 4 or 5.")))
    if data.ocop_certified_on is not None:
        if data.ocop_stars is None:
            errors.append(Invalid("ocop_certified_on",
                                  N_("A certification date needs OCOP stars.")))
        elif data.ocop_certified_on > today:
            errors.append(Invalid("ocop_certified_on",
                                  N_("The certification date is in the future.")))
    return errors


def search_text_of(producer: Producer) -> str:
    parts = (producer.code, producer.name, producer.name_own_language, producer.representative,
             producer.phone, producer.village)
    return fold(" ".join(p for p in parts if p))


def record_change(session: Session, actor, producer: Producer, action: str, detail: str = "") -> None:
    """Note in the producer's history who did what for them."""
    session.add(ChangeRecord(producer_id=producer.id, actor_id=getattr(actor, "id", None),
                             action=action, detail=detail, at=utcnow()))


def _require_staff_for(actor, commune_id: int) -> None:
    if not is_staff(actor):
        raise NotAllowed(N_("Only officers and administrators can do this."))
    if not can_manage_commune(actor, commune_id):
        raise NotFound(N_("No such commune among yours."))


PHONE_TAKEN = N_("The phone %(phone)s is already registered to producer %(code)s.")
# An officer may learn that a phone is taken, never by whom outside their communes.
PHONE_TAKEN_ELSEWHERE = N_("The phone %(phone)s is already registered to another producer.")


def _check_unique(session: Session, actor, data: ProducerData, own_id: int | None) -> None:
    clash = select(Producer.id).where(Producer.code == data.code)
    if own_id is not None:
        clash = clash.where(Producer.id != own_id)
    if session.scalar(clash):
        raise Conflict("code", N_("Another producer already has the code %(code)s."), code=data.code)
    if data.phone:
        clash = select(Producer).where(Producer.phone == data.phone)
        if own_id is not None:
            clash = clash.where(Producer.id != own_id)
        other = session.scalars(clash).first()
        if other is not None and can_manage_producer(actor, other):
            raise Conflict("phone", PHONE_TAKEN, phone=data.phone, code=other.code)
        if other is not None:
            raise Conflict("phone", PHONE_TAKEN_ELSEWHERE, phone=data.phone)


def _validated(session: Session, actor, data: ProducerData, own_id: int | None) -> None:
    _require_staff_for(actor, data.commune.id)
    errors = check_producer_data(data, utcnow().date())
    if errors:
        raise errors[0]
    _check_unique(session, actor, data, own_id)


def _column_values(data: ProducerData) -> dict[str, object]:
    values = {}
    for f in fields(ProducerData):
        value = getattr(data, f.name)
        if f.name in ("commune", "ethnic_group"):
            values[f"{f.name}_id"] = value.id if value is not None else None
        else:
            values[f.name] = value
    return values


def producer_diff(producer: Producer, data: ProducerData) -> list[str]:
    """The register fields that `data` would change on `producer`."""
    return [name for name, value in _column_values(data).items()
            if getattr(producer, name) != value]


def _apply(producer: Producer, data: ProducerData) -> list[str]:
    """Copy data onto producer; returns the names of the columns that changed."""
    changed = producer_diff(producer, data)
    for name, value in _column_values(data).items():
        setattr(producer, name, value)
    producer.search_text = search_text_of(producer)
    return changed


def register_producer(session: Session, actor, data: ProducerData) -> Producer:
    """Put a new producer on the register (officers of its commune and admins only)."""
    _validated(session, actor, data, None)
    producer = Producer()
    _apply(producer, data)
    session.add(producer)
    session.flush()
    record_change(session, actor, producer, "registered")
    return producer


def update_producer(session: Session, actor, producer: Producer, data: ProducerData, *,
                    version: int | None = None) -> list[str]:
    """Change a producer's register entry; returns the changed fields (recorded in history).
    Stale if the entry was saved since `version`, the one the edit form was opened at."""
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such producer."))
    _validated(session, actor, data, producer.id)
    check_version(producer, version)
    changed = _apply(producer, data)
    if changed:
        flush_versioned(session)
        record_change(session, actor, producer, "updated", ", ".join(changed))
    return changed


def get_producer(session: Session, actor, producer_id: int) -> Producer:
    """The producer, if the actor may manage it; otherwise NotFound (never reveal it exists)."""
    producer = session.get(Producer, producer_id)
    if producer is None or not can_manage_producer(actor, producer):
        raise NotFound(N_("No such producer."))
    return producer


@dataclass(frozen=True)
class ProducerPage:
    items: list[Producer]
    page: int
    pages: int
    total: int


def list_producers(session: Session, actor, *, query: str = "", commune_id: int | None = None,
                   page: int = 1, per_page: int = 25) -> ProducerPage:
    """Producers the actor may manage, searched without regard to case or diacritics."""
    stmt = select(Producer).where(producer_scope(actor, Producer))
    for word in fold(query).split():
        stmt = stmt.where(Producer.search_text.contains(word, autoescape=True))
    if commune_id:
        stmt = stmt.where(Producer.commune_id == commune_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(session.scalars(
        stmt.order_by(Producer.name, Producer.id).limit(per_page).offset((page - 1) * per_page)
    ).unique())
    return ProducerPage(items, page, pages, total)


def find_duplicates(session: Session, actor, *, code: str = "", phone: str = "") -> list[Producer]:
    """Producers (visible to the actor) that already use this code or phone."""
    conditions = []
    if nfc(code):
        conditions.append(Producer.code == nfc(code))
    try:
        phone = normalise_phone(phone)
    except Invalid:
        phone = None
    if phone:
        conditions.append(Producer.phone == phone)
    if not conditions:
        return []
    return list(session.scalars(
        select(Producer).where(or_(*conditions), producer_scope(actor, Producer))
    ).unique())


def active_consents(session: Session, producer_id: int) -> dict[ConsentPurpose, Consent]:
    rows = session.scalars(select(Consent).where(
        Consent.producer_id == producer_id, Consent.withdrawn_at.is_(None)))
    return {c.purpose: c for c in rows}


def has_consent(session: Session, producer_id: int, purpose: ConsentPurpose | str) -> bool:
    return consents.has_consent(session, producer_id, purpose)


def record_consent(session: Session, actor, producer: Producer,
                   purpose: ConsentPurpose | str) -> Consent:
    """Record the household's consent to one purpose, witnessed by the acting officer."""
    purpose = ConsentPurpose(purpose)
    _require_staff_for(actor, producer.commune_id)
    existing = active_consents(session, producer.id).get(purpose)
    if existing is not None:
        return existing
    consent = Consent(producer_id=producer.id, purpose=purpose, witness_id=actor.id,
                      granted_at=utcnow())
    session.add(consent)
    session.flush()
    consents.start_period(session, consent)
    record_change(session, actor, producer, "consent_given", purpose.value)
    return consent


def withdraw_consent(session: Session, actor, producer: Producer,
                     purpose: ConsentPurpose | str) -> Consent:
    """End a consent (staff of its commune, or the producer's own login). What depended on
    it stops being public because every public page checks it (onboarding.consents)."""
    purpose = ConsentPurpose(purpose)
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such producer."))
    consent = active_consents(session, producer.id).get(purpose)
    if consent is None:
        raise Invalid("purpose", N_("There is no consent to withdraw for this purpose."))
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by_id = actor.id
    session.flush()
    consents.end_period(session, consent)
    if purpose == ConsentPurpose.link_payment_account:
        from payments.accounts import disable_all

        disable_all(session, actor, producer)
    record_change(session, actor, producer, "consent_withdrawn", purpose.value)
    return consent


def give_login(session: Session, actor, producer: Producer, *, password: str,
               username: str | None = None) -> User:
    """Give the producer its own login: the phone number (or a chosen name) and a PIN."""
    _require_staff_for(actor, producer.commune_id)
    if session.scalar(select(User.id).where(User.producer_id == producer.id)):
        raise Conflict("username", N_("This producer already has a login."))
    username = normalise_username(username or producer.phone or "")
    if not username:
        raise Invalid("username", N_("The producer has no phone number: choose a user name."))
    user = create_user(session, username=username, password=password, role=Role.producer,
                       display_name=producer.name, producer=producer)
    record_change(session, actor, producer, "login_given", username)
    record_account_event(session, actor, user, "created", Role.producer.value)
    return user


def reset_pin(session: Session, actor, producer: Producer) -> str:
    """A temporary PIN for a producer who forgot theirs, given by an officer of the commune
    (who has seen the person); the producer chooses a new one at the next login."""
    _require_staff_for(actor, producer.commune_id)
    user = session.scalar(select(User).where(User.producer_id == producer.id))
    if user is None:
        raise NotFound(N_("This producer has no login."))
    pin = temporary_pin(producer.phone)
    set_password(user, pin, temporary=True)
    record_change(session, actor, producer, "pin_reset")
    record_account_event(session, actor, user, "pin_reset")
    return pin


def record_training(session: Session, actor, producer: Producer, *, held_on: date, topic: str,
                    trainer: str) -> Training:
    _require_staff_for(actor, producer.commune_id)
    topic, trainer = nfc(topic), nfc(trainer)
    if not topic:
        raise Invalid("topic", N_("The training topic is required."))
    if not trainer:
        raise Invalid("trainer", N_("The trainer is required."))
    if held_on > utcnow().date():
        raise Invalid("held_on", N_("The training date is in the future."))
    training = Training(producer_id=producer.id, held_on=held_on, topic=topic, trainer=trainer,
                        recorded_by_id=actor.id)
    session.add(training)
    session.flush()
    record_change(session, actor, producer, "training_recorded", topic)
    return training


def trainings(session: Session, producer_id: int) -> list[Training]:
    return list(session.scalars(select(Training).where(Training.producer_id == producer_id)
                                .order_by(Training.held_on.desc())))


def history(session: Session, producer_id: int, limit: int = 50) -> list[ChangeRecord]:
    return list(session.scalars(
        select(ChangeRecord).where(ChangeRecord.producer_id == producer_id)
        .order_by(ChangeRecord.at.desc(), ChangeRecord.id.desc()).limit(limit)).unique())


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool


def _has_published_booth(session: Session, producer_id: int) -> bool:
    from shop.models import Booth, BoothStatus  # lazy: shop depends on onboarding

    return session.scalar(select(Booth.id).where(
        Booth.producer_id == producer_id, Booth.status == BoothStatus.published,
        consents.consented(producer_id))) is not None


def _has_sale(session: Session, producer_id: int) -> bool:
    """A completed sale in the ledger, or an order delivered (cash on delivery)."""
    from payments.models import EntryKind, EntryStatus, LedgerEntry
    from shop.models import Order, OrderStatus

    sale = select(LedgerEntry.id).where(LedgerEntry.producer_id == producer_id,
                                        LedgerEntry.kind == EntryKind.sale,
                                        LedgerEntry.status == EntryStatus.completed)
    delivered = select(Order.id).where(Order.producer_id == producer_id,
                                       Order.status == OrderStatus.delivered)
    return session.scalar(sale.union(delivered).limit(1)) is not None


def onboarding_progress(session: Session, producer: Producer) -> list[Step]:
    """The road to 'booth + payment account + first sale', one step per milestone."""
    from payments.accounts import has_verified_account

    consents = active_consents(session, producer.id)
    has_login = session.scalar(select(User.id).where(User.producer_id == producer.id)) is not None
    trained = session.scalar(select(Training.id).where(Training.producer_id == producer.id)
                             .limit(1)) is not None
    return [
        Step("registered", N_("On the register"), True),
        Step("ocop", N_("OCOP certificate recorded"), producer.ocop_stars is not None),
        Step("consent", N_("Consent to publish a booth"), ConsentPurpose.publish_booth in consents),
        Step("training", N_("Attended a training"), trained),
        Step("login", N_("Own login (optional)"), has_login),
        Step("booth", N_("Published booth"), _has_published_booth(session, producer.id)),
        Step("payment_account", N_("Verified payment account"),
             has_verified_account(session, producer.id)),
        Step("first_sale", N_("First sale"), _has_sale(session, producer.id)),
    ]
