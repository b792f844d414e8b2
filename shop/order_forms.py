"""Forms of the cart, checkout and order pages: syntax only; the rules live in shop/orders.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectChoice, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ocopkit.forms import Form, PhoneField
from shop.orders import MAX_QUANTITY

PAYMENT_CHOICES = [SelectChoice("cash", _l("💵 Cash on delivery")),
                   SelectChoice("vietqr", _l("🏦 Bank transfer (VietQR)")),
                   SelectChoice("card", _l("💳 Card"))]


class CartAddForm(Form):
    product_id = IntegerField(validators=[InputRequired()])
    quantity = IntegerField(_l("Quantity"), default=1,
                            validators=[InputRequired(), NumberRange(min=1, max=MAX_QUANTITY)],
                            render_kw={"inputmode": "numeric", "min": 1, "max": MAX_QUANTITY})


class CartUpdateForm(Form):
    """Quantity 0 removes the line."""
    product_id = IntegerField(validators=[InputRequired()])
    quantity = IntegerField(_l("Quantity"),
                            validators=[InputRequired(), NumberRange(min=0, max=MAX_QUANTITY)],
                            render_kw={"inputmode": "numeric", "min": 0, "max": MAX_QUANTITY})


class CheckoutForm(Form):
    buyer_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)],
                             render_kw={"autocomplete": "name"})
    buyer_phone = PhoneField(_l("Phone"), validators=[DataRequired(), Length(max=20)])
    delivery_address = TextAreaField(_l("Delivery address"),
                                     validators=[DataRequired(), Length(max=500)],
                                     render_kw={"autocomplete": "street-address", "rows": 3})
    note = TextAreaField(_l("Note for the producer (optional)"),
                         validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})
    payment_method = RadioField(_l("How will you pay?"), choices=PAYMENT_CHOICES,
                                default="cash", validators=[InputRequired()])


class OrderActionForm(Form):
    """Only the CSRF token: the action is in the URL."""


class BuyerPhoneForm(Form):
    """The order code plus the buyer's phone number show the delivery details."""
    phone = PhoneField(_l("Phone number given with the order"),
                       validators=[DataRequired(), Length(max=20)])
