"""Stripe-style webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">`. Verified over the raw bytes, before anything is parsed, with a tolerance
in both directions (stripe-python's helper only rejects old timestamps). A signed body must
then have an event's shape, or it is refused like a bad signature (400), never half-applied."""
from __future__ import annotations

import hashlib
import hmac
import json

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The payload was not signed with our secret within the tolerance: ignore it."""


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(payload: bytes, header: str | None, secret: str, now: int,
                     tolerance: int = TOLERANCE_SECONDS) -> int:
    """Return the signed timestamp, or raise SignatureError."""
    if not header or not secret:
        raise SignatureError("missing signature")
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("malformed signature header")
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance")
    expected = sign(payload, secret, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("signature does not match")
    return timestamp


def parse_event(payload: bytes) -> dict:
    """The verified body as an event: a JSON object with a non-empty string `id` and `type`,
    and `data.object` an object whose `id` is a non-empty string (required for the
    PaymentIntent and charge events ocopkit acts on; a few Stripe objects have none).
    Raises ValueError otherwise, so handlers may index it without checking again."""
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError("not JSON") from e
    if not isinstance(event, dict):
        raise ValueError("not an object")
    for key in ("id", "type"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise ValueError(f"no {key}")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise ValueError("no data.object")
    object_id = data["object"].get("id")
    needed = event["type"].startswith(("payment_intent.", "charge."))
    if (object_id is not None or needed) and (not isinstance(object_id, str) or not object_id):
        raise ValueError("no data.object.id")
    return event
