"""Logging in and out. Cookies carry the user's session version, so a cookie copied before
logout is refused afterwards; failed logins are rate limited in the database, which every
worker process shares."""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import delete
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ocopkit.db import get_session, transaction, utcnow
from ocopkit.users import (
    LoginFailure, Role, User, address_key, authenticate, end_sessions, is_login_blocked,
    normalise_username,
)

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


class LoginForm(FlaskForm):
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
        key = address_key(request.remote_addr or "?", cfg["SECRET_KEY"])
        pending = _claim_attempt(db, username=form.username.data, address_key=key, now=now)
        if pending is None:
            flash(_("Too many failed attempts. Wait 15 minutes and try again."), "error")
            return render_template("auth/login.html", form=form), 429
        with transaction(db):
            user = authenticate(db, username=form.username.data, password=form.password.data,
                                address_key=key, now=now)
            # a failure has just been logged in place of the claim; a success clears it
            db.execute(delete(LoginFailure).where(LoginFailure.id.in_(pending)))
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            session.clear()
            login_user(user)
            return redirect(next_url or url_for("site.home"))
        flash(_("Wrong phone number, user name or password."), "error")
        status = 401
    return render_template("auth/login.html", form=form), status


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
    login_manager.init_app(app)
    app.register_blueprint(bp)
