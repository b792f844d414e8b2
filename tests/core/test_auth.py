"""Logging in and out: password storage, session fixation and replay, rate limits, CSRF,
roles."""
from __future__ import annotations

import collections
import re
import threading
import unicodedata
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, PIN, log_in, make_producer, make_user
from ocopkit import create_app
from ocopkit.users import LoginFailure, Role, User
from onboarding.producers import has_consent

COOKIE = "ocopkit_session"


def _post_login(client, username, password=PASSWORD, **kwargs):
    return client.post("/login", data={"username": username, "password": password}, **kwargs)


def _age_failures(session, minutes):
    """Move every logged failure `minutes` into the past (instead of sleeping)."""
    rows = session.scalars(select(LoginFailure)).all()
    for row in rows:
        row.at = row.at - timedelta(minutes=minutes)
    session.commit()


def _failure_count(session) -> int:
    return session.scalar(select(func.count()).select_from(LoginFailure))


# --- passwords ----------------------------------------------------------------------------

def test_passwords_are_stored_with_scrypt_not_in_plain(session):
    user = make_user(session, Role.admin, username="admin")
    session.commit()
    stored = session.scalar(select(User.password_hash).where(User.id == user.id))
    assert PASSWORD not in stored
    assert stored.startswith("scrypt:")
    other = make_user(session, Role.admin, username="admin2")
    assert other.password_hash != stored  # salted


def test_login_with_right_password_redirects_home_and_shows_logout(client, session):
    make_user(session, Role.admin, username="admin", display_name="Chị Hoa")
    session.commit()
    response = log_in(client, session, "admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    body = client.get("/?lang=en").get_data(as_text=True)
    assert "Log out" in body


def test_username_is_case_insensitive(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    assert _post_login(client, "ADMIN").status_code == 302


def test_wrong_password_is_refused_with_401_and_stays_anonymous(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    response = _post_login(client, "admin", "wrong-pass", query_string={"lang": "en"})
    assert response.status_code == 401
    assert "Wrong phone number, user name or password." in response.get_data(as_text=True)
    assert client.get("/producers").status_code == 302


def test_inactive_user_cannot_log_in(client, session):
    user = make_user(session, Role.admin, username="admin")
    user.is_active = False
    session.commit()
    assert _post_login(client, "admin").status_code == 401


def test_next_parameter_is_followed_only_within_the_site(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    response = log_in(client, session, "admin", query_string={"next": "/producers"})
    assert response.headers["Location"] == "/producers"
    client.post("/logout")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example",
                 "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example"):
        response = log_in(client, session, "admin", query_string={"next": evil})
        assert response.headers["Location"] == "/", evil
        client.post("/logout")


# --- session fixation and replay ----------------------------------------------------------

def test_session_is_cleared_at_login(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    with client.session_transaction() as s:
        s["planted"] = "by someone else"
    log_in(client, session, "admin")
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s.get("_user_id")


def test_cookie_copied_before_logout_is_refused_after_logout(client, session):
    make_user(session, Role.admin, username="admin")
    producer = make_producer(session, name="Hộ Bí Mật")
    session.commit()
    log_in(client, session, "admin")
    assert client.get(f"/producers/{producer.id}").status_code == 200
    copied = client.get_cookie(COOKIE).value

    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get(f"/producers/{producer.id}").status_code == 302

    client.set_cookie(COOKIE, copied)
    response = client.get(f"/producers/{producer.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    # nor can the old cookie act
    response = client.post(f"/producers/{producer.id}/consents",
                           data={"purpose": "publish_booth", "confirmed": "y"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_cookie_from_before_logout_is_still_refused_after_the_next_login(session, app):
    make_user(session, Role.admin, username="admin")
    session.commit()
    first, second = app.test_client(), app.test_client()
    log_in(first, session, "admin")
    copied = first.get_cookie(COOKIE).value
    first.post("/logout")
    log_in(second, session, "admin")
    replay = app.test_client()
    replay.set_cookie(COOKIE, copied)
    assert replay.get("/producers").status_code == 302
    assert second.get("/producers").status_code == 200


def test_tampered_cookie_is_anonymous(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    client.set_cookie(COOKIE, "eyJfdXNlcl9pZCI6IjE6MSJ9.forged.signature")
    assert client.get("/producers").status_code == 302


def test_logout_needs_post(client, session, login):
    make_user(session, Role.admin, username="admin")
    session.commit()
    login("admin")
    assert client.get("/logout").status_code == 405
    assert client.get("/producers").status_code == 200


# --- rate limits --------------------------------------------------------------------------

def test_sixth_attempt_on_an_account_is_blocked_even_with_the_right_password(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    for _ in range(5):
        assert _post_login(client, "admin", "wrong-pass").status_code == 401
    response = _post_login(client, "admin", query_string={"lang": "en"})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/producers").status_code == 302  # still anonymous


def test_account_limit_ends_after_the_window(client, session, app):
    make_user(session, Role.admin, username="admin")
    session.commit()
    for _ in range(5):
        _post_login(client, "admin", "wrong-pass")
    assert _post_login(client, "admin").status_code == 429
    _age_failures(session, minutes=14)
    assert _post_login(client, "admin").status_code == 429
    _age_failures(session, minutes=2)  # now 16 minutes old: outside the 15-minute window
    assert _post_login(client, "admin").status_code == 302


def test_account_limit_counts_attempts_from_any_address(app, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    for n in range(5):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        assert _post_login(client, "admin", "wrong-pass").status_code == 401
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert _post_login(fresh, "admin").status_code == 429


def test_successful_login_resets_the_account_count(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    for _ in range(4):
        _post_login(client, "admin", "wrong-pass")
    assert log_in(client, session, "admin").status_code == 302
    client.post("/logout")
    for _ in range(4):
        assert _post_login(client, "admin", "wrong-pass").status_code == 401
    assert log_in(client, session, "admin").status_code == 302


def test_other_accounts_are_not_blocked_by_one_account_limit(app, session):
    make_user(session, Role.admin, username="admin")
    make_user(session, Role.admin, username="other")
    session.commit()
    client = app.test_client()
    for _ in range(6):
        _post_login(client, "admin", "wrong-pass")
    assert _post_login(client, "other").status_code == 302


def test_unknown_accounts_are_limited_too(client, session):
    for _ in range(5):
        assert _post_login(client, "nobody", "wrong-pass").status_code == 401
    assert _post_login(client, "nobody", "wrong-pass").status_code == 429


def test_address_limit_blocks_many_accounts_from_one_address(app, session):
    make_user(session, Role.admin, username="victim")
    session.commit()
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    for n in range(20):  # 4 tries on each of 5 names: no account reaches its own limit
        assert _post_login(attacker, f"guess{n % 5}", "wrong-pass").status_code == 401
    assert _post_login(attacker, "victim").status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert _post_login(elsewhere, "victim").status_code == 302
    _age_failures(session, minutes=16)
    assert _post_login(attacker, "victim").status_code == 302


@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_addresses_count_only_behind_a_trusted_proxy(engine, database_url, session,
                                                               proxies):
    """Behind the TLS proxy every request comes from its address: the limit must follow
    the forwarded client, and without a trusted proxy a forged header must change nothing."""
    make_user(session, Role.admin, username="victim")
    session.commit()
    app = create_app({"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
                      "SECRET_KEY": "proxy-test", "WTF_CSRF_ENABLED": False,
                      "TRUSTED_PROXIES": proxies})
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = app.test_client()
    for n in range(20):
        assert _post_login(attacker, f"guess{n % 5}", "wrong-pass", environ_base=proxy,
                           headers={"X-Forwarded-For": f"203.0.113.{n}"}
                           if not proxies else {"X-Forwarded-For": "203.0.113.66"}
                           ).status_code == 401
    other = _post_login(app.test_client(), "victim", environ_base=proxy,
                        headers={"X-Forwarded-For": "198.51.100.7"}).status_code
    again = _post_login(app.test_client(), "victim", environ_base=proxy,
                        headers={"X-Forwarded-For": "203.0.113.66"}).status_code
    if proxies:
        assert (other, again) == (302, 429)  # the forwarded client is the one held back
    else:
        assert (other, again) == (429, 429)  # forged headers ignored: one address, held


def test_no_raw_address_is_stored(app, session):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    _post_login(client, "nobody", "wrong-pass")
    keys = session.scalars(select(LoginFailure.key)).all()
    assert sorted(k.split(":")[0] for k in keys) == ["account", "address"]
    assert not any("203.0.113.77" in k for k in keys)


def test_limit_is_shared_by_separate_app_instances(engine, database_url, session):
    """Two app objects stand for two worker processes: the count lives in the database."""
    make_user(session, Role.admin, username="admin")
    session.commit()
    config = {"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
              "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False}
    worker_a, worker_b = create_app(dict(config)), create_app(dict(config))
    assert worker_a is not worker_b
    client_a, client_b = worker_a.test_client(), worker_b.test_client()
    for _ in range(3):
        assert _post_login(client_a, "admin", "wrong-pass").status_code == 401
    for _ in range(2):
        assert _post_login(client_b, "admin", "wrong-pass").status_code == 401
    assert _post_login(client_a, "admin").status_code == 429
    assert _post_login(client_b, "admin").status_code == 429
    assert _failure_count(session) == 10  # 5 account rows + 5 address rows


def test_parallel_attempts_from_two_workers_check_at_most_the_limit(engine, database_url,
                                                                    session):
    """A burst of simultaneous guesses (from many addresses, through two app instances) must
    not all slip past the count before any of them is logged."""
    make_user(session, Role.admin, username="admin")
    session.commit()
    config = {"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
              "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False}
    workers = [create_app(dict(config)), create_app(dict(config))]
    start = threading.Barrier(30)
    statuses: collections.Counter[int] = collections.Counter()

    def guess(n):
        client = workers[n % 2].test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        start.wait()
        statuses[_post_login(client, "admin", f"guess-{n}").status_code] += 1

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= statuses[401] <= 5, statuses
    # only the attempts that were checked count as failures; refused ones leave no trace
    account_failures = session.scalar(select(func.count()).select_from(LoginFailure)
                                      .where(LoginFailure.key == "account:admin"))
    assert account_failures == statuses[401]


def test_blocked_attempts_are_not_logged_again(client, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    for _ in range(5):
        _post_login(client, "admin", "wrong-pass")
    before = _failure_count(session)
    for _ in range(3):
        _post_login(client, "admin", "wrong-pass")
    assert _failure_count(session) == before


# --- CSRF ---------------------------------------------------------------------------------

def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def csrf_app(engine, database_url):
    return create_app({"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
                       "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": True})


def test_login_form_needs_the_csrf_token(csrf_app, session):
    make_user(session, Role.admin, username="admin")
    session.commit()
    client = csrf_app.test_client()
    response = _post_login(client, "admin")
    assert response.status_code == 400
    assert client.get("/producers").status_code == 302
    response = log_in(client, session, "admin", csrf=True)
    assert response.status_code == 302
    assert client.get("/producers").status_code == 200


def test_every_post_route_refuses_a_missing_csrf_token(csrf_app, session):
    admin = make_user(session, Role.admin, username="admin")
    producer = make_producer(session)
    session.commit()
    client = csrf_app.test_client()
    log_in(client, session, "admin", csrf=True)
    posts = [rule for rule in csrf_app.url_map.iter_rules()
             if "POST" in rule.methods and rule.endpoint != "auth.login"]
    assert len(posts) >= 8
    for rule in posts:
        url = rule.build({name: producer.id for name in rule.arguments},
                         append_unknown=False)[1]
        response = client.post(url, data={"purpose": "publish_booth", "confirmed": "y",
                                          "topic": "x", "trainer": "y", "held_on": "2024-01-01",
                                          "password": "123456", "code": "X1", "name": "X"})
        assert response.status_code == 400, url
    session.expire_all()
    assert session.get(User, admin.id).session_version == 1  # logout did not happen


def test_producer_form_post_with_the_page_token_succeeds(csrf_app, session):
    make_user(session, Role.admin, username="admin")
    producer = make_producer(session)
    session.commit()
    client = csrf_app.test_client()
    log_in(client, session, "admin", csrf=True)
    page = client.get(f"/producers/{producer.id}").get_data(as_text=True)
    response = client.post(f"/producers/{producer.id}/consents", data={
        "csrf_token": _token(page), "purpose": "publish_booth", "confirmed": "y"})
    assert response.status_code == 302
    assert has_consent(session, producer.id, "publish_booth")


# --- roles --------------------------------------------------------------------------------

def test_anonymous_users_are_sent_to_login(client, session):
    producer = make_producer(session)
    session.commit()
    for path in ("/producers", "/producers/new", f"/producers/{producer.id}",
                 f"/producers/{producer.id}/edit", "/imports/register", "/imports/communes"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_role_required_answers_404_for_other_roles(client, session, login):
    producer = make_producer(session)
    make_user(session, Role.officer, username="officer")
    make_user(session, Role.producer, username="maker", producer=producer)
    session.commit()
    login("officer")
    assert client.get("/imports/communes").status_code == 404
    assert client.get("/imports/register").status_code == 200
    client.post("/logout")
    login("maker")
    for path in ("/producers/new", "/imports/register", "/imports/communes",
                 f"/producers/{producer.id}/edit"):
        assert client.get(path).status_code == 404, path


# --- session limits (ASVS 7.3) ------------------------------------------------------------

def _age_session(client, **minutes):
    """Move the session's timestamps into the past (instead of sleeping)."""
    with client.session_transaction() as cookie:
        for key, value in minutes.items():
            cookie[key] -= value * 60


def test_staff_session_ends_after_30_idle_minutes(client, session, login):
    make_user(session, Role.admin, username="admin")
    session.commit()
    login("admin")
    _age_session(client, seen_at=29, auth_at=29, reauth_at=29)
    assert client.get("/producers").status_code == 200  # 29 minutes: still on (and renewed)
    _age_session(client, seen_at=31)
    response = client.get("/producers")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/producers").status_code == 302  # the session is gone, not paused


def test_staff_session_ends_after_12_hours_even_when_busy(client, session, login):
    make_user(session, Role.admin, username="admin")
    session.commit()
    login("admin")
    _age_session(client, auth_at=11 * 60 + 59)
    assert client.get("/producers").status_code == 200
    _age_session(client, auth_at=2)
    assert client.get("/producers").status_code == 302


def test_producer_session_lasts_7_idle_days(client, session, login):
    producer = make_producer(session, phone="0912000001")
    make_user(session, Role.producer, username="0912000001", producer=producer)
    session.commit()
    login("0912000001")
    page = f"/producers/{producer.id}"
    _age_session(client, seen_at=6 * 24 * 60, auth_at=6 * 24 * 60)
    assert client.get(page).status_code == 200
    _age_session(client, seen_at=8 * 24 * 60)
    assert client.get(page).status_code == 302


def test_a_cookie_without_the_timestamps_is_refused(client, session, login):
    """Cookies issued before the limits existed (and so lasting 31 days) end at once."""
    make_user(session, Role.admin, username="admin")
    session.commit()
    login("admin")
    with client.session_transaction() as cookie:
        del cookie["auth_at"], cookie["seen_at"]
    assert client.get("/producers").status_code == 302


def test_session_expired_rule():
    from datetime import datetime, timezone

    from ocopkit.users import SessionLimits, session_expired

    limits = SessionLimits(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    start = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
    assert not session_expired(limits, started_at=start, seen_at=start,
                               now=start + timedelta(minutes=30))
    assert session_expired(limits, started_at=start, seen_at=start,
                           now=start + timedelta(minutes=31))
    assert session_expired(limits, started_at=start, seen_at=start + timedelta(hours=12),
                           now=start + timedelta(hours=12, minutes=1))
    assert session_expired(limits, started_at=None, seen_at=start, now=start)


# --- login details (issue 11) -------------------------------------------------------------

def test_passphrase_typed_in_nfd_logs_in(client, session, login):
    passphrase = "Chè Shan Tuyết Mường Phăng"
    make_user(session, Role.admin, username="hoa",
              password=unicodedata.normalize("NFC", passphrase))
    session.commit()
    response = login("hoa", unicodedata.normalize("NFD", passphrase))
    assert response.headers["Location"] == "/"
    assert client.get("/producers").status_code == 200


@pytest.mark.parametrize("typed", ["0912 000 001", "+84912000001", "0912.000.001",
                                   "+84 912 000 001"])
def test_producer_typing_the_phone_with_spaces_dots_or_plus84_logs_in(client, session, typed):
    producer = make_producer(session, phone="0912000001")
    make_user(session, Role.producer, username="0912000001", producer=producer)
    session.commit()
    response = client.post("/login", data={"username": typed, "password": PIN})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get(f"/producers/{producer.id}").status_code == 200


# --- re-authentication (ASVS 7.5) ---------------------------------------------------------

def _account_world(session):
    from onboarding.models import ConsentPurpose
    from onboarding.producers import record_consent
    from payments.models import LinkedAccount

    officer = make_user(session, Role.officer, username="mai")
    producer = make_producer(session, commune=officer.communes[0])
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    account = LinkedAccount(producer_id=producer.id, kind="bank", bank_bin="970415",
                            provider="VietinBank", account_number="0011001932418",
                            holder_name="GIÀNG A DẾ")
    session.add(account)
    session.commit()
    return producer, account


def test_editing_a_payment_account_asks_for_the_password_again_then_returns(client, session,
                                                                            login):
    producer, account = _account_world(session)
    login("mai")
    edit = f"/payments/accounts/{account.id}/edit"
    assert client.get(edit).status_code == 200  # just logged in: that counts
    _age_session(client, reauth_at=6)
    response = client.get(edit)
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == f"/reauth?next={edit}"
    wrong = client.post(response.headers["Location"] + "&lang=en", data={"password": "nope"})
    assert wrong.status_code == 401 and "Wrong password or PIN." in wrong.get_data(as_text=True)
    back = client.post(response.headers["Location"], data={"password": PASSWORD})
    assert back.headers["Location"] == edit
    assert "0011001932418" in client.get(edit).get_data(as_text=True)


def test_a_stale_post_is_not_carried_out_and_the_user_returns_to_the_form_page(
        client, session, login):
    from payments.models import AccountStatus, LinkedAccount

    producer, account = _account_world(session)
    login("mai")
    _age_session(client, reauth_at=6)
    list_page = f"http://localhost/payments/producers/{producer.id}/accounts"
    response = client.post(f"/payments/accounts/{account.id}/verify?lang=en",
                           data={"method": "in_person"}, headers={"Referer": list_page})
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == (
        f"/reauth?next=/payments/producers/{producer.id}/accounts")
    session.expire_all()
    assert session.get(LinkedAccount, account.id).status == AccountStatus.pending
    page = client.get(response.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "Nothing was saved yet" in page
    back = client.post(response.headers["Location"], data={"password": PASSWORD})
    assert back.headers["Location"] == f"/payments/producers/{producer.id}/accounts"
    client.post(f"/payments/accounts/{account.id}/verify", data={"method": "in_person"})
    session.expire_all()
    assert session.get(LinkedAccount, account.id).status == AccountStatus.verified


def test_recording_a_payout_needs_a_recent_password(client, session, login):
    producer, _ = _account_world(session)
    login("mai")
    _age_session(client, reauth_at=6)
    response = client.post(f"/payments/producers/{producer.id}/payouts",
                           data={"amount_vnd": "1000", "reference": "X1"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/reauth")


def test_a_producer_reauthenticates_with_the_pin(client, session, login):
    producer, account = _account_world(session)
    make_user(session, Role.producer, username="0912000009", producer=producer)
    session.commit()
    login("0912000009")
    _age_session(client, reauth_at=6)
    edit = f"/payments/accounts/{account.id}/edit"
    reauth = client.get(edit).headers["Location"]
    assert client.post(reauth, data={"password": PIN}).headers["Location"] == edit
