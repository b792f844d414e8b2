"""The staff's second factor: enrolment through the pages (secret, server-drawn QR), login
with a real pyotp code, a code refused the second time, recovery codes spent once."""
from __future__ import annotations

import io
import re
import time

import pyotp
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_user, totp_code
from ocopkit.twofactor import RecoveryCode
from ocopkit.users import AccountEvent, Role, User


def _password_step(client, username="admin"):
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return response.headers["Location"]


def _user(session, username="admin") -> User:
    session.expire_all()
    return session.scalar(select(User).where(User.username == username))


def _enrol(client, session) -> list[str]:
    page = client.get("/account/two-factor?lang=en").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    response = client.post("/account/two-factor?lang=en",
                           data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    return re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", response.get_data(as_text=True))


def test_staff_without_a_second_factor_must_enrol_before_anything_else(client, session):
    make_user(session, Role.officer, username="mai", second_factor=False)
    session.commit()
    assert _password_step(client, "mai") == "/"  # no code owed yet
    response = client.get("/producers")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor?lang=en").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    assert 'src="/account/two-factor/qr.png"' in page and "<script" not in page
    png = client.get("/account/two-factor/qr.png")
    assert png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)).convert("L"))
    assert decoded[0].text == pyotp.TOTP(secret).provisioning_uri(name="mai", issuer_name="ocopkit")

    wrong = client.post("/account/two-factor?lang=en", data={"code": "000000"})
    assert wrong.status_code == 422 and "Wrong or expired code" in wrong.get_data(as_text=True)
    assert _user(session, "mai").totp_confirmed_at is None
    done = client.post("/account/two-factor?lang=en", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/producers").status_code == 200
    stored = session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # kept hashed only
    assert session.scalar(select(AccountEvent.action)) == "second_factor_enrolled"


def test_enrolled_staff_need_the_code_after_the_password(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    code_page = _password_step(client)
    assert code_page == "/login/code"
    assert client.get("/producers").status_code == 302  # the password alone is not a login
    response = client.post(code_page, data={"code": totp_code(session, "admin")})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/producers").status_code == 200


def test_a_used_code_is_refused_a_second_time(app, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    code = totp_code(session, "admin")
    first, second = app.test_client(), app.test_client()
    assert first.post(_password_step(first), data={"code": code}).status_code == 302
    replay = second.post(_password_step(second) + "?lang=en", data={"code": code})
    assert replay.status_code == 401
    assert "Wrong or already used code." in replay.get_data(as_text=True)
    assert second.get("/producers").status_code == 302


def test_a_wrong_code_is_refused_and_counted(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    code_page = _password_step(client)
    for _ in range(4):
        assert client.post(code_page, data={"code": "123456"}).status_code == 401
    assert client.post(code_page, data={"code": "123456"}).status_code == 401
    # five failures on the account: even the right code now waits for the window
    assert client.post(code_page, data={"code": totp_code(session, "admin")}).status_code == 429


def test_the_code_must_follow_the_password_within_five_minutes(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    code_page = _password_step(client)
    with client.session_transaction() as cookie:
        cookie["pending_at"] -= 6 * 60
    response = client.post(code_page, data={"code": totp_code(session, "admin")})
    assert response.headers["Location"] == "/login"
    assert client.get("/producers").status_code == 302


def test_a_recovery_code_logs_in_once(app, session):
    make_user(session, Role.officer, username="mai", second_factor=False)
    session.commit()
    client = app.test_client()
    _password_step(client, "mai")
    codes = _enrol(client, session)
    client.post("/logout")
    assert client.post(_password_step(client, "mai"), data={"code": codes[0]}).status_code == 302
    assert client.get("/producers").status_code == 200
    client.post("/logout")
    again = client.post(_password_step(client, "mai"), data={"code": codes[0]})
    assert again.status_code == 401
    used = session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.used_at.is_not(None)))
    assert used == 1
    page = client.post("/login/code", data={"code": codes[1].upper()})  # case does not matter
    assert page.status_code == 302


def test_codes_of_the_neighbouring_steps_are_accepted_older_ones_not(session):
    from datetime import datetime, timezone

    from ocopkit.twofactor import check_second_factor

    user = make_user(session, Role.admin, username="admin")
    totp = pyotp.TOTP(user.totp_secret)
    now = datetime.fromtimestamp(int(time.time()) // 30 * 30 + 10, timezone.utc)
    assert not check_second_factor(session, user, totp.at(now.timestamp() - 90), now=now)
    assert check_second_factor(session, user, totp.at(now.timestamp() - 30), now=now)
    assert check_second_factor(session, user, totp.at(now.timestamp()), now=now)
    assert not check_second_factor(session, user, totp.at(now.timestamp()), now=now)
    assert not check_second_factor(session, user, totp.at(now.timestamp() - 30), now=now)


def _submit_code(database_url: str, user_id: int, code: str) -> bool:
    """One worker checking a code, in its own process and transaction."""
    from sqlalchemy.orm import Session as DbSession

    from ocopkit.db import make_engine, utcnow
    from ocopkit.models import load_all
    from ocopkit.twofactor import check_second_factor

    load_all()
    engine = make_engine(database_url)
    with DbSession(engine) as db:
        accepted = check_second_factor(db, db.get(User, user_id), code, now=utcnow())
        db.commit()
    engine.dispose()
    return accepted


def test_one_code_sent_by_two_workers_at_once_is_accepted_once(session, database_url):
    from tests.concurrency import run_together

    user = make_user(session, Role.admin, username="admin")
    session.commit()
    code = pyotp.TOTP(user.totp_secret).now()
    results = run_together(_submit_code, [(database_url, user.id, code)] * 4)
    assert sorted(results) == [False, False, False, True]


def test_one_recovery_code_sent_by_two_workers_at_once_is_spent_once(session, database_url):
    from ocopkit.twofactor import new_recovery_codes
    from tests.concurrency import run_together

    user = make_user(session, Role.admin, username="admin")
    code = new_recovery_codes(session, user)[0]
    session.commit()
    results = run_together(_submit_code, [(database_url, user.id, code)] * 4)
    assert sorted(results) == [False, False, False, True]
