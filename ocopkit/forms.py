"""Shared Flask-WTF pieces."""
from __future__ import annotations

from flask_wtf import CSRFProtect
from wtforms import HiddenField, StringField

from ocopkit.errors import Invalid

csrf = CSRFProtect()


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
