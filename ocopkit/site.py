"""Site-wide pages and responses: home, health check, error pages, security headers."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ocopkit.auth import login_manager
from ocopkit.errors import NotAllowed, NotFound
from ocopkit.i18n import error_text

bp = Blueprint("site", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.get("/")
def home():
    from shop.views import home as shop_home

    return shop_home()


_HEALTH_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")


def _database_answers(engine, seconds: float) -> None:
    with engine.connect().execution_options(deadline=seconds) as conn:
        if engine.dialect.name == "postgresql":
            with conn.begin():
                conn.execute(text(f"SET LOCAL statement_timeout = {int(seconds * 1000)}"))
                conn.execute(text("SELECT 1"))
        else:
            conn.execute(text("SELECT 1"))


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 within HEALTHZ_TIMEOUT_SECONDS otherwise: the
    check runs in a side thread, so not even a reconnect can hold the answer back."""
    seconds = current_app.config["HEALTHZ_TIMEOUT_SECONDS"]
    check = _HEALTH_CHECKS.submit(_database_answers, current_app.extensions["ocopkit.engine"],
                                  seconds)
    try:
        check.result(timeout=seconds)
    except Exception:
        return jsonify(status="unavailable", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


def _error_page(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status


def _too_many_requests(error):
    """The 429 page says how long to wait, and Retry-After says it to machines."""
    seconds = getattr(error, "retry_after", None)
    if not isinstance(seconds, int):
        return _error_page(429, _("Too many requests. Wait a little and try again."))
    page, status = _error_page(429, _("Too many requests from you. Wait %(minutes)s minutes "
                                      "and try again.", minutes=max(1, -(-seconds // 60))))
    return page, status, {"Retry-After": str(seconds)}


def _database_unavailable(error):
    """A Vietnamese 503 that itself needs no database: the user shown is anonymous."""
    current_app.logger.warning("database unavailable: %s", type(error).__name__)
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
    g._login_user = login_manager.anonymous_user()  # Flask-Login's per-request user
    page, status = _error_page(503, _("The database is not answering at the moment. Nothing "
                                      "was saved; try again in a minute."))
    return page, status, {"Retry-After": "30"}


def register_errorhandlers(app) -> None:
    messages = {
        400: lambda: _("The request could not be understood."),
        403: lambda: _("You are not allowed to do this."),
        404: lambda: _("This page does not exist, or it is not yours to see."),
        405: lambda: _("This action is not available here."),
        413: lambda: _("The file is too large."),
        500: lambda: _("Something went wrong on our side. Nothing was saved; try again."),
    }
    for status, message in messages.items():
        app.register_error_handler(status, lambda e, s=status, m=message: _error_page(s, m()))
    app.register_error_handler(
        CSRFError, lambda e: _error_page(400, _("The form expired. Go back, reload the page "
                                                "and send it again.")))
    app.register_error_handler(NotFound, lambda e: _error_page(404, error_text(e)))
    app.register_error_handler(429, _too_many_requests)
    for error in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error, _database_unavailable)
    app.register_error_handler(NotAllowed, lambda e: _error_page(403, error_text(e)))


def add_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:  # behind TLS proxies, the scheme they forward (TRUSTED_PROXIES)
        response.headers["Strict-Transport-Security"] = (
            f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains")
    if current_user and current_user.is_authenticated and request.endpoint not in ("static", "shop.media"):
        response.headers["Cache-Control"] = "private, no-store"
    return response
