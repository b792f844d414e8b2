"""Traceability pages: the public scan page /t/<code>, the GS1 Digital Link resolver, and the
officer's batch pages with labels and the EPCIS export."""
from __future__ import annotations

import io

from flask import (
    Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template,
    request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ocopkit.db import get_session, transaction
from ocopkit.errors import Invalid, NotFound
from ocopkit.forms import attach_error
from ocopkit.i18n import error_text
from ocopkit.limits import counting_misses
from shop import labels, traceability
from shop.models import Lot, Product
from shop.trace_forms import EVENT_LABELS, EventForm, GtinForm, LotForm, WithdrawLotForm

bp = Blueprint("trace", __name__)
LABEL_COUNT_MAX = 500


def trace_url(code: str) -> str:
    """The short public URL printed in the QR code."""
    return traceability.trace_link(_public_base(), code)


def _public_base() -> str:
    """The configured public address: the Host header is the client's to forge."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


@bp.app_template_filter("event_label")
def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind))


def _scan_page(lot: Lot, status: int = 200):
    db = get_session()
    today = traceability.local_today()
    page = traceability.trace_page(db, lot, today)
    with transaction(db):
        traceability.record_scan(db, lot.id, today)
    return render_template("trace/scan.html", page=page, today=today), status


def _lot_or_404(code: str) -> Lot:
    with counting_misses("trace_lookup"):  # trace codes can be guessed: misses count
        lot = traceability.lot_by_trace_code(get_session(), code)
        if lot is None:
            abort(404)
    return lot


@bp.get("/t/<code>")
def scan(code: str):
    return _scan_page(_lot_or_404(code))


def _public_url(path: str) -> str:
    return _public_base().rstrip("/") + path


def _linkset(lot: Lot) -> Response:
    """RFC 9264 linkset of the batch's links (GS1 resolver's ?linkType=all)."""
    anchor = _public_url(request.path)
    scan_url = _public_url(url_for("trace.scan", code=lot.trace_code))
    product_url = _public_url(url_for("shop.product", product_id=lot.product_id))
    body = {"linkset": [{
        "anchor": anchor,
        "https://gs1.org/voc/defaultLink": [{"href": scan_url, "title": lot.product.name,
                                             "type": "text/html", "hreflang": ["vi", "en"]}],
        "https://gs1.org/voc/traceability": [{"href": scan_url, "type": "text/html"}],
        "https://gs1.org/voc/pip": [{"href": product_url, "type": "text/html"}],
        "https://gs1.org/voc/epcis": [{"href": _public_url(url_for(
            "trace.lot_epcis_public", code=lot.trace_code)), "type": "application/ld+json"}],
    }]}
    response = jsonify(body)
    response.mimetype = "application/linkset+json"
    return response


@bp.get("/01/<gtin>/10/<lot_code>")
def digital_link(gtin: str, lot_code: str):
    with counting_misses("trace_lookup"):
        result = traceability.resolve_digital_link(get_session(), gtin, lot_code)
        if result.status == 404:
            abort(404)
    if result.status == 303:
        return redirect(url_for("shop.product", product_id=result.product.id), 303)
    if request.args.get("linkType") == "all":
        return _linkset(result.lot)
    return _scan_page(result.lot, result.status)


@bp.get("/t/<code>/epcis.json")
def lot_epcis_public(code: str):
    lot = _lot_or_404(code)
    response = jsonify(traceability.epcis_document(
        lot, trace_url=trace_url(lot.trace_code),
        private=traceability.producer_private(get_session(), lot)))
    response.mimetype = "application/ld+json"
    return response


@bp.route("/products/<int:product_id>/lots", methods=["GET", "POST"])
@login_required
def lots(product_id: int):
    db = get_session()
    product = db.get(Product, product_id) or abort(404)
    try:
        traceability._require_manager(db, current_user, product)
    except NotFound:
        abort(404)
    form, gtin_form = LotForm(), GtinForm(prefix="g", gtin=product.gtin)
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db):
                lot = traceability.create_lot(
                    db, current_user, product, lot_code=form.lot_code.data,
                    produced_on=form.produced_on.data, expires_on=form.expires_on.data,
                    quantity=form.quantity.data, unit=form.unit.data or "",
                    origin=form.origin.data or "", notes=form.notes.data or "")
        except Invalid as e:
            attach_error(form, e, error_text(e))
            status = 422
        else:
            flash(_("Batch %(lot)s created.", lot=lot.lot_code), "info")
            return redirect(url_for("trace.lot", lot_id=lot.id))
    elif request.method == "POST":
        status = 422
    items = db.scalars(select(Lot).where(Lot.product_id == product.id)
                       .order_by(Lot.produced_on.desc()))
    return render_template("trace/lots.html", product=product, lots=list(items), form=form,
                           gtin_form=gtin_form), status


@bp.post("/products/<int:product_id>/gtin")
@login_required
def product_gtin(product_id: int):
    db = get_session()
    product = db.get(Product, product_id) or abort(404)
    form = GtinForm(prefix="g")
    if form.validate_on_submit():
        try:
            with transaction(db):
                traceability.set_gtin(db, current_user, product, form.gtin.data)
        except Invalid as e:
            flash(error_text(e), "error")
        else:
            flash(_("Saved."), "info")
    return redirect(url_for("trace.lots", product_id=product_id))


@bp.get("/lots/<int:lot_id>")
@login_required
def lot(lot_id: int):
    db = get_session()
    item = traceability.get_lot(db, current_user, lot_id)
    return render_template("trace/lot.html", lot=item, url=trace_url(item.trace_code),
                           scans=traceability.scan_counts(db, item.id),
                           event_form=EventForm(), withdraw_form=WithdrawLotForm())


def _lot_action(lot_id: int, form, action, done: str):
    db = get_session()
    item = traceability.get_lot(db, current_user, lot_id)
    if form.validate_on_submit():
        try:
            with transaction(db):
                action(db, item)
        except Invalid as e:
            flash(error_text(e), "error")
        else:
            flash(done, "info")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("trace.lot", lot_id=lot_id))


@bp.post("/lots/<int:lot_id>/events")
@login_required
def lot_event(lot_id: int):
    form = EventForm()
    return _lot_action(lot_id, form, lambda db, item: traceability.add_event(
        db, current_user, item, kind=form.kind.data,
        occurred_at=traceability.local_to_utc(form.occurred_at.data), place=form.place.data or ""),
        _("Step recorded."))


@bp.post("/lots/<int:lot_id>/withdraw")
@login_required
def lot_withdraw(lot_id: int):
    form = WithdrawLotForm()
    return _lot_action(lot_id, form, lambda db, item: traceability.withdraw_lot(
        db, current_user, item, reason=form.reason.data), _("The batch is withdrawn."))


@bp.get("/lots/<int:lot_id>/labels.<ext>")
@login_required
def lot_labels(lot_id: int, ext: str):
    item = traceability.get_lot(get_session(), current_user, lot_id)
    fmt = request.args.get("format", "a4")
    count = request.args.get("count", 24, type=int)
    if fmt not in ("a4", "thermal") or ext not in ("pdf", "png") or not 1 <= count <= LABEL_COUNT_MAX:
        abort(400)
    data = traceability.lot_label(item, trace_url(item.trace_code))
    if ext == "png":
        body, mimetype = labels.label_png(data, fmt), "image/png"
    elif fmt == "a4":
        body, mimetype = labels.a4_pdf([data] * count), "application/pdf"
    else:
        body, mimetype = labels.thermal_pdf([data] * count), "application/pdf"
    return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=ext == "pdf",
                     download_name=f"labels-{item.lot_code}-{fmt}.{ext}")


@bp.get("/lots/<int:lot_id>/epcis.json")
@login_required
def lot_epcis(lot_id: int):
    item = traceability.get_lot(get_session(), current_user, lot_id)
    response = jsonify(traceability.epcis_document(item, trace_url=trace_url(item.trace_code)))
    response.mimetype = "application/ld+json"
    response.headers["Content-Disposition"] = f"attachment; filename=epcis-{item.lot_code}.json"
    return response
