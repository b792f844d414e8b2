"""Stripe-style webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">`. Verified over the raw bytes, before anything is parsed, with a tolerance
in both directions (stripe-python's helper only rejects old timestamps)."""
from __future__ import annotations

import hashlib
import hmac

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
