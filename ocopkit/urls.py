"""Ids in URLs: a number the database cannot hold is a page that does not exist (404), not a
database error (500). Replaces Flask's `int` converter for every route."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

# The ids are INTEGER columns: 64-bit on SQLite but 32-bit on PostgreSQL, where a larger
# number in a query is an error (2**63 - 1 would still give a 500 there).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:x>` matches 1 .. MAX_ID only; anything else is no match, so a 404."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def db_id(text: str) -> int:
    """For `request.args.get(..., type=db_id)`: an id the database can hold, else ValueError
    (so the argument counts as absent)."""
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise ValueError(text)
    return value


def register_converters(app) -> None:
    app.url_map.converters["int"] = IdConverter
