"""What a password or PIN must be, and how it is stored.

Staff passwords guard every producer's personal data, so they are long (12+) and not
guessable: zxcvbn scores them against common-password lists and the site's own words.
Producer PINs are typed on cheap phones, so they are 6 digits, but not ones guessed first.
Everything is normalised to NFKC first: a Vietnamese passphrase typed on a keyboard that
sends decomposed letters (NFD) is the same passphrase."""
from __future__ import annotations

import secrets
import string
import unicodedata

from werkzeug.security import check_password_hash, generate_password_hash

from ocopkit.errors import Invalid, N_
from ocopkit.text import fold_key

MIN_STAFF_LENGTH = 12
PIN_LENGTH = 6
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline attacks"
SITE_WORDS = ("ocopkit", "ocop", "dienbien", "dien", "bien", "khuyennong", "matkhau",
              "password", "admin", "canbo")
_ZXCVBN_MAX = 100  # zxcvbn's time grows with length; a longer passphrase is scored by its start


def normalise_secret(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "")


def hash_secret(text: str) -> str:
    return generate_password_hash(normalise_secret(text))


def verify_secret(stored: str, text: str) -> bool:
    """Hashes made before normalisation was added hold the text as typed: try that too."""
    normalised = normalise_secret(text)
    return (check_password_hash(stored, normalised)
            or (normalised != text and check_password_hash(stored, text)))


def check_staff_password(password: str, *, username: str = "", display_name: str = "") -> None:
    from zxcvbn import zxcvbn  # its word lists load in 0.1 s: only where passwords are set

    password = normalise_secret(password)
    if len(password) < MIN_STAFF_LENGTH:
        raise Invalid("password", N_("The password needs at least %(n)s characters."),
                      n=MIN_STAFF_LENGTH)
    own = [w for w in (fold_key(username), *map(fold_key, display_name.split())) if len(w) >= 3]
    rest = fold_key(password)
    for word in sorted({*SITE_WORDS, *own}, key=len, reverse=True):
        rest = rest.replace(word, "")
    if len(set(rest)) < 6:
        raise Invalid("password", N_("The password is built on the site's name, the place or "
                                     "the user name: choose words of your own."))
    score = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[*SITE_WORDS, *own])["score"]
    if score < MIN_SCORE:
        raise Invalid("password", N_("This password is too common or too easy to guess: use "
                                     "three or four unrelated words."))


def check_pin(pin: str, *, phone: str | None = None) -> None:
    pin = normalise_secret(pin)
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise Invalid("password", N_("The PIN must be exactly %(n)s digits."), n=PIN_LENGTH)
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    if len(set(pin)) <= 2 or steps in ({1}, {-1}, {0}) or pin[:3] == pin[3:]:
        raise Invalid("password", N_("This PIN is too easy to guess (repeated or sequential "
                                     "digits)."))
    digits = "".join(c for c in phone or "" if c.isdigit())
    if digits and pin in digits:
        raise Invalid("password", N_("The PIN must not be part of the phone number."))


def temporary_password() -> str:
    """Handed to an officer by an admin; changed at the next login."""
    alphabet = string.ascii_lowercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def temporary_pin(phone: str | None = None) -> str:
    while True:
        pin = "".join(secrets.choice(string.digits) for _ in range(PIN_LENGTH))
        try:
            check_pin(pin, phone=phone)
        except Invalid:
            continue
        return pin
