"""Forms of the buyer's payment pages and the producer's payment actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp

from ocopkit.forms import Form
from payments.forms import AmountField

TEST_CARDS = [SelectChoice("pm_card_visa", _l("Test Visa card: the payment succeeds")),
              SelectChoice("pm_card_chargeCustomerFail",
                           _l("Test card that the bank declines"))]


class CardForm(Form):
    """Either a Stripe.js token made in the buyer's browser (the card number never reaches
    ocopkit) or, in the demo only, one of the gateway's test cards."""

    token = HiddenField(validators=[Optional(), Length(max=64), Regexp(r"^tok_\w+$")])
    test_card = RadioField(_l("Test card"), choices=TEST_CARDS, validate_choice=False,
                           validators=[Optional()])


class RefundForm(Form):
    amount_vnd = AmountField(_l("Amount to refund (đồng)"), validators=[InputRequired()])


class StatementForm(Form):
    file = FileField(_l("Bank statement (CSV)"), validators=[FileRequired()])
    account = StringField(_l("Account number of the statement (optional)"),
                          validators=[Optional(), Length(max=40)],
                          render_kw={"inputmode": "numeric", "autocomplete": "off"})
