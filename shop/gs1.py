"""GS1 identifiers: GTIN check digits and Digital Link paths."""
from __future__ import annotations

from ocopkit.errors import Invalid, N_

GTIN_LENGTHS = (8, 12, 13, 14)


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits before it (weights 3,1,3,… from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def normalise_gtin(text: str) -> str:
    """A GTIN-8/12/13/14 as 14 digits (left-padded with zeros); Invalid if it is not one."""
    digits = "".join((text or "").split())
    if not digits.isascii() or not digits.isdigit() or len(digits) not in GTIN_LENGTHS:
        raise Invalid("gtin", N_("A GTIN has 8, 12, 13 or 14 digits."))
    if check_digit(digits[:-1]) != int(digits[-1]):
        raise Invalid("gtin", N_("The GTIN's check digit is wrong: %(gtin)s."), gtin=digits)
    return digits.zfill(14)


def digital_link_path(gtin14: str, lot: str) -> str:
    """The GS1 Digital Link path of a batch: /01/<gtin14>/10/<lot>."""
    return f"/01/{gtin14}/10/{lot}"
