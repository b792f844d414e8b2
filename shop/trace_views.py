"""Traceability pages: the public scan page /t/<code>, the GS1 Digital Link resolver, and the
officer's batch pages with labels and the EPCIS export."""
from __future__ import annotations

import io

from flask import (
    Blueprint, Response, abort, current_app, flash, jsonify, make_response, redirect,
    render_template, request, send_file, url_for,
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
from shop.gs1 import VOC, VOC_PREFIX, digital_link_path, link_type_uri
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
    if request.method == "GET":  # a HEAD (link checkers, CORS probes) is no scan
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


RESOLVER_ENDPOINTS = {"trace.digital_link", "trace.gs1resolver"}


@bp.after_request
def _cors(response: Response) -> Response:
    """GS1 resolvers SHALL support CORS: a scanning web app on another site reads the
    answer, its Link header and the Location of a redirect."""
    if request.endpoint in RESOLVER_ENDPOINTS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Expose-Headers"] = "Link, Location, Content-Type"
    return response


def _link(href: str, title: str | None = None, mimetype: str = "text/html") -> dict:
    link = {"href": href, "type": mimetype}
    if title:
        link.update(title=title, hreflang=["vi", "en"])
    return link


def _links(result: traceability.Resolution) -> dict[str, list[dict]]:
    """The resolver's links by GS1 link type. Titles name the product, never the producer
    (a producer without the publish consent stays unnamed: producer_private)."""
    product = result.product
    product_url = _public_url(url_for("shop.product", product_id=product.id))
    lot = result.lot
    if lot is None:
        return {VOC + "defaultLink": [_link(product_url, product.name)],
                VOC + "pip": [_link(product_url, product.name)]}
    scan_url = _public_url(url_for("trace.scan", code=lot.trace_code))
    links = {
        VOC + "defaultLink": [_link(scan_url, product.name)],
        VOC + "traceability": [_link(scan_url)],
        VOC + "pip": [_link(product_url)],
        VOC + "epcis": [_link(_public_url(url_for("trace.lot_epcis_public",
                                                  code=lot.trace_code)), None,
                              "application/ld+json")],
    }
    if lot.withdrawn_at is not None:
        links[VOC + "recallStatus"] = [_link(scan_url, _(
            "Batch withdrawn: %(reason)s", reason=lot.withdrawal_reason))]
    return links


def _bad_key(error: Invalid):
    """400, as GS1 Digital Link requires for a malformed key, in HTML or JSON as asked."""
    title, detail = _("This GS1 Digital Link is not valid."), error_text(error)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == \
            "application/json":
        return jsonify(status=400, title=title, detail=detail), 400
    return render_template("errors/error.html", status=400,
                           message=f"{title} {detail}"), 400


def _answer(result: traceability.Resolution, anchor: str):
    links = _links(result)
    link_type = request.args.get("linkType")
    if link_type == "all":  # RFC 9264 linkset
        response = jsonify({"linkset": [{"anchor": anchor, **links}]})
        response.mimetype = "application/linkset+json"
        return response
    if link_type:
        targets = links.get(link_type_uri(link_type)) or abort(404)
        return redirect(targets[0]["href"], 307)
    if result.lot is None:
        return redirect(links[VOC + "defaultLink"][0]["href"], 303)
    return _scan_page(result.lot, result.status)


@bp.get("/01/<gtin>", defaults={"lot_code": None})
@bp.get("/01/<gtin>/10/<lot_code>")
def digital_link(gtin: str, lot_code: str | None):
    with counting_misses("trace_lookup"):
        result = traceability.resolve_digital_link(get_session(), gtin, lot_code)
        if result.status == 404:
            abort(404)
    if result.status == 400:
        return _bad_key(result.error)
    lot = result.lot.lot_code if result.lot else lot_code
    anchor = _public_url(digital_link_path(result.product.gtin, lot))
    response = make_response(_answer(result, anchor))
    response.headers["Link"] = (f'<{anchor}?linkType=all>; rel="linkset"; '
                                'type="application/linkset+json"')
    return response


@bp.get("/.well-known/gs1resolver")
def gs1resolver():
    """The resolver description file of the GS1-Conformant resolver standard."""
    return jsonify({
        "name": "ocopkit GS1 Digital Link resolver",
        "resolverRoot": _public_base().rstrip("/"),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": VOC, "prefix": VOC_PREFIX}],
        "linkTypeDefaultCanBeLinkset": False,
    })


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
    return render_template("trace/lot.html", lot=item,
                           url=traceability.label_url(item, _public_base()),
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
    data = traceability.lot_label(item, _public_base())
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
