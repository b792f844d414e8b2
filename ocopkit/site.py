"""Site-wide pages and responses: home, health check, error pages, security headers."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text

from ocopkit.db import get_session
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


@bp.get("/healthz")
def healthz():
    try:
        get_session().execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="unavailable", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


def _error_page(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status


def register_errorhandlers(app) -> None:
    messages = {
        400: lambda: _("The request could not be understood."),
        403: lambda: _("You are not allowed to do this."),
        404: lambda: _("This page does not exist, or it is not yours to see."),
        405: lambda: _("This action is not available here."),
        413: lambda: _("The file is too large."),
        429: lambda: _("Too many requests. Wait a little and try again."),
        500: lambda: _("Something went wrong on our side. Nothing was saved; try again."),
    }
    for status, message in messages.items():
        app.register_error_handler(status, lambda e, s=status, m=message: _error_page(s, m()))
    app.register_error_handler(
        CSRFError, lambda e: _error_page(400, _("The form expired. Go back, reload the page "
                                                "and send it again.")))
    app.register_error_handler(NotFound, lambda e: _error_page(404, error_text(e)))
    app.register_error_handler(NotAllowed, lambda e: _error_page(403, error_text(e)))


def add_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if current_user and current_user.is_authenticated and request.endpoint not in ("static", "shop.media"):
        response.headers["Cache-Control"] = "private, no-store"
    return response
