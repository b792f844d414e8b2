"""Shared Flask-WTF pieces."""
from __future__ import annotations

from flask_babel import get_translations
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from ocopkit.errors import Invalid

csrf = CSRFProtect()


class _Catalogue:
    """WTForms' translations interface over the project's catalogue (Flask-Babel's own
    gettext/ngettext would %-format with `num`, which WTForms' messages do not take)."""

    def gettext(self, string):
        return get_translations().gettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ngettext(singular, plural, n)


class _CatalogueCSRF(_FlaskFormCSRF):
    """Flask-WTF raises its CSRF messages untranslated; translate them here."""

    def validate_csrf_token(self, form, field):
        try:
            super().validate_csrf_token(form, field)
        except ValidationError as e:
            raise ValidationError(get_translations().gettext(e.args[0])) from e


class Form(FlaskForm):
    """Base of every form: the built-in messages of WTForms and Flask-WTF ("This field is
    required.", "Not a valid integer value.", CSRF) come from ocopkit/form_messages.py's
    entries in our catalogue, so they are Vietnamese by default."""

    class Meta:
        csrf_class = _CatalogueCSRF

        def get_translations(self, form):
            return _Catalogue()


def read_import_file(file) -> bytes:
    """The uploaded import file's bytes; 413 above IMPORT_MAX_BYTES, read no further."""
    from flask import abort, current_app

    limit = current_app.config["IMPORT_MAX_BYTES"]
    data = file.read(limit + 1)
    if len(data) > limit:
        abort(413)
    return data


class PhoneField(StringField):
    """A phone input that phones show a number pad for."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {}).update(
            {"inputmode": "tel", "autocomplete": "tel"})
        super().__init__(*args, **kwargs)


class VersionField(HiddenField):
    """The version of the object an edit form was filled from; sent back with the form so a
    save made after someone else's is refused. Missing or garbled reads as 0 (never a
    stored version), so it is refused too."""

    def process_formdata(self, valuelist):
        try:
            self.data = int(valuelist[0]) if valuelist else 0
        except ValueError:
            self.data = 0


def attach_error(form, error: Invalid, message: str) -> None:
    """Put a domain rule's message on the form field it names (or on the form as a whole)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    else:
        form.form_errors.append(message)
