"""Money is an int number of đồng everywhere (VND has no minor unit): no float, no Decimal."""
from __future__ import annotations

import re


def format_vnd(amount: int) -> str:
    """120000 -> '120.000 ₫' (Vietnamese thousands separator '.', a normal space, the sign)."""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} ₫".replace(",", ".")


_GROUPED = re.compile(r"^\d{1,3}([.,\s]\d{3})+$")


def parse_vnd(text: str) -> int:
    """'120000', '120.000', '120,000', '120 000 ₫' -> 120000. ValueError for anything that is
    not a whole, positive number of đồng (VND has no decimals)."""
    value = (text or "").strip().removesuffix("₫").removesuffix("đ").removesuffix("VND").strip()
    if value.isdigit():
        amount = int(value)
    elif _GROUPED.match(value):
        amount = int(re.sub(r"[.,\s]", "", value))
    else:
        raise ValueError(text)
    if amount <= 0:
        raise ValueError(text)
    return amount
