"""Shared Flask-WTF pieces."""
from __future__ import annotations

from flask_wtf import CSRFProtect
from wtforms import StringField

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


def attach_error(form, error: Invalid, message: str) -> None:
    """Put a domain rule's message on the form field it names (or on the form as a whole)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    else:
        form.form_errors.append(message)
