"""Forms of the onboarding pages: syntax only; the register's rules live in producers.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, DateField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ocopkit.forms import Form, PhoneField, VersionField

KIND_CHOICES = [SelectChoice("household", _l("Household")),
                SelectChoice("cooperative", _l("Cooperative")),
                SelectChoice("enterprise", _l("Enterprise"))]
STAR_CHOICES = [SelectChoice("", _l("No OCOP rating")), SelectChoice("3", "★★★"),
                SelectChoice("4", "★★★★"), SelectChoice("5", "★★★★★")]
PURPOSE_CHOICES = [SelectChoice("publish_booth", _l("Publish a booth")),
                   SelectChoice("show_phone", _l("Show the phone number to buyers")),
                   SelectChoice("link_payment_account", _l("Link a payment account"))]


def int_or_none(value) -> int | None:
    """Coerce a select's value; the blank first option means 'none chosen'."""
    return None if value in (None, "") else int(value)


class ProducerForm(Form):
    version = VersionField()
    code = StringField(_l("Code on the province's list"), validators=[DataRequired(), Length(max=40)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, default="household")
    name = StringField(_l("Name (Vietnamese)"), validators=[DataRequired(), Length(max=200)])
    name_own_language = StringField(_l("Name in own language (optional)"),
                                    validators=[Optional(), Length(max=200)])
    representative = StringField(_l("Representative or household head"),
                                 validators=[Optional(), Length(max=200)])
    phone = PhoneField(_l("Phone"), validators=[Optional(), Length(max=20)])
    ethnic_group = SelectField(_l("Ethnic group"), coerce=int_or_none, validate_choice=True)
    commune = SelectField(_l("Commune"), coerce=int, validate_choice=True)
    village = StringField(_l("Village"), validators=[Optional(), Length(max=120)])
    ocop_stars = SelectField(_l("OCOP stars"), choices=STAR_CHOICES, default="")
    ocop_certificate_no = StringField(_l("OCOP certificate number"),
                                      validators=[Optional(), Length(max=60)])
    ocop_certified_on = DateField(_l("Date certified"), validators=[Optional()])


class ConsentForm(Form):
    purpose = SelectField(_l("Purpose"), choices=PURPOSE_CHOICES)
    confirmed = BooleanField(_l("The household agreed to this in my presence"),
                             validators=[DataRequired()])


class WithdrawForm(Form):
    purpose = SelectField(_l("Purpose"), choices=PURPOSE_CHOICES)


class EraseForm(Form):
    reason = TextAreaField(_l("Reason (no names or phone numbers: it is kept in the log)"),
                           validators=[DataRequired(), Length(max=500)])
    confirmed = BooleanField(_l("I understand that names, phone, village, photos and "
                                "account numbers are removed for good"),
                             validators=[DataRequired()])


class LoginGrantForm(Form):
    username = StringField(_l("User name (blank: the phone number)"),
                           validators=[Optional(), Length(max=80)])
    password = PasswordField(_l("PIN (6 digits, not repeated or in a row)"),
                             validators=[DataRequired(), Length(min=6, max=200)],
                             render_kw={"autocomplete": "new-password", "inputmode": "numeric"})


class TrainingForm(Form):
    held_on = DateField(_l("Date"), validators=[DataRequired()])
    topic = StringField(_l("Topic"), validators=[DataRequired(), Length(max=200)])
    trainer = StringField(_l("Trainer"), validators=[DataRequired(), Length(max=120)])


class ImportForm(Form):
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    dry_run = BooleanField(_l("Only check the file, do not import"))
