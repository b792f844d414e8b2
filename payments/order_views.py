"""Paying an order: the buyer's card and VietQR pages (reached by the order's reference, the
buyer's only key) and the producer's payment actions on an order (confirm a transfer,
refund a card payment)."""
from __future__ import annotations

import io
from urllib.parse import urlsplit

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, send_file, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ocopkit.auth import role_required
from ocopkit.db import get_session, transaction
from ocopkit.errors import DomainError, Invalid
from ocopkit.forms import read_import_file
from ocopkit.i18n import error_text
from ocopkit.limits import counting_misses
from ocopkit.money import format_vnd
from ocopkit.site import CONTENT_SECURITY_POLICY
from ocopkit.users import Role
from onboarding.imports import ImportFailed
from payments import problems, refunds, settlement, statements, transactions, transfers, vietqr
from payments.accounts import mask
from payments.banks import BANKS
from payments.forms import ActionForm
from payments.gateway import GatewayError
from payments.models import AttemptStatus, ConfirmedHow, ReservationStatus
from payments.order_forms import TEST_CARDS, CardForm, RefundForm, StatementForm
from payments.views import gateway_client
from shop.models import PaymentMethod
from shop.orders import get_order, order_by_reference

bp = Blueprint("pay", __name__)
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


def stripe_js_url() -> str:
    cfg = current_app.config
    if cfg["GATEWAY_JS_URL"]:
        return cfg["GATEWAY_JS_URL"]
    if urlsplit(cfg["GATEWAY_URL"]).hostname == "api.stripe.com":
        return "https://js.stripe.com/v3/"
    return cfg["GATEWAY_URL"].rstrip("/") + "/js.stripe.com/v3/"


def _card_page_policy() -> str:
    """The site's policy, opened only for the card form's script and what it talks to."""
    origins = {"{0.scheme}://{0.netloc}".format(urlsplit(u))
               for u in (stripe_js_url(), current_app.config["GATEWAY_URL"])}
    allowed = " ".join(sorted(origins))
    return (CONTENT_SECURITY_POLICY.replace("script-src 'none'", f"script-src 'self' {allowed}")
            + f"; connect-src 'self' {allowed}; frame-src {allowed}")


@bp.app_template_global("payment_state")
def payment_state(order) -> str:
    return settlement.payment_state(get_session(), order).value


@bp.app_template_global("payment_states")
def payment_states(orders) -> dict[int, str]:
    """States of a page of orders at once (the producer's order list)."""
    return {k: v.value for k, v in settlement.payment_states(get_session(), list(orders)).items()}


@bp.app_template_global("order_payment")
def order_payment(order) -> dict:
    """What the producer's order page shows about the money."""
    db = get_session()
    paid = transactions.order_paid_vnd(db, order.id)
    reserved = refunds.reserved_vnd(db, order.id)
    transfer = transfers.transfer_of(db, order.id)
    return {"state": settlement.payment_state(db, order).value,
            "paid_vnd": paid, "refund_on_its_way_vnd": reserved,
            "refundable_vnd": paid - reserved,
            "card_paid": transactions.is_paid(db, order.id),
            "transfer": transfer,
            "destination": transfer and _destination(transfer),
            "problems": problems.order_problems(db, order.id)}


def _destination(transfer) -> str:
    """The account the buyer was shown, masked: the one to look in, whatever was edited."""
    return (f"{BANKS.get(transfer.bank_bin, transfer.bank_bin)} {mask(transfer.account_number)}"
            f" · {transfer.holder_name}")


def _buyers_order(db, reference: str):
    with counting_misses("order_lookup"):  # the code is guessable: misses count
        return order_by_reference(db, reference)


@bp.get("/orders/<reference>/pay")
def pay(reference: str):
    db = get_session()
    order = _buyers_order(db, reference)
    state = settlement.payment_state(db, order)
    if state not in (settlement.PaymentState.unpaid, settlement.PaymentState.claimed):
        return redirect(url_for("orders.confirmation", references=order.reference))
    if order.payment_method == PaymentMethod.vietqr:
        transfer = transfers.transfer_of(db, order.id)
        return render_template("payments/pay_transfer.html", order=order, transfer=transfer,
                               state=state.value, payable=transfers.is_payable(transfer),
                               destination=_destination(transfer),
                               form=ActionForm()), 200, PRIVATE
    headers = dict(PRIVATE, **{"Content-Security-Policy": _card_page_policy()})
    return render_template("payments/pay_card.html", order=order, form=CardForm(),
                           stripe_js=stripe_js_url(),
                           publishable_key=current_app.config["GATEWAY_PUBLISHABLE_KEY"],
                           test_cards=TEST_CARDS if current_app.config["GATEWAY_TEST_CARDS"]
                           else []), 200, headers


@bp.post("/orders/<reference>/pay/card")
def pay_card(reference: str):
    db = get_session()
    order = _buyers_order(db, reference)
    form = CardForm()
    back = redirect(url_for("pay.pay", reference=order.reference))
    test_card = form.test_card.data if current_app.config["GATEWAY_TEST_CARDS"] else None
    if test_card not in (None, *(c.value for c in TEST_CARDS)):
        test_card = None
    if not form.validate_on_submit() or not (form.token.data or test_card):
        flash(_("The card details did not arrive. Enter the card again."), "error")
        return back
    try:
        with transaction(db):
            attempt = transactions.new_attempt(db, order)
        with transaction(db):
            transactions.charge_attempt(db, gateway_client(), attempt, token=form.token.data,
                                        payment_method=None if form.token.data else test_card)
    except DomainError as error:
        flash(error_text(error), "error")
        return back
    if attempt.status == AttemptStatus.failed:
        flash(_(transactions.DECLINED), "error")
        return back
    if attempt.status == AttemptStatus.succeeded:
        flash(_("Paid. Thank you!"), "info")
    else:
        flash(_("The bank is still working on the payment. This page shows it as paid once "
                "the bank confirms."), "info")
    return redirect(url_for("orders.confirmation", references=order.reference))


@bp.post("/orders/<reference>/pay/claim")
def claim_transfer(reference: str):
    db = get_session()
    order = _buyers_order(db, reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db):
            transfers.claim_transfer(db, order)
    except Invalid as error:
        flash(error_text(error), "error")
    else:
        flash(_("Thank you. The producer will confirm when the money arrives."), "info")
    return redirect(url_for("pay.pay", reference=order.reference))


@bp.get("/orders/<reference>/vietqr.png")
def order_vietqr(reference: str):
    db = get_session()
    order = _buyers_order(db, reference)
    transfer = transfers.transfer_of(db, order.id)
    if transfer is None or not transfers.is_payable(transfer):
        abort(404)
    png = vietqr.qr_png(transfers.order_payload(transfer))
    return send_file(io.BytesIO(png), mimetype="image/png", max_age=0), 200, PRIVATE


MANAGERS = (Role.producer, Role.officer, Role.admin)


@bp.post("/manage/orders/<int:order_id>/confirm-transfer")
@role_required(*MANAGERS)
def confirm_transfer(order_id: int):
    db = get_session()
    order = get_order(db, current_user, order_id)  # NotFound -> 404
    if not ActionForm().validate_on_submit():
        abort(400)
    transfer = transfers.transfer_of(db, order.id)
    if transfer is None:
        abort(404)
    how = ConfirmedHow.producer if current_user.role == Role.producer else ConfirmedHow.officer
    try:
        with transaction(db):
            transfers.confirm_transfer(db, current_user, transfer, how=how)
    except DomainError as error:
        flash(error_text(error), "error")
    else:
        flash(_("Transfer confirmed: the sale is in the ledger."), "info")
    return redirect(url_for("orders.manage_detail", order_id=order_id))


@bp.post("/manage/orders/<int:order_id>/refund")
@role_required(*MANAGERS)
def refund(order_id: int):
    db = get_session()
    order = get_order(db, current_user, order_id)
    form = RefundForm()
    if not form.validate_on_submit():
        flash(_("Enter the amount to refund, a whole number of đồng."), "error")
        return redirect(url_for("orders.manage_detail", order_id=order_id))
    client = gateway_client()
    try:
        with transaction(db):
            found = refunds.sync_refunds(db, client, order, actor=current_user)
        if found:
            flash(_("The gateway had already refunded %(amount)s for this order; that is now "
                    "recorded. Check the order before refunding more.",
                    amount=format_vnd(sum(e.amount_vnd for e in found))), "error")
            return redirect(url_for("orders.manage_detail", order_id=order_id))
        with transaction(db):
            reservation = refunds.reserve_refund(db, current_user, order,
                                                 amount_vnd=form.amount_vnd.data)
        with transaction(db):
            refunds.complete_refund(db, client, current_user, order, reservation)
    except GatewayError:
        flash(_(refunds.REFUND_UNREACHABLE), "error")
    except DomainError as error:
        flash(error_text(error), "error")
    else:
        amount = format_vnd(reservation.amount_vnd)
        if reservation.status == ReservationStatus.completed:
            flash(_("Refunded %(amount)s.", amount=amount), "info")
        elif reservation.status == ReservationStatus.released:
            flash(_("The gateway refused the refund; nothing was refunded."), "error")
        else:
            flash(_("The refund of %(amount)s is on its way: the gateway has not confirmed it "
                    "yet. ocopkit checks with the gateway; do not refund it again.",
                    amount=amount), "info")
    return redirect(url_for("orders.manage_detail", order_id=order_id))


@bp.route("/payments/imports/statement", methods=["GET", "POST"])
@role_required(Role.admin, Role.officer)
def import_statement():
    """A bank statement confirms the VietQR transfers of the officer's communes."""
    form = StatementForm()
    result, failure, errors, status = None, None, [], 200
    if form.validate_on_submit():
        data = read_import_file(form.file.data)
        db = get_session()
        try:
            with transaction(db):
                result = statements.import_statement(db, data, actor=current_user,
                                                     account=form.account.data or None)
        except ImportFailed as error:
            failure, errors, status = error_text(error), error.errors, 422
        except DomainError as error:
            failure, status = error_text(error), 422
    elif form.is_submitted():
        status = 422
    return render_template("payments/statement_import.html", form=form, result=result,
                           checks=statements.to_check(result) if result else [],
                           failure=failure, errors=errors,
                           columns=statements.COLUMNS), status
