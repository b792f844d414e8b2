"""Forms of the payment-account pages: syntax only; rules live in payments.accounts."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ocopkit.forms import Form
from payments.banks import BANKS, E_WALLETS, MOBILE_MONEY
from shop.forms import VNDField

KIND_CHOICES = [SelectChoice("bank", _l("Bank account")), SelectChoice("ewallet", _l("E-wallet")),
                SelectChoice("mobile_money", _l("Mobile money"))]
METHOD_CHOICES = [SelectChoice("test_transfer", _l("A test transfer was seen")),
                  SelectChoice("statement", _l("A bank statement was shown")),
                  SelectChoice("in_person", _l("Checked in person with the card or book"))]


class AccountForm(Form):
    kind = SelectField(_l("Kind of account"), choices=KIND_CHOICES)
    bank_bin = SelectField(_l("Bank"), choices=[SelectChoice("", "—")] + [
        SelectChoice(bin_code, f"{name} ({bin_code})") for bin_code, name in BANKS.items()],
        validators=[Optional()])
    provider = SelectField(_l("E-wallet or mobile-money provider"), choices=[
        SelectChoice("", "—")] + [SelectChoice(p, p) for p in dict.fromkeys(E_WALLETS + MOBILE_MONEY)],
        validators=[Optional()])
    account_number = StringField(_l("Account number, wallet id or phone"),
                                 validators=[DataRequired(), Length(max=40)],
                                 render_kw={"inputmode": "numeric", "autocomplete": "off"})
    holder_name = StringField(_l("Account holder's name"),
                              validators=[DataRequired(), Length(max=120)])


class VerifyForm(Form):
    method = SelectField(_l("How was it checked?"), choices=METHOD_CHOICES)
    reference = StringField(_l("Reference of the test transfer"),
                            validators=[Optional(), Length(max=80)],
                            render_kw={"autocomplete": "off", "maxlength": 80})


class ActionForm(Form):
    """A button with nothing but a CSRF token."""


class AmountField(VNDField):
    """An amount of đồng typed as '120.000', '120 000' or '120000'; the data is an int."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Type the amount in đồng, for example 120.000.")) from None


class PayoutForm(Form):
    """Staff record a payout; the choices are the producer's verified accounts (masked)."""

    account_id = SelectField(_l("Paid into"), coerce=int, choices=[], validate_choice=False)
    amount_vnd = AmountField(_l("Amount (đồng)"), validators=[InputRequired()])
    reference = StringField(_l("Bank transfer reference"),
                            validators=[DataRequired(), Length(max=80)],
                            render_kw={"autocomplete": "off", "maxlength": 80})
