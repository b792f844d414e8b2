"""Personal-data pages (issue 11): the public privacy notice; a producer's own consents with
withdraw buttons; its data as a readable page and as JSON; an administrator's erasure.
HTTP only: the rules live in onboarding.producers and onboarding.privacy."""
from __future__ import annotations

import json

from flask import (
    Blueprint, Response, current_app, flash, redirect, render_template, request, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ocopkit.auth import reauth_required, role_required
from ocopkit.db import get_session, transaction
from ocopkit.errors import Invalid
from ocopkit.forms import attach_error
from ocopkit.i18n import error_text
from ocopkit.users import Role
from onboarding import privacy, producers
from onboarding.forms import EraseForm, WithdrawForm
from onboarding.models import ConsentPurpose

bp = Blueprint("privacy", __name__)
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@bp.get("/privacy")
def notice():
    return render_template("privacy/notice.html",
                           buyer_days=int(current_app.config["BUYER_DATA_DAYS"]))


@bp.get("/producers/<int:producer_id>/privacy")
@login_required
def consents(producer_id: int):
    db = get_session()
    producer = producers.get_producer(db, current_user, producer_id)
    body = render_template("privacy/consents.html", producer=producer,
                           consents=producers.active_consents(db, producer.id),
                           purposes=list(ConsentPurpose), form=WithdrawForm(),
                           erased=privacy.is_erased(db, producer.id))
    return body, 200, PRIVATE


@bp.post("/producers/<int:producer_id>/privacy/withdraw")
@login_required
def withdraw(producer_id: int):
    db = get_session()
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            with transaction(db):
                producer = producers.get_producer(db, current_user, producer_id)
                producers.withdraw_consent(db, current_user, producer, form.purpose.data)
        except Invalid as e:
            flash(error_text(e), "error")
        else:
            flash(_("Consent withdrawn."), "info")
    else:
        flash(_("Choose what to withdraw."), "error")
    return redirect(url_for("privacy.consents", producer_id=producer_id))


def _data(producer_id: int) -> dict:
    db = get_session()
    return privacy.personal_data(db, current_user,
                                 producers.get_producer(db, current_user, producer_id))


@bp.get("/producers/<int:producer_id>/data")
@login_required
def data_page(producer_id: int):
    return render_template("privacy/data.html", data=_data(producer_id),
                           producer_id=producer_id), 200, PRIVATE


@bp.get("/producers/<int:producer_id>/data.json")
@login_required
def data_json(producer_id: int):
    data = _data(producer_id)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    filename = f"ocopkit-{data['producer']['code']}.json".encode("ascii", "ignore").decode()
    return Response(body, mimetype="application/json", headers={
        **PRIVATE, "Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/producers/<int:producer_id>/erase", methods=["GET", "POST"])
@role_required(Role.admin)
@reauth_required()
def erase(producer_id: int):
    db = get_session()
    producer = producers.get_producer(db, current_user, producer_id)
    form = EraseForm()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                result = privacy.erase_producer(db, current_user, producer,
                                                reason=form.reason.data)
        except Invalid as e:
            db.expire_all()
            attach_error(form, e, error_text(e))
            status = 422
        else:
            privacy.delete_photo_files(current_app.config["MEDIA_ROOT"], result.photo_keys)
            flash(_("The producer's personal data has been erased."), "info")
            return redirect(url_for("onboarding.producer", producer_id=producer_id))
    elif request.method == "POST":
        status = 422
    return render_template("privacy/erase.html", producer=producer, form=form,
                           erased=privacy.is_erased(db, producer.id)), status
