"""Issue 11, item 4: each reported account defect, through the real login form and CLI."""
from __future__ import annotations

import time
import unicodedata

from tests.factories import make_producer, make_user
from ocopkit.cli import cli
from ocopkit.users import Role

PASSPHRASE = "Chè Shan Tuyết Mường Phăng"


def test_admin_password_123456_is_refused_by_the_cli(runner, session):
    result = runner.invoke(cli, ["create-user", "--role", "admin", "--username", "boss",
                                 "--password", "123456"])
    assert result.exit_code == 1
    assert "12" in result.output
    assert "User boss created" not in result.output


def test_passphrase_typed_in_nfd_logs_in(client, session, app):
    make_user(session, Role.admin, username="hoa", password=unicodedata.normalize("NFC", PASSPHRASE))
    session.commit()
    response = client.post("/login", data={"username": "hoa",
                                           "password": unicodedata.normalize("NFD", PASSPHRASE)})
    assert response.status_code == 302


def test_staff_session_ends_after_30_idle_minutes(client, session, login):
    make_user(session, Role.admin, username="admin")
    session.commit()
    login("admin")
    assert client.get("/producers").status_code == 200
    with client.session_transaction() as cookie:
        for key in [k for k in cookie if k.endswith("_at")]:
            cookie[key] -= 31 * 60
    response = client.get("/producers")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_producer_typing_phone_with_spaces_or_plus84_logs_in(client, session):
    producer = make_producer(session, phone="0912000001")
    make_user(session, Role.producer, username="0912000001", producer=producer, password="280417")
    session.commit()
    for typed in ("0912 000 001", "+84912000001", "0912.000.001"):
        response = client.post("/login", data={"username": typed, "password": "280417"})
        assert response.status_code == 302, typed
        client.post("/logout")
