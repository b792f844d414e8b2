"""Money is an int number of đồng everywhere (VND has no minor unit): no float, no Decimal."""
from __future__ import annotations


def format_vnd(amount: int) -> str:
    """120000 -> '120.000 ₫' (Vietnamese thousands separator '.', a normal space, the sign)."""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} ₫".replace(",", ".")
