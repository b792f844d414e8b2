"""Site-wide behaviour: health check, error pages, security headers, cookies, language."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_user
from ocopkit import create_app
from ocopkit.site import CONTENT_SECURITY_POLICY
from ocopkit.users import Role

UNREACHABLE_DB = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"


def _app(database_url, **config):
    return create_app({"TESTING": True, "DATABASE_URL": database_url,
                       "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False, **config})


def _set_cookie_headers(response, name):
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


# --- health check -------------------------------------------------------------------------

def test_healthz_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_cannot_be_reached():
    app = create_app({"TESTING": True, "ENV": "testing", "SECRET_KEY": "x",
                      "DATABASE_URL": UNREACHABLE_DB})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
    assert response.get_json()["status"] != "ok"


# --- error pages --------------------------------------------------------------------------

def test_unknown_page_is_a_404_html_page_in_the_site_layout(client):
    response = client.get("/no-such-page?lang=en")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "<h1>404</h1>" in body
    assert "This page does not exist" in body


def test_wrong_method_is_a_405_page(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "<h1>405</h1>" in response.get_data(as_text=True)


# --- security headers ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page", "/healthz"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_carry_no_script(client):
    for path in ("/", "/login"):
        assert b"<script" not in client.get(path).data


def test_logged_in_pages_are_not_cached_but_public_ones_may_be(client, session, login):
    make_user(session, Role.admin, username="admin")
    session.commit()
    assert "private" not in client.get("/").headers.get("Cache-Control", "")
    login("admin")
    cache_control = client.get("/").headers["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control


def test_csp_constant_is_what_is_sent(client):
    assert client.get("/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# --- cookies ------------------------------------------------------------------------------

def _login_set_cookie(app, session):
    make_user(session, Role.admin, username="cookie-admin")
    session.commit()
    response = app.test_client().post(
        "/login", data={"username": "cookie-admin", "password": PASSWORD})
    assert response.status_code == 302
    (header,) = _set_cookie_headers(response, app.config["SESSION_COOKIE_NAME"])
    return [part.strip().lower() for part in header.split(";")]


def test_session_cookie_is_secure_httponly_lax_in_production(engine, database_url, session):
    attributes = _login_set_cookie(_app(database_url, ENV="production"), session)
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_session_cookie_has_the_host_prefix_over_https_behind_a_trusted_proxy(
        engine, database_url, session):
    make_user(session, Role.admin, username="host-admin")
    session.commit()
    app = _app(database_url, ENV="production", TRUSTED_PROXIES=1)
    response = app.test_client().post(
        "/login", data={"username": "host-admin", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
    assert response.status_code == 302
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-")]
    attributes = [part.strip().lower() for part in header.split(";")]
    assert header.startswith("__Host-ocopkit_session=")
    assert "secure" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain=") for a in attributes)
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains")


def test_hsts_only_over_https_and_a_forged_scheme_is_not_https(engine, database_url):
    direct = _app(database_url, ENV="production").test_client()
    assert "Strict-Transport-Security" not in direct.get("/login").headers
    forged = direct.get("/login", headers={"X-Forwarded-Proto": "https"})  # no trusted proxy
    assert "Strict-Transport-Security" not in forged.headers
    tls = direct.get("/login", base_url="https://ocop.example.vn")
    assert tls.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_development_keeps_the_plain_cookie_name(engine, database_url):
    assert _app(database_url, ENV="development").config["SESSION_COOKIE_NAME"] == "ocopkit_session"


def test_session_cookie_is_not_secure_in_development(engine, database_url, session):
    attributes = _login_set_cookie(_app(database_url, ENV="development"), session)
    assert "secure" not in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_explicit_cookie_setting_wins_over_the_environment(engine, database_url):
    app = _app(database_url, ENV="production", SESSION_COOKIE_SECURE=False)
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_language_cookie_is_secure_in_production(engine, database_url):
    response = _app(database_url, ENV="production").test_client().get("/?lang=en")
    (header,) = _set_cookie_headers(response, "lang")
    attributes = [part.strip().lower() for part in header.split(";")]
    assert {"secure", "httponly", "samesite=lax"} <= set(attributes)


# --- language -----------------------------------------------------------------------------

def test_vietnamese_is_the_default_language(client):
    body = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in body
    assert 'hreflang="en"' in body


def test_lang_parameter_switches_to_english_and_is_remembered(client):
    response = client.get("/?lang=en")
    assert '<html lang="en">' in response.get_data(as_text=True)
    (header,) = _set_cookie_headers(response, "lang")
    assert header.startswith("lang=en;")
    # the cookie alone keeps English on the next page, and the switch back link is shown
    body = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in body
    assert 'hreflang="vi"' in body


def test_switching_back_to_vietnamese(client):
    client.get("/?lang=en")
    response = client.get("/?lang=vi")
    assert '<html lang="vi">' in response.get_data(as_text=True)
    assert client.get_cookie("lang").value == "vi"
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


def test_unknown_language_falls_back_to_vietnamese_and_sets_no_cookie(client):
    response = client.get("/?lang=fr")
    assert '<html lang="vi">' in response.get_data(as_text=True)
    assert not _set_cookie_headers(response, "lang")


def test_english_pages_show_english_text(client):
    body = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in body
    assert "Password or PIN" in body
