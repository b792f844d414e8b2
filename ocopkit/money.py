"""Money is an int number of đồng everywhere (VND has no minor unit): no float, no Decimal.

`parse_vnd` is the one reader of typed amounts (forms, CSV imports, bank statements): a
separator must be followed by exactly three digits, so '150.000' and '150,000' are 150000
while '1.5', '1,5' and '1.50' (a decimal somewhere else, or a typo) are refused, never
guessed."""
from __future__ import annotations

import re

# Far above any real amount of this project, far below a 64-bit column's limit (2**63 - 1),
# so a sum of many amounts still fits.
MAX_AMOUNT_VND = 10**15

_GROUPED = re.compile(r"[0-9]{1,3}(?:([.,\s])[0-9]{3})(?:\1[0-9]{3})*")
_PLAIN = re.compile(r"[0-9]+")


def format_vnd(amount: int) -> str:
    """120000 -> '120.000 ₫' (Vietnamese thousands separator '.', a normal space, the sign)."""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} ₫".replace(",", ".")


def parse_vnd(text: str, *, allow_zero: bool = False) -> int:
    """'150000', '150.000', '150,000', '150 000 ₫' -> 150000. ValueError for anything that
    is not a whole number of đồng above zero (or zero, with allow_zero) up to
    MAX_AMOUNT_VND; one kind of separator per number."""
    value = (text or "").strip()
    for suffix in ("₫", "đ", "VND", "vnd"):
        value = value.removesuffix(suffix)
    value = value.strip()
    if _PLAIN.fullmatch(value):
        amount = int(value)
    elif _GROUPED.fullmatch(value):
        amount = int(re.sub(r"[.,\s]", "", value))
    else:
        raise ValueError(text)
    if amount < (0 if allow_zero else 1) or amount > MAX_AMOUNT_VND:
        raise ValueError(text)
    return amount
