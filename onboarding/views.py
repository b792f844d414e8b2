"""Officer pages: find and register producers, consent, logins, training, imports."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ocopkit.auth import reauth_required, role_required
from ocopkit.db import get_session, transaction
from ocopkit.errors import Invalid, NotFound, Stale
from ocopkit.forms import Form, attach_error, read_import_file
from ocopkit.i18n import error_text
from ocopkit.urls import db_id
from ocopkit.users import Role
from onboarding import imports, producers
from onboarding.forms import ConsentForm, ImportForm, LoginGrantForm, ProducerForm, TrainingForm, WithdrawForm
from onboarding.models import Commune, ConsentPurpose, EthnicGroup, ProducerKind

bp = Blueprint("onboarding", __name__)
STAFF = (Role.admin, Role.officer)


def _communes_for(actor) -> list[Commune]:
    db = get_session()
    stmt = select(Commune).order_by(Commune.name)
    if actor.role != Role.admin:
        stmt = stmt.where(Commune.id.in_(actor.commune_ids))
    return list(db.scalars(stmt))


def _fill_choices(form: ProducerForm) -> None:
    db = get_session()
    # blank first: no group is picked by accident (households must choose one; the
    # register's rule says so), and a cooperative without one keeps none when edited
    form.ethnic_group.choices = [SelectChoice("", "—")] + [
        SelectChoice(g.id, f"{g.name} ({g.code})")
        for g in db.scalars(select(EthnicGroup).order_by(EthnicGroup.code))]
    form.commune.choices = [SelectChoice(c.id, c.name) for c in _communes_for(current_user)]


def _form_data(form: ProducerForm) -> producers.ProducerData:
    db = get_session()
    group_id = form.ethnic_group.data
    return producers.ProducerData(
        code=form.code.data, kind=ProducerKind(form.kind.data), name=form.name.data,
        commune=db.get(Commune, form.commune.data), representative=form.representative.data,
        phone=form.phone.data,
        ethnic_group=db.get(EthnicGroup, group_id) if group_id is not None else None,
        village=form.village.data, name_own_language=form.name_own_language.data,
        ocop_stars=int(form.ocop_stars.data) if form.ocop_stars.data else None,
        ocop_certificate_no=form.ocop_certificate_no.data,
        ocop_certified_on=form.ocop_certified_on.data,
    )


@bp.get("/producers")
@login_required
def producer_list():
    if current_user.role == Role.producer:
        return redirect(url_for("onboarding.producer", producer_id=current_user.producer_id))
    commune_id = request.args.get("commune", type=db_id)
    page = producers.list_producers(
        get_session(), current_user, query=request.args.get("q", ""), commune_id=commune_id,
        page=request.args.get("page", 1, type=int))
    return render_template("onboarding/producers.html", page=page,
                           communes=_communes_for(current_user), commune_id=commune_id,
                           q=request.args.get("q", ""))


@bp.route("/producers/new", methods=["GET", "POST"])
@role_required(*STAFF)
def producer_new():
    form = ProducerForm()
    _fill_choices(form)
    duplicates = []
    if form.validate_on_submit():
        db = get_session()
        try:
            with transaction(db):
                producer = producers.register_producer(db, current_user, _form_data(form))
        except Invalid as e:
            attach_error(form, e, error_text(e))
            duplicates = producers.find_duplicates(db, current_user, code=form.code.data,
                                                   phone=form.phone.data)
        else:
            flash(_("%(name)s is on the register.", name=producer.name), "info")
            return redirect(url_for("onboarding.producer", producer_id=producer.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("onboarding/producer_form.html", form=form, producer=None,
                           duplicates=duplicates), status if request.method == "POST" else 200


@bp.route("/producers/<int:producer_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def producer_edit(producer_id: int):
    db = get_session()
    producer = producers.get_producer(db, current_user, producer_id)
    form = _filled_form(producer) if request.method == "GET" else ProducerForm()
    _fill_choices(form)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                producers.update_producer(db, current_user, producer, _form_data(form),
                                          version=form.version.data)
        except Stale as e:
            db.expire_all()
            producer = producers.get_producer(db, current_user, producer_id)
            form = _filled_form(producer)
            _fill_choices(form)
            form.form_errors.append(error_text(e))
            status = 409
        except Invalid as e:
            db.expire_all()
            attach_error(form, e, error_text(e))
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("onboarding.producer", producer_id=producer.id))
    return render_template("onboarding/producer_form.html", form=form, producer=producer,
                           duplicates=[]), status


def _filled_form(producer) -> ProducerForm:
    """The edit form as stored now."""
    form = ProducerForm(formdata=None, obj=producer)
    form.commune.data, form.ethnic_group.data = producer.commune_id, producer.ethnic_group_id
    form.kind.data = producer.kind.value
    form.ocop_stars.data = str(producer.ocop_stars or "")
    return form


@bp.get("/producers/<int:producer_id>")
@login_required
def producer(producer_id: int):
    db = get_session()
    item = producers.get_producer(db, current_user, producer_id)
    return render_template(
        "onboarding/producer.html", producer=item,
        steps=producers.onboarding_progress(db, item),
        consents=producers.active_consents(db, item.id),
        purposes=list(ConsentPurpose),
        trainings=producers.trainings(db, item.id),
        history=producers.history(db, item.id),
        consent_form=ConsentForm(), withdraw_form=WithdrawForm(),
        training_form=TrainingForm(), login_form=LoginGrantForm(),
        can_act=current_user.role in STAFF,
    )


def _act(producer_id: int, form, action, done_message: str):
    """Run one staff action from the producer page, then go back to it (Post/Redirect/Get)."""
    db = get_session()
    item = producers.get_producer(db, current_user, producer_id)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    else:
        try:
            with transaction(db):
                action(db, item)
        except Invalid as e:
            flash(error_text(e), "error")
        else:
            flash(done_message, "info")
    return redirect(url_for("onboarding.producer", producer_id=producer_id))


@bp.post("/producers/<int:producer_id>/consents")
@role_required(*STAFF)
def consent_record(producer_id: int):
    form = ConsentForm()
    return _act(producer_id, form,
                lambda db, p: producers.record_consent(db, current_user, p, form.purpose.data),
                _("Consent recorded."))


@bp.post("/producers/<int:producer_id>/consents/withdraw")
@role_required(*STAFF)
def consent_withdraw(producer_id: int):
    form = WithdrawForm()
    return _act(producer_id, form,
                lambda db, p: producers.withdraw_consent(db, current_user, p, form.purpose.data),
                _("Consent withdrawn."))


@bp.post("/producers/<int:producer_id>/trainings")
@role_required(*STAFF)
def training_record(producer_id: int):
    form = TrainingForm()
    return _act(producer_id, form, lambda db, p: producers.record_training(
        db, current_user, p, held_on=form.held_on.data, topic=form.topic.data,
        trainer=form.trainer.data), _("Training recorded."))


@bp.post("/producers/<int:producer_id>/login")
@role_required(*STAFF)
def login_grant(producer_id: int):
    form = LoginGrantForm()
    return _act(producer_id, form, lambda db, p: producers.give_login(
        db, current_user, p, username=form.username.data, password=form.password.data),
        _("The producer can now log in."))


@bp.post("/producers/<int:producer_id>/pin-reset")
@role_required(*STAFF)
@reauth_required()
def pin_reset(producer_id: int):
    """A temporary PIN, shown once on this page (not in a flash: the cookie is readable)."""
    db = get_session()
    item = producers.get_producer(db, current_user, producer_id)
    if not Form().validate_on_submit():
        return redirect(url_for("onboarding.producer", producer_id=producer_id))
    try:
        with transaction(db):
            pin = producers.reset_pin(db, current_user, item)
    except (Invalid, NotFound) as e:
        flash(error_text(e), "error")
        return redirect(url_for("onboarding.producer", producer_id=producer_id))
    return render_template(
        "auth/secret.html", title=_("Temporary PIN for %(name)s", name=item.name), secrets=[pin],
        note=_("Tell it to the producer in person. They choose their own PIN at their next "
               "login."), back=url_for("onboarding.producer", producer_id=producer_id))


def import_page(kind: str, importer, columns: tuple[str, ...]):
    """The upload page shared by every all-or-nothing CSV import."""
    form = ImportForm()
    summary, errors, failure = None, [], None
    status = 200
    if form.validate_on_submit():
        data = read_import_file(form.file.data)
        db = get_session()
        try:
            with transaction(db):
                summary = importer(db, current_user, data, dry_run=form.dry_run.data)
        except imports.ImportFailed as e:
            failure, errors, status = error_text(e), e.errors, 422
        except Invalid as e:
            failure, status = error_text(e), 422
    elif request.method == "POST":
        status = 422
    return render_template("onboarding/import.html", form=form, kind=kind, summary=summary,
                           errors=errors, failure=failure, columns=columns), status


@bp.route("/imports/register", methods=["GET", "POST"])
@role_required(*STAFF)
def import_register():
    return import_page("register", imports.import_register, imports.REGISTER_COLUMNS)


@bp.route("/imports/communes", methods=["GET", "POST"])
@role_required(Role.admin)
def import_communes():
    return import_page("communes", imports.import_communes, imports.COMMUNE_COLUMNS)


@bp.app_template_filter("purpose_label")
def purpose_label(purpose) -> str:
    labels = {ConsentPurpose.publish_booth: _("Publish a booth"),
              ConsentPurpose.show_phone: _("Show the phone number to buyers"),
              ConsentPurpose.link_payment_account: _("Link a payment account")}
    return labels.get(ConsentPurpose(purpose), str(purpose))




@bp.app_template_filter("action_label")
def action_label(action: str) -> str:
    labels = {"registered": _("registered"), "updated": _("details changed"),
              "imported": _("imported from a file"), "import_updated": _("changed by an import"),
              "consent_given": _("consent recorded"), "consent_withdrawn": _("consent withdrawn"),
              "login_given": _("login given"), "pin_reset": _("PIN reset"),
              "training_recorded": _("training recorded"),
              "account_linked": _("payment account linked"),
              "account_changed": _("payment account changed"),
              "account_verified": _("payment account verified"),
              "account_disabled": _("payment account disabled"),
              "sale_imported": _("sale on another platform imported"),
              "sale_moved_out": _("sale moved to another producer"),
              "sale_moved_in": _("sale moved here from another producer"),
              "booth_created": _("booth opened"), "booth_updated": _("booth changed"),
              "booth_cover_set": _("booth cover photo changed"),
              "booth_published": _("booth published"),
              "booth_unpublished": _("booth no longer public"),
              "booth_suspended": _("booth suspended"),
              "product_created": _("product added"), "product_updated": _("product changed"),
              "photo_added": _("photo added"), "photo_removed": _("photo removed"),
              "stock_received": _("stock received"), "stock_counted": _("stock counted"),
              "order_confirm": _("order confirmed"), "order_ship": _("order shipped"),
              "order_deliver": _("order delivered"), "order_cancel": _("order cancelled"),
              "order_refunded": _("order refunded"),
              "transfer_confirmed": _("bank transfer confirmed"),
              "payout_recorded": _("payout sent"), "erased": _("personal data erased")}
    return labels.get(action, action)
