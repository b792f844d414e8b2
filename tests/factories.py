"""Builders: small functions that add a flushed row with sensible defaults."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

from sqlalchemy import select

from ocopkit.access import SYSTEM
from ocopkit.users import Role, User, create_user
from onboarding.models import Commune, Consent, ConsentPurpose, EthnicGroup, ProducerKind
from onboarding.producers import ProducerData, register_producer

PASSWORD = "secret-pass"
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)
_seq = itertools.count(1)


def ethnic_group(session, name: str) -> EthnicGroup:
    return session.scalar(select(EthnicGroup).where(EthnicGroup.name == name))


def make_commune(session, **overrides) -> Commune:
    n = next(_seq)
    values = {"code": f"C{n:03d}", "name": f"Xã Thử {n}", "is_ethnic_minority_area": True}
    values.update(overrides)
    commune = Commune(**values)
    session.add(commune)
    session.flush()
    return commune


def make_user(session, role: Role | str = Role.officer, **overrides):
    n = next(_seq)
    values = {"username": f"user{n}", "password": PASSWORD, "role": Role(role)}
    if values["role"] == Role.officer and "communes" not in overrides:
        values["communes"] = [make_commune(session)]
    values.update(overrides)
    return create_user(session, **values)


def make_producer(session, *, commune=None, actor=SYSTEM, **overrides):
    n = next(_seq)
    values = {"code": f"P{n:05d}", "kind": ProducerKind.household, "name": f"Hộ Thử {n}",
              "commune": commune or make_commune(session), "phone": f"09{n:08d}",
              "ethnic_group": ethnic_group(session, "Thái"), "village": "Bản Thử"}
    values.update(overrides)
    return register_producer(session, actor, ProducerData(**values))


def make_consent(session, producer, purpose=ConsentPurpose.publish_booth, *,
                 granted_at=LONG_AGO):
    """A consent and its open period, given long ago (no login hashing for the witness)."""
    from onboarding.consents import start_period

    witness = User(username=f"witness{next(_seq)}", password_hash="!", role=Role.officer)
    session.add(witness)
    session.flush()
    consent = Consent(producer_id=producer.id, purpose=ConsentPurpose(purpose),
                      witness_id=witness.id, granted_at=granted_at)
    session.add(consent)
    session.flush()
    start_period(session, consent)
    return consent


def make_booth(session, *, producer=None, consent: bool = True, **overrides):
    """A booth row built directly (shop.booths' rules are tested on their own); a booth
    made published comes with the publish consent it needs, unless consent=False."""
    from ocopkit.text import slugify
    from shop.models import Booth, BoothStatus

    producer = producer or make_producer(session)
    if consent and overrides.get("status") == BoothStatus.published:
        make_consent(session, producer)
    values = {"producer_id": producer.id, "title": f"Gian hàng {producer.name}",
              "story": "Sản phẩm làm tại bản."}
    values.update(overrides)
    values.setdefault("slug", slugify(values["title"]))
    booth = Booth(**values)
    session.add(booth)
    session.flush()
    return booth


def make_product(session, *, booth=None, **overrides):
    from ocopkit.text import fold, slugify
    from shop.models import Category, Product, ProductStatus

    booth = booth or make_booth(session)
    n = next(_seq)
    values = {"booth_id": booth.id, "name": f"Chè Shan Tuyết {n}", "unit": "gói",
              "price_vnd": 120000, "stock": 10, "category": Category.tea,
              "status": ProductStatus.published}
    values.update(overrides)
    values.setdefault("slug", slugify(values["name"]))
    values.setdefault("search_text", fold(values["name"]))
    product = Product(**values)
    session.add(product)
    session.flush()
    return product
