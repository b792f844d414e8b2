"""One parser for amounts of đồng: what people write is accepted, anything ambiguous refused."""
from __future__ import annotations

import pytest

from ocopkit.money import MAX_AMOUNT_VND, parse_vnd


@pytest.mark.parametrize("text, amount", [
    ("150000", 150000), ("150.000", 150000), ("150,000", 150000), ("150 000", 150000),
    ("150.000 ₫", 150000), ("150.000đ", 150000), ("150000 VND", 150000), ("1", 1),
    ("1.000.000.000", 1_000_000_000), ("2,000,000,000", 2_000_000_000), (" 7 ", 7),
])
def test_parse_vnd_accepts_what_people_write(text, amount):
    assert parse_vnd(text) == amount


@pytest.mark.parametrize("text", [
    "1.5", "1,5", "1.50", "12.00", "150.00", "1.5000", "150.000,5", "1.000,000", "",
    "0", "-5000", "1e5", "abc", "১২৩", "15 0", "1..000", str(MAX_AMOUNT_VND + 1),
    "99999999999999999999999",
])
def test_parse_vnd_refuses_what_is_ambiguous_or_not_whole_dong(text):
    with pytest.raises(ValueError):
        parse_vnd(text)


def test_zero_is_a_number_only_when_asked_for():
    assert parse_vnd("0", allow_zero=True) == 0
    with pytest.raises(ValueError):
        parse_vnd("-1", allow_zero=True)
