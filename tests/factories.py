"""Builders: small functions that add a flushed row with sensible defaults."""
from __future__ import annotations

import itertools
import re
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pyotp

from sqlalchemy import select

from ocopkit.access import SYSTEM
from ocopkit.db import utcnow
from ocopkit.users import Role, User, create_user
from onboarding.models import Commune, Consent, ConsentPurpose, EthnicGroup, ProducerKind
from onboarding.producers import ProducerData, register_producer

PASSWORD = "tea-hills-of-muong-phang"  # staff: 12+ characters, not a common password
PIN = "280417"  # producers: 6 digits, neither repeated nor in a row
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


def make_user(session, role: Role | str = Role.officer, *, second_factor: bool = True,
              **overrides):
    """Staff come with a second factor already on (its secret in user.totp_secret), as the
    policy requires; `second_factor=False` makes one who must still enrol."""
    n = next(_seq)
    role = Role(role)
    values = {"username": f"user{n}", "role": role,
              "password": PIN if role == Role.producer else PASSWORD}
    if role == Role.officer and "communes" not in overrides:
        values["communes"] = [make_commune(session)]
    values.update(overrides)
    user = create_user(session, **values)
    if role != Role.producer and second_factor:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = utcnow()
        session.flush()
    return user


def totp_code(session, username: str) -> str:
    """The code the user's authenticator app shows now. A test logging one user in twice
    within 30 seconds would be refused the reused code (tests/core/test_twofactor.py proves
    that rule), so the step used last is forgotten first."""
    from ocopkit.twofactor import STEP_SECONDS
    from ocopkit.users import User

    user = session.scalar(select(User).where(User.username == username))
    now = int(time.time())
    if (user.totp_last_step or 0) >= now // STEP_SECONDS:
        user.totp_last_step = None
        session.commit()
    return pyotp.TOTP(user.totp_secret).at(now)


def _csrf_token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def log_in(client, session, username: str, password: str | None = None, *, csrf=False,
           **kwargs):
    """Through the real forms: the password (or PIN), then the second factor's code when
    one is owed; `csrf` fetches each form's token first. Returns the last response."""
    from ocopkit.users import User, normalise_username

    username = normalise_username(username)
    role = session.scalar(select(User.role).where(User.username == username))
    data = {"username": username,
            "password": password or (PIN if role == Role.producer else PASSWORD)}
    if csrf:
        data["csrf_token"] = _csrf_token(client, "/login")
    response = client.post("/login", data=data, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    code_page = response.headers["Location"]
    if urlsplit(code_page).path == "/login/code":
        data = {"code": totp_code(session, username)}
        if csrf:
            data["csrf_token"] = _csrf_token(client, code_page)
        response = client.post(code_page, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)
    _assert_logged_in_as(client, session, username)
    return response


def _assert_logged_in_as(client, session, username: str) -> None:
    """A 302 alone proves nothing (a client still logged in as someone else is redirected
    too): the session must now belong to the user asked for."""
    from ocopkit.users import User

    with client.session_transaction() as cookie:
        token = cookie.get("_user_id")
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None and token == user.get_id(), (
        f"the client is not logged in as {username!r} (session user {token!r})")


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
