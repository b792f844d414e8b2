"""Errors raised by domain code; views and commands translate and show them.

Domain code never imports Flask, so it marks its messages with `N_` (for the
catalogue) and passes the values separately; the edge translates with
`ocopkit.i18n.error_text`.
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class DomainError(Exception):
    """Base class of every error that domain functions raise on purpose."""

    def __init__(self, message: str = "", **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it does."""


class NotAllowed(DomainError):
    """The actor may see the object but not do this to it."""


class Invalid(DomainError):
    """A rule was broken; `field` names the form field to attach the message to."""

    def __init__(self, field: str | None, message: str, **params):
        super().__init__(message, **params)
        self.field = field


class Conflict(Invalid):
    """The change clashes with data already stored (a duplicate code or phone)."""


class Stale(Conflict):
    """An edit form was opened before someone else saved the same object: nothing of it is
    written (it would undo their change); the form must be filled again from what is stored."""

    def __init__(self):
        super().__init__(None, N_("Someone changed this since you opened it. What is stored "
                                  "now is shown; make your change again."))
