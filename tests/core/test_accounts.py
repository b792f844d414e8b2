"""User management through the pages: admins create, deactivate, place and reset officers;
an officer of the commune resets a producer's PIN; everyone changes their own secret; each
action lands in the audit log without the secret."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, PIN, make_commune, make_producer, make_user, totp_code
from ocopkit.users import AccountEvent, Role, User
from onboarding.models import ChangeRecord

NEW_PASSWORD = "buffalo seven kettle rain"


def _user(session, username) -> User:
    session.expire_all()
    return session.scalar(select(User).where(User.username == username))


def _shown_secret(response) -> str:
    return re.search(r"<li><code>([^<]+)</code></li>", response.get_data(as_text=True)).group(1)


def _events(session) -> list[tuple[str, str]]:
    session.expire_all()
    return [(e.action, e.detail) for e in session.scalars(select(AccountEvent).order_by(AccountEvent.id))]


@pytest.fixture
def admin(session, login):
    user = make_user(session, Role.admin, username="admin")
    session.commit()
    login("admin")
    return user


def test_admin_creates_an_officer_who_must_change_the_password_then_enrol(app, session, admin,
                                                                        client):
    commune = make_commune(session, code="DB01")
    session.commit()
    response = client.post("/users", data={"username": "Mai", "display_name": "Lò Thị Mai",
                                           "role": "officer", "communes": [commune.id]})
    assert response.status_code == 200
    temporary = _shown_secret(response)
    mai = _user(session, "mai")
    assert mai.commune_ids == {commune.id} and mai.must_change_password
    assert _events(session) == [("created", "officer")]
    assert temporary not in str(_events(session))

    other = app.test_client()
    assert other.post("/login", data={"username": "mai", "password": temporary}).status_code == 302
    assert other.get("/producers").headers["Location"] == "/account/password"
    weak = other.post("/account/password?lang=en", data={
        "current": temporary, "new": "123456", "confirm": "123456"})
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.get_data(as_text=True)
    done = other.post("/account/password", data={
        "current": temporary, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.headers["Location"] == "/login"
    assert other.get("/producers").status_code == 302  # changing ended the session
    other.post("/login", data={"username": "mai", "password": NEW_PASSWORD})
    assert other.get("/producers").headers["Location"] == "/account/two-factor"
    assert ("password_changed", "") in _events(session)


def test_an_officer_cannot_manage_users(client, session, login):
    officer = make_user(session, Role.officer, username="mai")
    target = make_user(session, Role.officer, username="lan")
    session.commit()
    login("mai")
    assert client.get("/users").status_code == 404
    assert client.post("/users", data={"username": "x", "role": "admin"}).status_code == 404
    assert client.post(f"/users/{target.id}/deactivate").status_code == 404
    assert client.post(f"/users/{target.id}/password-reset").status_code == 404
    assert _user(session, "lan").is_active and _user(session, "x") is None
    assert _events(session) == []
    assert officer.id


def test_deactivating_ends_the_users_sessions_and_logins(app, session, admin, client, login):
    make_user(session, Role.officer, username="lan")
    session.commit()
    lan = app.test_client()
    lan.post(lan.post("/login", data={"username": "lan", "password": PASSWORD}).location,
             data={"code": totp_code(session, "lan")})
    assert lan.get("/producers").status_code == 200
    user_id = _user(session, "lan").id
    response = client.post(f"/users/{user_id}/deactivate")
    assert response.headers["Location"] == f"/users/{user_id}"
    assert lan.get("/producers").status_code == 302
    assert lan.post("/login", data={"username": "lan", "password": PASSWORD}).status_code == 401
    assert _events(session) == [("deactivated", "")]


def test_admin_assigns_communes_and_resets_an_officers_password(app, session, admin, client):
    a, b = make_commune(session, code="A01"), make_commune(session, code="B01")
    lan = make_user(session, Role.officer, username="lan", communes=[a])
    session.commit()
    assert client.post(f"/users/{lan.id}/communes",
                       data={"communes": [a.id, b.id]}).status_code == 302
    assert _user(session, "lan").commune_ids == {a.id, b.id}
    page = client.get(f"/users/{lan.id}?lang=en").get_data(as_text=True)
    assert "communes assigned: A01, B01" in page
    temporary = _shown_secret(client.post(f"/users/{lan.id}/password-reset"))
    other = app.test_client()
    assert other.post("/login", data={"username": "lan", "password": PASSWORD}).status_code == 401
    code_page = other.post("/login", data={"username": "lan", "password": temporary}).location
    other.post(code_page, data={"code": totp_code(session, "lan")})  # the second factor stays
    assert other.get("/producers").headers["Location"] == "/account/password"
    events = _events(session)
    assert [e[0] for e in events] == ["communes_assigned", "password_reset"]
    assert temporary not in str(events)


def test_managing_users_needs_a_recent_password(client, session, admin):
    with client.session_transaction() as cookie:
        cookie["reauth_at"] -= 6 * 60
    response = client.get("/users")
    assert response.headers["Location"].startswith("/reauth")


def _producer_world(session):
    commune = make_commune(session)
    make_user(session, Role.officer, username="mai", communes=[commune])
    make_user(session, Role.officer, username="lan")
    producer = make_producer(session, commune=commune, phone="0912000001")
    make_user(session, Role.producer, username="0912000001", producer=producer)
    session.commit()
    return producer


def test_an_officer_of_the_commune_resets_a_producers_pin(app, client, session, login):
    producer = _producer_world(session)
    login("mai")
    response = client.post(f"/producers/{producer.id}/pin-reset")
    assert response.status_code == 200
    pin = _shown_secret(response)
    assert re.fullmatch(r"\d{6}", pin) and pin != PIN
    phone = app.test_client()
    assert phone.post("/login", data={"username": "0912000001", "password": PIN}).status_code == 401
    phone.post("/login", data={"username": "0912 000 001", "password": pin})
    assert phone.get(f"/producers/{producer.id}").headers["Location"] == "/account/password"
    weak = phone.post("/account/password?lang=en",
                      data={"current": pin, "new": "111111", "confirm": "111111"})
    assert "too easy to guess" in weak.get_data(as_text=True)
    phone.post("/account/password", data={"current": pin, "new": "593817", "confirm": "593817"})
    phone.post("/login", data={"username": "0912000001", "password": "593817"})
    assert phone.get(f"/producers/{producer.id}").status_code == 200
    history = session.scalars(select(ChangeRecord.action).where(
        ChangeRecord.producer_id == producer.id)).all()
    assert "pin_reset" in history
    events = _events(session)
    assert ("pin_reset", "") in events and ("password_changed", "") in events
    assert pin not in str(events) and "593817" not in str(events)


def test_an_officer_of_another_commune_cannot_reset_the_pin(client, session, login):
    producer = _producer_world(session)
    before = _user(session, "0912000001").password_hash
    login("lan")
    assert client.post(f"/producers/{producer.id}/pin-reset").status_code == 404
    assert _user(session, "0912000001").password_hash == before
    assert _events(session) == []


def test_a_producer_changes_the_own_pin(client, session, login):
    _producer_world(session)
    login("0912000001")
    wrong = client.post("/account/password?lang=en",
                        data={"current": "000000", "new": "593817", "confirm": "593817"})
    assert wrong.status_code == 422
    assert "The current password or PIN is wrong." in wrong.get_data(as_text=True)
    done = client.post("/account/password",
                       data={"current": PIN, "new": "593817", "confirm": "593817"})
    assert done.status_code == 302
    assert client.post("/login", data={"username": "0912000001",
                                       "password": "593817"}).status_code == 302
