"""Account pages, on the `auth` blueprint: the second factor, one's own password or PIN,
and the administrators' user management. Secrets handed over (temporary passwords,
recovery codes) are shown once on the response page, never put in a flash message (the
session cookie is signed, not encrypted)."""
from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from ocopkit import accounts, twofactor
from ocopkit.account_forms import ChangePasswordForm, CommunesForm, EnrolForm, StaffForm
from ocopkit.auth import bp, reauth_required, role_required
from ocopkit.db import get_session, transaction, utcnow
from ocopkit.errors import Invalid
from ocopkit.forms import Form, attach_error
from ocopkit.i18n import error_text
from ocopkit.users import Role, record_account_event
from onboarding.models import Commune


def _secret_page(title: str, secrets: list[str], note: str, back: str):
    return render_template("auth/secret.html", title=title, secrets=secrets, note=note,
                           back=back)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@role_required(Role.admin, Role.officer)
def two_factor():
    db = get_session()
    user = current_user._get_current_object()
    if user.has_second_factor:
        return render_template("auth/two_factor.html", form=None,
                               remaining=twofactor.remaining_recovery_codes(db, user))
    with transaction(db):
        secret = twofactor.start_enrolment(user)
    form = EnrolForm()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                codes = twofactor.confirm_enrolment(db, user, form.code.data, now=utcnow())
                record_account_event(db, user, user, "second_factor_enrolled")
        except Invalid as e:
            attach_error(form, e, error_text(e))
            status = 422
        else:
            return _secret_page(_("Recovery codes"), codes, _(
                "The second factor is on. Write these codes down and keep them away from your "
                "phone: each logs you in once if the phone is lost. They are shown only now."),
                url_for("site.home"))
    return render_template("auth/two_factor.html", form=form, secret=secret), status


@bp.get("/account/two-factor/qr.png")
@role_required(Role.admin, Role.officer)
def two_factor_qr():
    user = current_user._get_current_object()
    if user.has_second_factor or not user.totp_secret:
        return Response(status=404)
    return Response(twofactor.qr_png(twofactor.provisioning_uri(user)), mimetype="image/png",
                    headers={"Cache-Control": "private, no-store"})


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    db = get_session()
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                accounts.change_own_password(db, user, current=form.current.data,
                                             new=form.new.data)
        except Invalid as e:
            db.rollback()
            attach_error(form, e, error_text(e))
            status = 422
        else:
            # the change ended every session, this one too: log in again with the new one
            flash(_("Your password or PIN is changed. Log in with the new one."), "info")
            return redirect(url_for("auth.login"))
    elif form.is_submitted():
        status = 422
    return render_template("auth/change_password.html", form=form), status


def _commune_choices() -> list[SelectChoice]:
    return [SelectChoice(c.id, f"{c.name} ({c.code})")
            for c in get_session().scalars(select(Commune).order_by(Commune.name))]


def _communes(ids) -> list[Commune]:
    return list(get_session().scalars(select(Commune).where(Commune.id.in_(ids or []))))


@bp.route("/users", methods=["GET", "POST"])
@role_required(Role.admin)
@reauth_required()
def users():
    db = get_session()
    form = StaffForm()
    form.communes.choices = _commune_choices()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                user, password = accounts.add_staff(
                    db, current_user, username=form.username.data, role=form.role.data,
                    display_name=form.display_name.data, communes=_communes(form.communes.data))
        except Invalid as e:
            db.rollback()
            attach_error(form, e, error_text(e))
            status = 422
        else:
            return _secret_page(_("Temporary password for %(name)s", name=user.username),
                                [password], _secret_note(), url_for("auth.user", user_id=user.id))
    elif form.is_submitted():
        status = 422
    return render_template("auth/users.html", form=form,
                           users=accounts.list_users(db, current_user)), status


def _secret_note() -> str:
    return _("Give it to the person directly (not by message). They must choose their own "
             "password at their next login, then set up the second factor.")


def _user_page(user_id: int, communes_form=None, status=200):
    db = get_session()
    user = accounts.get_user(db, current_user, user_id)
    communes_form = communes_form or CommunesForm(communes=[c.id for c in user.communes])
    communes_form.communes.choices = _commune_choices()
    return render_template("auth/user.html", user=user, communes_form=communes_form,
                           action_form=Form(),
                           history=accounts.account_history(db, current_user, user)), status


@bp.get("/users/<int:user_id>")
@role_required(Role.admin)
@reauth_required()
def user(user_id: int):
    return _user_page(user_id)


def _user_action(user_id: int, action, done: str):
    db = get_session()
    user = accounts.get_user(db, current_user, user_id)
    if Form().validate_on_submit():
        try:
            with transaction(db):
                action(db, user)
        except Invalid as e:
            db.rollback()
            flash(error_text(e), "error")
        else:
            flash(done, "info")
    return redirect(url_for("auth.user", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
@role_required(Role.admin)
@reauth_required()
def user_deactivate(user_id: int):
    return _user_action(user_id, lambda db, u: accounts.deactivate_user(db, current_user, u),
                        _("The login is deactivated; its sessions have ended."))


@bp.post("/users/<int:user_id>/communes")
@role_required(Role.admin)
@reauth_required()
def user_communes(user_id: int):
    form = CommunesForm()
    form.communes.choices = _commune_choices()
    if not form.validate_on_submit():
        return _user_page(user_id, form, 422)
    return _user_action(user_id, lambda db, u: accounts.assign_communes(
        db, current_user, u, _communes(form.communes.data)), _("Communes saved."))


@bp.post("/users/<int:user_id>/password-reset")
@role_required(Role.admin)
@reauth_required()
def user_password_reset(user_id: int):
    db = get_session()
    user = accounts.get_user(db, current_user, user_id)
    if not Form().validate_on_submit():
        return redirect(url_for("auth.user", user_id=user_id))
    try:
        with transaction(db):
            password = accounts.reset_staff_password(db, current_user, user)
    except Invalid as e:
        db.rollback()
        flash(error_text(e), "error")
        return redirect(url_for("auth.user", user_id=user_id))
    return _secret_page(_("Temporary password for %(name)s", name=user.username), [password],
                        _secret_note(), url_for("auth.user", user_id=user_id))


@bp.app_template_filter("role_label")
def role_label(role: str) -> str:
    return {"admin": _("administrator"), "officer": _("extension officer"),
            "producer": _("producer")}.get(role, role)


@bp.app_template_filter("account_action_label")
def account_action_label(action: str) -> str:
    return {"created": _("login created"), "deactivated": _("login deactivated"),
            "communes_assigned": _("communes assigned"), "password_reset": _("password reset"),
            "pin_reset": _("PIN reset"), "password_changed": _("changed own password or PIN"),
            "second_factor_enrolled": _("second factor turned on")}.get(action, action)
