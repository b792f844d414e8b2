"""Cart, checkout and order management pages. The cart lives in the signed session cookie
(product id -> quantity), so buyers need no account and no JavaScript. What happens to the
money (expected transfers, cash at delivery) is payments' work, done in the same
transaction."""
from __future__ import annotations

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ocopkit.auth import role_required
from ocopkit.db import get_session, transaction
from ocopkit.errors import Invalid, NotFound
from ocopkit.forms import attach_error
from ocopkit.i18n import error_text
from ocopkit.limits import count_hit, counting_misses
from ocopkit.users import Role
from shop import orders
from shop.catalogue import public_product
from payments.settlement import after_status_change
from payments.transfers import expect_transfers
from shop.models import Booth, OrderStatus, PaymentMethod, Product
from shop.order_forms import (
    BuyerPhoneForm, CartAddForm, CartUpdateForm, CheckoutForm, OrderActionForm,
)

bp = Blueprint("orders", __name__)
CART_KEY = "cart"
REFERENCE_SEPARATOR = "-"


# --- the cart in the cookie -----------------------------------------------------------------

def _cart() -> dict[int, int]:
    raw = session.get(CART_KEY) or {}
    cart = {}
    for key, quantity in list(raw.items())[:orders.MAX_LINES]:
        try:
            product_id, quantity = int(key), int(quantity)
        except (TypeError, ValueError):
            continue
        if 1 <= quantity <= orders.MAX_QUANTITY:
            cart[product_id] = quantity
    return cart


def _save_cart(cart: dict[int, int]) -> None:
    session[CART_KEY] = {str(k): v for k, v in cart.items()}


def _on_sale(product_ids) -> dict[int, Product]:
    """Products of the cart still for sale, with their booths, in one query."""
    if not product_ids:
        return {}
    return {p.id: p for p in get_session().scalars(
        select(Product).join(Booth, Product.booth_id == Booth.id)
        .options(joinedload(Product.booth))
        .where(Product.id.in_(product_ids), public_product()))}


def _cart_lines(cart: dict[int, int]):
    products = _on_sale(list(cart))
    gone = [pid for pid in cart if pid not in products]
    if gone:
        for pid in gone:
            del cart[pid]
        _save_cart(cart)
        flash(_("Some products are no longer for sale and were taken out of your cart."),
              "info")
    lines = [{"product": products[pid], "quantity": q, "total_vnd": products[pid].price_vnd * q}
             for pid, q in cart.items()]
    lines.sort(key=lambda line: (line["product"].booth_id, line["product"].id))
    return lines, sum(line["total_vnd"] for line in lines)


@bp.post("/cart/add")
def cart_add():
    form = CartAddForm()
    if not form.validate_on_submit():
        abort(400)
    if not _on_sale([form.product_id.data]):
        abort(404)
    cart = _cart()
    if form.product_id.data not in cart and len(cart) >= orders.MAX_LINES:
        flash(_("Your cart is full (%(n)s products). Check out first.", n=orders.MAX_LINES),
              "error")
        return redirect(url_for("orders.cart"))
    cart[form.product_id.data] = min(cart.get(form.product_id.data, 0) + form.quantity.data,
                                     orders.MAX_QUANTITY)
    _save_cart(cart)
    flash(_("Added to your cart."), "info")
    return redirect(url_for("orders.cart"))


@bp.post("/cart/update")
def cart_update():
    form = CartUpdateForm()
    if not form.validate_on_submit():
        abort(400)
    cart = _cart()
    if form.quantity.data == 0:
        cart.pop(form.product_id.data, None)
    elif form.product_id.data in cart:
        cart[form.product_id.data] = form.quantity.data
    _save_cart(cart)
    return redirect(url_for("orders.cart"))


@bp.get("/cart")
def cart():
    lines, total = _cart_lines(_cart())
    return render_template("orders/cart.html", lines=lines, total_vnd=total,
                           update_form=CartUpdateForm())


# --- checkout and the buyer's confirmation ----------------------------------------------------

@bp.route("/checkout", methods=["GET", "POST"])
def checkout():
    cart = _cart()
    if not cart:
        flash(_("Your cart is empty."), "info")
        return redirect(url_for("orders.cart"))
    form = CheckoutForm()
    status = 200
    if form.validate_on_submit():
        count_hit("checkout")
        db = get_session()
        try:
            with transaction(db):
                placed = orders.place_order(
                    db, lines=list(cart.items()), buyer_name=form.buyer_name.data,
                    buyer_phone=form.buyer_phone.data,
                    delivery_address=form.delivery_address.data, note=form.note.data or "",
                    payment_method=form.payment_method.data)
                expect_transfers(db, placed)
        except Invalid as error:
            if error.field == "cart":  # sold out or no longer for sale: back to the cart
                flash(error_text(error), "error")
                return redirect(url_for("orders.cart"))
            field = "buyer_phone" if error.field == "phone" else error.field
            error.field = field
            attach_error(form, error, error_text(error))
            status = 422
        else:
            session.pop(CART_KEY, None)
            if len(placed) == 1 and placed[0].payment_method != PaymentMethod.cash:
                return redirect(url_for("pay.pay", reference=placed[0].reference))
            return redirect(details_url(REFERENCE_SEPARATOR.join(o.reference for o in placed)))
    elif form.is_submitted():
        status = 422
    lines, total = _cart_lines(cart)
    return render_template("orders/checkout.html", form=form, lines=lines,
                           total_vnd=total), status


def _details_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="order-details")


def details_url(references: str) -> str:
    """The order page with a signed, expiring grant to see the buyer's details."""
    return url_for("orders.confirmation", references=references,
                   k=_details_signer().dumps(references))


def _link_grants(references: str) -> bool:
    token = request.args.get("k")
    if not token:
        return False
    try:
        signed = _details_signer().loads(
            token, max_age=current_app.config["ORDER_LINK_MAX_AGE_SECONDS"])
    except BadSignature:  # forged, or expired (SignatureExpired)
        return False
    return signed == references


def _orders_by_code(references: str):
    """The orders of a page address ("A-B"); unknown codes count against the address."""
    parts = references.split(REFERENCE_SEPARATOR)
    if not 1 <= len(parts) <= orders.MAX_LINES:
        abort(404)
    db = get_session()
    with counting_misses("order_lookup"):
        return [orders.order_by_reference(db, part) for part in parts]  # NotFound -> 404


@bp.get("/orders/<references>")
def confirmation(references: str):
    """Status for whoever has the code; the buyer's name, phone and address only for the
    producer's staff, a signed link, or the code plus the buyer's phone number."""
    placed = _orders_by_code(references)
    canonical = REFERENCE_SEPARATOR.join(o.reference for o in placed)
    db = get_session()
    granted = _link_grants(canonical)
    details = {o.id: granted or orders.can_see_buyer(db, current_user, o) for o in placed}
    response = render_template("orders/confirmation.html", orders=placed, details=details,
                               references=canonical, phone_form=BuyerPhoneForm(),
                               total_vnd=sum(o.total_vnd for o in placed))
    # the page may show the buyer's own details: keep it out of shared caches
    return response, 200, {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@bp.post("/orders/<references>/details")
def confirmation_details(references: str):
    placed = _orders_by_code(references)
    canonical = REFERENCE_SEPARATOR.join(o.reference for o in placed)
    form = BuyerPhoneForm()
    if form.validate_on_submit() and all(orders.is_buyer_phone(o, form.phone.data)
                                         for o in placed):
        return redirect(details_url(canonical), 303)
    count_hit("order_lookup")  # a wrong phone number is a guess too
    flash(_("This phone number is not the one given with the order."), "error")
    return redirect(url_for("orders.confirmation", references=canonical), 303)


# --- management ---------------------------------------------------------------------------

MANAGERS = (Role.producer, Role.officer, Role.admin)


@bp.get("/manage/orders")
@role_required(*MANAGERS)
def manage_list():
    status = request.args.get("status") or None
    if status not in (None, *(s.value for s in OrderStatus)):
        status = None
    page = orders.list_orders(get_session(), current_user, status=status,
                              page=request.args.get("page", 1, type=int))
    return render_template("orders/manage_list.html", page=page, status=status,
                           statuses=list(OrderStatus))


@bp.get("/manage/orders/<int:order_id>")
@role_required(*MANAGERS)
def manage_detail(order_id: int):
    order = orders.get_order(get_session(), current_user, order_id)  # NotFound -> 404
    return render_template("orders/manage_detail.html", order=order,
                           actions=orders.allowed_actions(order.status), form=OrderActionForm())


@bp.post("/manage/orders/<int:order_id>/<action>")
@role_required(*MANAGERS)
def manage_action(order_id: int, action: str):
    if action not in orders.ACTIONS:
        abort(404)
    form = OrderActionForm()
    if not form.validate_on_submit():
        abort(400)
    db = get_session()
    try:
        with transaction(db):
            order = orders.get_order(db, current_user, order_id)
            orders.change_order_status(db, current_user, order, action)
            after_status_change(db, current_user, order)
    except NotFound:
        abort(404)
    except Invalid as error:
        flash(error_text(error), "error")
    else:
        flash(_("Order %(reference)s: done.", reference=order.reference), "info")
    return redirect(url_for("orders.manage_detail", order_id=order_id))
