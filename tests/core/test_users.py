"""Accounts and access rules without HTTP: create_user, authenticate, the login limits and
who may manage which producer."""
from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_commune, make_producer, make_user
from ocopkit.access import SYSTEM, can_manage_commune, can_manage_producer, is_staff
from ocopkit.db import utcnow
from ocopkit.errors import Conflict, Invalid
from ocopkit.users import (
    LoginFailure, Role, User, authenticate, clear_login_failures, create_user, is_login_blocked,
)

KEY = "address:test"
LIMITS = {"window": timedelta(minutes=15), "max_per_account": 3, "max_per_address": 5}


def _failures(session) -> list[str]:
    return sorted(session.scalars(select(LoginFailure.key)))


# --- create_user ----------------------------------------------------------------------------

def test_user_names_are_stored_nfc_lower_case(session):
    user = create_user(session, username=unicodedata.normalize("NFD", " Cán.Bộ "),
                       password=PASSWORD, role="admin")
    assert user.username == "cán.bộ" and user.display_name == "cán.bộ"
    assert user.password_hash != PASSWORD


def test_user_name_is_unique_whatever_its_case(session):
    create_user(session, username="canbo", password=PASSWORD, role=Role.admin)
    with pytest.raises(Conflict) as caught:
        create_user(session, username="CANBO", password=PASSWORD, role=Role.admin)
    assert caught.value.field == "username"
    assert session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize("overrides, field", [
    ({"username": "  "}, "username"),
    ({"password": "12345"}, "password"),
    ({"role": "officer"}, "communes"),
    ({"role": "producer"}, "producer"),
])
def test_create_user_rules(session, overrides, field):
    values = {"username": "someone", "password": PASSWORD, "role": "admin", **overrides}
    with pytest.raises(Invalid) as caught:
        create_user(session, **values)
    assert caught.value.field == field


def test_unknown_role_is_refused(session):
    with pytest.raises(ValueError):
        create_user(session, username="x", password=PASSWORD, role="superuser")


def test_officer_gets_the_given_communes(session):
    a, b = make_commune(session), make_commune(session)
    officer = create_user(session, username="o", password=PASSWORD, role="officer",
                          communes=[a, b])
    session.commit()
    session.expire_all()
    assert session.get(User, officer.id).commune_ids == {a.id, b.id}


# --- authenticate and the limits ------------------------------------------------------------

def test_right_password_returns_the_user_but_only_a_full_login_clears_failures(session):
    user = make_user(session, Role.admin, username="admin")
    now = utcnow()
    assert authenticate(session, username="admin", password="wrong", address_key=KEY,
                        now=now) is None
    assert _failures(session) == ["account:admin", KEY]
    assert authenticate(session, username="ADMIN", password=PASSWORD, address_key=KEY,
                        now=now) is user
    assert _failures(session) == ["account:admin", KEY]  # the second factor is still owed
    clear_login_failures(session, user)
    assert _failures(session) == [KEY]


def test_inactive_or_unknown_users_do_not_authenticate(session):
    user = make_user(session, Role.admin, username="admin")
    user.is_active = False
    now = utcnow()
    assert authenticate(session, username="admin", password=PASSWORD, address_key=KEY,
                        now=now) is None
    assert authenticate(session, username="nobody", password=PASSWORD, address_key=KEY,
                        now=now) is None
    assert _failures(session) == ["account:admin", "account:nobody", KEY, KEY]


def test_failures_older_than_a_day_are_forgotten(session):
    now = utcnow()
    session.add(LoginFailure(key="account:old", at=now - timedelta(days=2)))
    authenticate(session, username="x", password="y", address_key=KEY, now=now)
    assert _failures(session) == ["account:x", KEY]


def test_account_is_blocked_at_the_limit_within_the_window(session):
    now = utcnow()
    session.add_all([LoginFailure(key="account:lan", at=now - timedelta(minutes=m))
                     for m in (1, 2, 20)])
    assert not is_login_blocked(session, username="Lan", address_key=KEY, now=now, **LIMITS)
    session.add(LoginFailure(key="account:lan", at=now))
    assert is_login_blocked(session, username="LAN", address_key=KEY, now=now, **LIMITS)
    assert not is_login_blocked(session, username="lan", address_key=KEY,
                                now=now + timedelta(minutes=16), **LIMITS)
    assert not is_login_blocked(session, username="tung", address_key=KEY, now=now, **LIMITS)


def test_address_is_blocked_across_accounts(session):
    now = utcnow()
    session.add_all([LoginFailure(key=KEY, at=now) for _ in range(5)])
    assert is_login_blocked(session, username="anyone", address_key=KEY, now=now, **LIMITS)
    assert not is_login_blocked(session, username="anyone", address_key="address:other",
                                now=now, **LIMITS)


# --- access rules ---------------------------------------------------------------------------

def test_access_rules_by_role(session):
    a, b = make_commune(session), make_commune(session)
    officer = make_user(session, Role.officer, communes=[a])
    admin = make_user(session, Role.admin)
    pa, pb = make_producer(session, commune=a), make_producer(session, commune=b)
    login = make_user(session, Role.producer, producer=pa)
    assert [can_manage_producer(officer, p) for p in (pa, pb)] == [True, False]
    assert [can_manage_producer(admin, p) for p in (pa, pb)] == [True, True]
    assert [can_manage_producer(SYSTEM, p) for p in (pa, pb)] == [True, True]
    assert [can_manage_producer(login, p) for p in (pa, pb)] == [True, False]
    assert [can_manage_commune(officer, c.id) for c in (a, b)] == [True, False]
    assert not can_manage_commune(login, a.id)
    assert [is_staff(x) for x in (officer, admin, SYSTEM, login, None)] == [
        True, True, True, False, False]


def test_logged_out_user_object_has_no_rights(session):
    admin = make_user(session, Role.admin)
    producer = make_producer(session)

    class LoggedOut:
        is_authenticated = False
        role = Role.admin

    assert can_manage_producer(admin, producer)
    assert not can_manage_producer(LoggedOut(), producer)
    assert not is_staff(LoggedOut())
