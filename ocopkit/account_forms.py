"""Forms of the account pages: field-level checks only (the rules live in ocopkit.passwords)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ocopkit.forms import Form

ROLE_CHOICES = [SelectChoice("officer", _l("Extension officer")),
                SelectChoice("admin", _l("Administrator"))]


class EnrolForm(Form):
    code = StringField(_l("The 6-digit code the app shows"),
                       validators=[DataRequired(), Length(max=10)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ChangePasswordForm(Form):
    current = PasswordField(_l("Current password or PIN"),
                            validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password or PIN"), validators=[DataRequired(), Length(max=200)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password or PIN again"),
                            validators=[DataRequired(), EqualTo("new", _l("The two do not match."))],
                            render_kw={"autocomplete": "new-password"})


class StaffForm(Form):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("Full name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="officer")
    communes = SelectMultipleField(_l("Communes (officers)"), coerce=int, validate_choice=True)


class CommunesForm(Form):
    communes = SelectMultipleField(_l("Communes"), coerce=int, validate_choice=True)
