"""Payment-account pages for officers and producers."""
from __future__ import annotations

import io
import time

from flask import (
    Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request,
    send_file, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from ocopkit.access import is_staff
from ocopkit.auth import reauth_required, role_required
from ocopkit.db import get_session, transaction
from ocopkit.errors import Invalid
from ocopkit.forms import attach_error, csrf
from ocopkit.i18n import error_text
from ocopkit.users import Role
from onboarding.producers import get_producer
from onboarding.views import import_page
from payments import accounts, imports, ledger, problems, refunds, transactions, vietqr
from payments.forms import AccountForm, ActionForm, PayoutForm, VerifyForm
from payments.gateway import GatewayClient, GatewayError
from payments.models import AccountKind
from payments.signatures import SignatureError, parse_event, verify_signature

bp = Blueprint("payments", __name__, url_prefix="/payments")
BOOTH_VIETQR_MAX_AGE = 300  # seconds


def _details(form: AccountForm) -> accounts.AccountDetails:
    return accounts.AccountDetails(kind=AccountKind(form.kind.data),
                                   account_number=form.account_number.data,
                                   holder_name=form.holder_name.data,
                                   bank_bin=form.bank_bin.data or None,
                                   provider=form.provider.data or "")


@bp.route("/producers/<int:producer_id>/accounts", methods=["GET", "POST"])
@reauth_required(only_writes=True)
def producer_accounts(producer_id: int):
    db = get_session()
    producer = get_producer(db, current_user, producer_id)
    form = AccountForm()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                accounts.link_account(db, current_user, producer, _details(form))
        except Invalid as e:
            attach_error(form, e, error_text(e))
            status = 422
        else:
            flash(_("Account linked. An officer must verify it before buyers pay into it."),
                  "info")
            return redirect(url_for("payments.producer_accounts", producer_id=producer_id))
    elif request.method == "POST":
        status = 422
    return render_template("payments/accounts.html", producer=producer, form=form,
                           items=accounts.accounts_of(db, producer.id), mask=accounts.mask,
                           verify_form=VerifyForm(), action_form=ActionForm()), status


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@reauth_required()
def account_edit(account_id: int):
    db = get_session()
    account = accounts.get_account(db, current_user, account_id)
    form = AccountForm(obj=account) if request.method == "GET" else AccountForm()
    if request.method == "GET":
        form.kind.data = account.kind.value
        form.provider.data = account.provider if account.kind != AccountKind.bank else ""
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                accounts.change_account(db, current_user, account, _details(form))
        except Invalid as e:
            db.expire_all()
            attach_error(form, e, error_text(e))
            status = 422
        else:
            flash(_("Saved. A changed account must be verified again."), "info")
            return redirect(url_for("payments.producer_accounts",
                                    producer_id=account.producer_id))
    elif request.method == "POST":
        status = 422
    return render_template("payments/account_edit.html", account=account, form=form), status


def _account_action(account_id: int, form, action, done: str):
    db = get_session()
    account = accounts.get_account(db, current_user, account_id)
    if form.validate_on_submit():
        try:
            with transaction(db):
                action(db, account)
        except Invalid as e:
            flash(error_text(e), "error")
        else:
            flash(done, "info")
    return redirect(url_for("payments.producer_accounts", producer_id=account.producer_id))


@bp.post("/accounts/<int:account_id>/verify")
@reauth_required()
def account_verify(account_id: int):
    form = VerifyForm()
    return _account_action(account_id, form, lambda db, a: accounts.verify_account(
        db, current_user, a, form.method.data, reference=form.reference.data or ""),
        _("Account verified."))


@bp.post("/accounts/<int:account_id>/disable")
@reauth_required()
def account_disable(account_id: int):
    return _account_action(account_id, ActionForm(), lambda db, a: accounts.disable_account(
        db, current_user, a), _("Account disabled."))


@bp.route("/imports/transactions", methods=["GET", "POST"])
@role_required(Role.admin, Role.officer)
def import_transactions():
    return import_page("transactions", imports.import_transactions, imports.COLUMNS)


@bp.get("/producers/<int:producer_id>/vietqr.png")
def booth_vietqr(producer_id: int):
    """The static VietQR code of a public booth's verified bank account (any amount).
    Cached for minutes only, so a withdrawn consent takes it down soon from caches too."""
    account = accounts.booth_bank_account(get_session(), producer_id)
    if account is None:
        abort(404)
    png = vietqr.qr_png(vietqr.vietqr_payload(bin_code=account.bank_bin,
                                              account=account.account_number))
    response = send_file(io.BytesIO(png), mimetype="image/png", max_age=BOOTH_VIETQR_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={BOOTH_VIETQR_MAX_AGE}"
    return response


def gateway_client() -> GatewayClient:
    """A client for one request: all its gateway calls together stay within the budget."""
    cfg = current_app.config
    return GatewayClient(cfg["GATEWAY_URL"], cfg["GATEWAY_KEY"],
                         budget_seconds=cfg["GATEWAY_BUDGET_SECONDS"])


@bp.post("/webhook")
@csrf.exempt
def webhook():
    """Gateway events: signature checked over the raw body first; each event applied once."""
    payload = request.get_data(cache=False)
    try:
        verify_signature(payload, request.headers.get("Stripe-Signature"),
                         current_app.config["WEBHOOK_SECRET"], int(time.time()))
    except SignatureError:
        return jsonify(error="bad signature"), 400
    try:
        event = parse_event(payload)
    except ValueError:
        return jsonify(error="malformed payload"), 400
    db = get_session()
    try:
        with transaction(db):
            outcome = transactions.handle_event(db, gateway_client(), event)
    except IntegrityError:
        return jsonify(received=True, duplicate=True)
    except GatewayError:
        return jsonify(error="gateway unavailable, retry later"), 503
    return jsonify(received=True, event=event["id"], ignored=outcome is None)


@bp.app_template_filter("account_status")
def account_status(status) -> str:
    labels = {"pending": _("waiting for verification"), "verified": _("verified"),
              "disabled": _("disabled")}
    return labels.get(getattr(status, "value", status), str(status))


# --- ledger and payouts ---------------------------------------------------------------

def _payout_form(db, producer) -> PayoutForm | None:
    """The payout form for staff, its choices the producer's verified accounts (masked)."""
    if not is_staff(current_user):
        return None
    form = PayoutForm()
    form.account_id.choices = [
        (a.id, f"{a.provider} {accounts.mask(a.account_number)} · {a.holder_name}")
        for a in ledger.payout_accounts(db, producer.id)]
    return form


def _ledger_page(db, producer, form, status=200):
    return render_template(
        "payments/ledger.html", producer=producer, form=form,
        balance=ledger.balance(db, producer.id),
        problems=problems.producer_problems(db, producer.id),
        page=ledger.entries(db, producer.id, page=request.args.get("page", 1, type=int),
                            per_page=current_app.config.get("LEDGER_PAGE_SIZE", 50))), status


@bp.get("/producers/<int:producer_id>/ledger")
@login_required
def producer_ledger(producer_id: int):
    db = get_session()
    producer = get_producer(db, current_user, producer_id)
    return _ledger_page(db, producer, _payout_form(db, producer))


@bp.post("/producers/<int:producer_id>/payouts")
@reauth_required()
def payout_record(producer_id: int):
    db = get_session()
    producer = get_producer(db, current_user, producer_id)
    form = _payout_form(db, producer)
    if form is None:
        abort(404)
    if form.validate_on_submit():
        try:
            with transaction(db):  # refunds made at the gateway are known before paying out
                refunds.sync_producer_refunds(db, gateway_client(), producer)
        except GatewayError:
            form.amount_vnd.errors = [*form.amount_vnd.errors, _(
                "The payment gateway did not answer, so refunds of this producer's card "
                "sales cannot be checked. Nothing was recorded; try again later.")]
            return _ledger_page(db, producer, form, 422)
        try:
            with transaction(db):
                ledger.record_payout(db, current_user, producer, account_id=form.account_id.data,
                                     amount_vnd=form.amount_vnd.data,
                                     reference=form.reference.data)
        except Invalid as e:
            attach_error(form, e, error_text(e))
        except IntegrityError:  # the same reference saved by someone else a moment ago
            form.reference.errors = [*form.reference.errors,
                                     _("This reference is already recorded.")]
        else:
            flash(_("Payout recorded."), "info")
            return redirect(url_for("payments.producer_ledger", producer_id=producer_id))
    return _ledger_page(db, producer, form, 422)


@bp.app_template_filter("ledger_label")
def ledger_label(value) -> str:
    """Words for an entry's kind, channel or status."""
    labels = {"sale": _("sale"), "refund": _("refund"), "payout": _("payout"),
              "card": _("card"), "vietqr": _("VietQR transfer"), "cash": _("cash"),
              "external": _("another platform"), "transfer": _("bank transfer"),
              "completed": _("completed"), "refunded": _("refunded"),
              "cancelled": _("cancelled")}
    value = getattr(value, "value", value)
    return labels.get(value, str(value))
