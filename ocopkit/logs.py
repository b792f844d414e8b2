"""What an access log line may say about a request: no order reference (the buyer's only
key to a name, phone and address), no phone number, no query string of a staff page (their
searches carry phone numbers and names), and of a public page only the harmless keys."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "***"
# Public pages; every other path is a staff page and loses its whole query string.
_PUBLIC = re.compile(r"^/(?:$|01/|booths/\d+(?:-[^/]*)?$|cart(?:/|$)|checkout$|healthz$|"
                     r"login$|media/|orders/|products/\d+(?:-[^/]*)?$|search$|static/|t/)")
_KEPT_KEYS = {"lang", "page", "category", "commune", "status", "linkType", "format", "count"}
_ORDER_PATH = re.compile(r"^/orders/[^/]+")
# Vietnamese phone numbers as typed: 0912345678, 0912 345 678, +84 912.345.678, 84912345678
_PHONE = re.compile(r"(?:\+|%2B)?(?<!\d)(?:84|0)(?:[\s.\-]|%20|\+)?\d(?:(?:[\s.\-]|%20|\+)?\d){7,9}"
                    r"(?!\d)")


def redact_path(path: str) -> str:
    return _PHONE.sub(MASK, _ORDER_PATH.sub(f"/orders/{MASK}", path))


def redact_query(path: str, query: str) -> str:
    if not query or not _PUBLIC.match(path):
        return ""
    kept = [(k, _PHONE.sub(MASK, v)) for k, v in parse_qsl(query, keep_blank_values=True)
            if k in _KEPT_KEYS]
    return urlencode(kept, safe="*")


def redact_url(url: str) -> str:
    """A path with its query, or a full URL (a Referer), fit for the log."""
    if not url or url == "-":
        return url
    parts = urlsplit(url)
    query = redact_query(parts.path, parts.query)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return origin + redact_path(parts.path) + (f"?{query}" if query else "")
