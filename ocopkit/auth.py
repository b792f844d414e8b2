"""Logging in and out. Cookies carry the user's session version, so a cookie copied before
logout is refused afterwards; failed logins are rate limited in the database, which every
worker process shares. Staff with a second factor type its code after the password; every
request checks the session's idle and absolute limits (timestamps kept in the session)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import delete
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ocopkit.db import get_session, transaction, utcnow
from ocopkit.errors import Invalid
from ocopkit.forms import Form
from ocopkit.passwords import verify_secret
from ocopkit.twofactor import check_second_factor
from ocopkit.users import (
    LoginFailure, Role, SessionLimits, User, address_key, authenticate, clear_login_failures,
    end_sessions, is_login_blocked, normalise_username, session_expired,
)
from onboarding.producers import normalise_phone

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(token: str):
    try:
        user_id, version = (int(part) for part in token.split(":"))
    except ValueError:
        return None
    user = get_session().get(User, user_id)
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


class CodeForm(Form):
    code = StringField(_l("Code from the app, or a recovery code"),
                       validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ReauthForm(Form):
    password = PasswordField(_l("Password or PIN"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class LoginForm(Form):
    username = StringField(_l("Phone number or user name"),
                           validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password or PIN"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


def role_required(*roles: Role):
    """Allow the view only to logged-in users with one of these roles (others get 404)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def _safe_next(target: str | None) -> str | None:
    """A path on this site, or None. Browsers drop tabs and newlines from URLs, so "/<tab>/x"
    would become "//x" (another site): refuse whitespace and control characters too."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target
            and all(c.isprintable() and not c.isspace() for c in target)):
        return target
    return None


def _claim_attempt(db, *, username: str, address_key: str, now) -> list[int] | None:
    """Log the attempt as a failure before the password is checked, then count.

    Counting first and logging afterwards let parallel requests (other workers) all pass
    the check before any of them was logged. Logged first, each attempt sees every attempt
    committed before it, so at most the limit get their password checked per window.
    Returns the ids of the rows to replace by the outcome, or None when blocked."""
    cfg = current_app.config
    rows = [LoginFailure(key=f"account:{normalise_username(username)}", at=now),
            LoginFailure(key=address_key, at=now)]
    with transaction(db):
        db.add_all(rows)
        db.flush()
        ids = [row.id for row in rows]
    blocked = is_login_blocked(
        db, username=username, address_key=address_key, now=now,
        window=timedelta(seconds=cfg["LOGIN_FAILURE_WINDOW_SECONDS"]),
        max_per_account=cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"] + 1,  # + 1: this attempt
        max_per_address=cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"] + 1)
    if blocked:
        with transaction(db):  # a refused attempt does not extend the block
            db.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))
        return None
    return ids


def _now_ts() -> int:
    return int(utcnow().timestamp())


def _stamp(key: str) -> datetime | None:
    value = session.get(key)
    return datetime.fromtimestamp(value, timezone.utc) if isinstance(value, int) else None


def _start_session(user: User) -> None:
    """A fresh session (no fixation) stamped with its start, last use and last password."""
    session.clear()
    login_user(user)
    session.permanent = user.role == Role.producer  # staff: gone when the browser closes
    now = _now_ts()
    session.update(auth_at=now, seen_at=now, reauth_at=now)


def login_name(typed: str) -> str:
    """Producers log in with their phone, typed as they like: '0912 000 001', '+84912000001'."""
    try:
        return normalise_phone(typed) or typed
    except Invalid:
        return typed


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        cfg = current_app.config
        db = get_session()
        now = utcnow()
        username = login_name(form.username.data)
        key = address_key(request.remote_addr or "?", cfg["SECRET_KEY"])
        pending = _claim_attempt(db, username=username, address_key=key, now=now)
        if pending is None:
            flash(_("Too many failed attempts. Wait 15 minutes and try again."), "error")
            return render_template("auth/login.html", form=form), 429
        with transaction(db):
            user = authenticate(db, username=username, password=form.password.data,
                                address_key=key, now=now)
            # a failure has just been logged in place of the claim; a success clears it
            db.execute(delete(LoginFailure).where(LoginFailure.id.in_(pending)))
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            if user.has_second_factor:
                session.clear()
                session.update(pending_user=user.get_id(), pending_at=_now_ts())
                return redirect(url_for("auth.login_code", next=next_url))
            with transaction(db):
                clear_login_failures(db, user)
            _start_session(user)
            return redirect(next_url or url_for("site.home"))
        flash(_("Wrong phone number, user name or password."), "error")
        status = 401
    return render_template("auth/login.html", form=form), status


def _pending_user() -> User | None:
    """The user who typed the right password in the last 5 minutes and owes a code."""
    started = _stamp("pending_at")
    if started is None or utcnow() - started > timedelta(minutes=5):
        return None
    return load_user(session.get("pending_user", ""))


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    user = _pending_user()
    if user is None:
        session.clear()
        flash(_("Log in again: the code must be typed within 5 minutes."), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        now = utcnow()
        key = address_key(request.remote_addr or "?", current_app.config["SECRET_KEY"])
        pending = _claim_attempt(db, username=user.username, address_key=key, now=now)
        if pending is None:
            flash(_("Too many failed attempts. Wait 15 minutes and try again."), "error")
            return render_template("auth/login_code.html", form=form), 429
        with transaction(db):
            accepted = check_second_factor(db, user, form.code.data, now=now)
            if accepted:
                db.execute(delete(LoginFailure).where(LoginFailure.id.in_(pending)))
                clear_login_failures(db, user)
        if accepted:
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("site.home"))
        flash(_("Wrong or already used code."), "error")
        status = 401
    return render_template("auth/login_code.html", form=form), status


def _limits(user: User) -> SessionLimits:
    cfg = current_app.config
    if user.role == Role.producer:
        return SessionLimits(idle=timedelta(days=cfg["PRODUCER_SESSION_IDLE_DAYS"]),
                             absolute=timedelta(days=cfg["PRODUCER_SESSION_MAX_DAYS"]))
    return SessionLimits(idle=timedelta(minutes=cfg["STAFF_SESSION_IDLE_MINUTES"]),
                         absolute=timedelta(hours=cfg["STAFF_SESSION_MAX_HOURS"]))


# Pages a user with a pending obligation (new password, second factor) may still reach.
_OPEN_ENDPOINTS = {"static", "auth.logout", "auth.two_factor", "auth.two_factor_qr",
                   "auth.change_password"}


def _obligation(user: User) -> str | None:
    if user.must_change_password:
        return "auth.change_password"
    if (user.is_staff and not user.has_second_factor
            and current_app.config["STAFF_SECOND_FACTOR_REQUIRED"]):
        return "auth.two_factor"
    return None


def enforce_session_rules():
    """Every request: end sessions idle or old beyond their limits, then hold a user who
    owes a new password or a second factor on that page."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    now = utcnow()
    if session_expired(_limits(user), started_at=_stamp("auth_at"), seen_at=_stamp("seen_at"),
                       now=now):
        logout_user()
        session.clear()
        flash(_("Your session has ended. Please log in again."), "info")
        return redirect(url_for("auth.login"))
    if now - _stamp("seen_at") >= timedelta(seconds=60):  # rewrite the cookie once a minute
        session["seen_at"] = int(now.timestamp())
    required = _obligation(user)
    if required and request.endpoint not in _OPEN_ENDPOINTS:
        return redirect(url_for(required))
    return None


def reauth_required(max_age_minutes: int = 5, *, only_writes: bool = False):
    """The view needs the password (or PIN) typed within the last `max_age_minutes`
    (logging in counts); `only_writes` lets GET through (a list page with a form on it).

    Otherwise the user is sent to the re-authentication page and then back to the form
    page: a GET comes back to itself; a POST is not carried out (its data is not kept in the
    session) and the user returns to the page the form was on, told to send it again."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            confirmed = _stamp("reauth_at")
            safe = request.method in ("GET", "HEAD")
            if ((only_writes and safe) or
                    (confirmed and utcnow() - confirmed <= timedelta(minutes=max_age_minutes))):
                return view(*args, **kwargs)
            if safe:
                back = request.full_path.rstrip("?")
            else:
                back = _form_page() or url_for("site.home")
                flash(_("Nothing was saved yet: confirm your password, then send the form "
                        "again."), "info")
            return redirect(url_for("auth.reauth", next=back))
        return wrapped
    return decorator


def _form_page() -> str | None:
    """The page of this site the posted form came from (the Referer, same host only)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    return _safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
def reauth():
    form = ReauthForm()
    status = 200
    next_url = _safe_next(request.args.get("next")) or url_for("site.home")
    if form.validate_on_submit():
        db = get_session()
        now = utcnow()
        user = current_user._get_current_object()
        key = address_key(request.remote_addr or "?", current_app.config["SECRET_KEY"])
        pending = _claim_attempt(db, username=user.username, address_key=key, now=now)
        if pending is None:
            flash(_("Too many failed attempts. Wait 15 minutes and try again."), "error")
            return render_template("auth/reauth.html", form=form), 429
        if verify_secret(user.password_hash, form.password.data):
            with transaction(db):
                db.execute(delete(LoginFailure).where(LoginFailure.id.in_(pending)))
            session["reauth_at"] = int(now.timestamp())
            return redirect(next_url)
        flash(_("Wrong password or PIN."), "error")
        status = 401
    return render_template("auth/reauth.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    db = get_session()
    with transaction(db):
        end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("site.home"))


def init_app(app) -> None:
    from ocopkit import account_views  # noqa: F401  (its routes join this blueprint)

    login_manager.init_app(app)
    app.before_request(enforce_session_rules)
    app.register_blueprint(bp)
