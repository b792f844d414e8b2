"""Configuration: safe defaults, then the environment, then the caller's overrides."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from ocopkit import db

ROOT = Path(__file__).resolve().parent.parent  # the source checkout; `i18n extract` only


class Defaults:
    ENV = "production"
    DATABASE_URL = ""  # empty: instance/ocopkit.sqlite3
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "ocopkit_session"
    SESSION_COOKIE_SECURE = None  # None: Secure everywhere except development and testing
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None
    PAGE_SIZE = 24
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
    STAFF_SESSION_IDLE_MINUTES = 30
    STAFF_SESSION_MAX_HOURS = 12
    PRODUCER_SESSION_IDLE_DAYS = 7
    PRODUCER_SESSION_MAX_DAYS = 30
    PERMANENT_SESSION_LIFETIME = 30 * 24 * 3600  # producers' cookie; the server ends it sooner
    STAFF_SECOND_FACTOR_REQUIRED = True  # staff without TOTP must enrol before anything else
    IMPORT_MAX_BYTES = 10 * 1024 * 1024
    PUBLIC_BASE_URL = ""
    HSTS_SECONDS = 365 * 24 * 3600  # sent on HTTPS responses (request.is_secure)
    TRUSTED_PROXIES = 0  # reverse proxies in front of gunicorn that set X-Forwarded-*
    GATEWAY_URL = "http://127.0.0.1:8420"
    GATEWAY_KEY = "sk_test_ocopkit"
    WEBHOOK_SECRET = ""
    GATEWAY_PUBLISHABLE_KEY = "pk_test_ocopkit"
    GATEWAY_JS_URL = ""  # empty: derived from GATEWAY_URL (js.stripe.com for Stripe itself)
    GATEWAY_TEST_CARDS = False  # the demo's no-JavaScript test-card buttons
    CARD_PAYMENT_TIMEOUT_MINUTES = 30
    GATEWAY_BUDGET_SECONDS = 12  # a buyer waits at most this long for the gateway
    MEDIA_ROOT = ""  # empty: instance/media
    PHOTO_MAX_BYTES = 10 * 1024 * 1024
    PHOTO_MAX_PIXELS = 40_000_000
    BUYER_DATA_DAYS = 180  # buyers' names, phones, addresses kept this long after delivery
    DATABASE_CONNECT_TIMEOUT = db.CONNECT_TIMEOUT
    DATABASE_STATEMENT_TIMEOUT_MS = db.STATEMENT_TIMEOUT_MS
    DATABASE_POOL_TIMEOUT = db.POOL_TIMEOUT
    HEALTHZ_TIMEOUT_SECONDS = 1.5
    REDIS_URL = ""  # abuse-limit counters: Redis when set, the database otherwise
    ORDER_LINK_MAX_AGE_SECONDS = 24 * 3600  # the signed link that shows a buyer's details
    RATE_LIMITS: dict = {}  # rule -> (hits, seconds), over ocopkit.limits.DEFAULT_RULES


def _instance_secret_key(instance: Path) -> str:
    """A random key kept in instance/, so every worker process of one install shares it."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        if not path.exists():
            os.replace(tmp, path)
        else:
            tmp.unlink()
    return path.read_text().strip()


def load_config(app, overrides: dict | None = None) -> None:
    """Fill app.config from Defaults, OCOPKIT_* variables, DATABASE_URL and overrides."""
    app.config.from_object(Defaults)
    app.config.from_prefixed_env("OCOPKIT")
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if overrides:
        app.config.update(overrides)
    instance = Path(app.instance_path)
    app.config["DATABASE_URL"] = (app.config["DATABASE_URL"]
                                  or f"sqlite:///{instance / 'ocopkit.sqlite3'}")
    app.config["MEDIA_ROOT"] = app.config["MEDIA_ROOT"] or str(instance / "media")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)
    # Flask's own defaults already hold SESSION_COOKIE_SECURE=False, so setdefault would
    # never apply: decide here unless the environment or the caller chose explicitly.
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config["ENV"] not in ("development", "testing")
    # A Secure cookie gets the __Host- prefix: browsers then refuse one set by a subdomain
    # or over plain HTTP, or with a Domain or a narrower Path (no cookie tossing).
    name = app.config["SESSION_COOKIE_NAME"]
    if (app.config["SESSION_COOKIE_SECURE"] and not app.config.get("SESSION_COOKIE_DOMAIN")
            and not name.startswith("__Host-")):
        app.config["SESSION_COOKIE_NAME"] = f"__Host-{name}"
        app.config["SESSION_COOKIE_PATH"] = "/"
