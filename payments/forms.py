"""Forms of the payment-account pages: syntax only; rules live in payments.accounts."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from payments.banks import BANKS, E_WALLETS, MOBILE_MONEY

KIND_CHOICES = [SelectChoice("bank", _l("Bank account")), SelectChoice("ewallet", _l("E-wallet")),
                SelectChoice("mobile_money", _l("Mobile money"))]
METHOD_CHOICES = [SelectChoice("test_transfer", _l("A test transfer was seen")),
                  SelectChoice("statement", _l("A bank statement was shown")),
                  SelectChoice("in_person", _l("Checked in person with the card or book"))]


class AccountForm(FlaskForm):
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


class VerifyForm(FlaskForm):
    method = SelectField(_l("How was it checked?"), choices=METHOD_CHOICES)


class ActionForm(FlaskForm):
    """A button with nothing but a CSRF token."""
