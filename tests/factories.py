"""Builders: small functions that add a flushed row with sensible defaults."""
from __future__ import annotations

import itertools

from sqlalchemy import select

from ocopkit.access import SYSTEM
from ocopkit.users import Role, create_user
from onboarding.models import Commune, EthnicGroup, ProducerKind
from onboarding.producers import ProducerData, register_producer

PASSWORD = "secret-pass"
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
