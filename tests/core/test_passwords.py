"""Password and PIN rules, and NFKC before hashing (no HTTP, no database)."""
from __future__ import annotations

import unicodedata

import pytest

from ocopkit.errors import Invalid
from ocopkit.passwords import (
    check_pin, check_staff_password, hash_secret, temporary_password, temporary_pin,
    verify_secret,
)

PASSPHRASE = "Chè Shan Tuyết Mường Phăng"


@pytest.mark.parametrize("password", [
    "123456", "short-pass", "123456789012", "password1234", "qwertyuiop12",
    "ocopkit-dienbien", "OCOP Điện Biên 2026", "ocop ocop ocop", "dienbien-ocopkit!",
    "hoa.nguyen.hoa.nguyen",  # the user's own name
])
def test_weak_staff_passwords_are_refused(password):
    with pytest.raises(Invalid) as caught:
        check_staff_password(password, username="hoa", display_name="Nguyễn Thị Hoa")
    assert caught.value.field == "password"


@pytest.mark.parametrize("password", [PASSPHRASE, "tea-hills-of-muong-phang",
                                      "buffalo seven kettle rain"])
def test_long_uncommon_staff_passwords_are_accepted(password):
    check_staff_password(password, username="hoa", display_name="Nguyễn Thị Hoa")


def test_temporary_passwords_pass_the_staff_rules():
    for _ in range(20):
        check_staff_password(temporary_password(), username="x")


@pytest.mark.parametrize("pin", ["12345", "1234567", "12345a", "１２３４５６", "123456", "654321",
                                 "111111", "121212", "000001", "345345", "000111"])
def test_weak_or_malformed_pins_are_refused(pin):
    with pytest.raises(Invalid):
        check_pin(pin)


def test_pin_may_not_be_the_phones_last_digits():
    with pytest.raises(Invalid) as caught:
        check_pin("739582", phone="0912739582")
    assert "phone" in caught.value.message
    with pytest.raises(Invalid):
        check_pin("912739", phone="0912739582")  # any part of it
    check_pin("280417", phone="0912739582")


def test_temporary_pins_pass_the_pin_rules():
    for _ in range(50):
        check_pin(temporary_pin("0912345678"), phone="0912345678")


def test_a_secret_is_hashed_in_nfkc_so_any_typing_of_it_matches():
    stored = hash_secret(unicodedata.normalize("NFC", PASSPHRASE))
    assert verify_secret(stored, unicodedata.normalize("NFD", PASSPHRASE))
    assert verify_secret(stored, unicodedata.normalize("NFKD", PASSPHRASE))
    assert not verify_secret(stored, PASSPHRASE.lower())
    fullwidth = hash_secret("２８０４１７")  # a phone keyboard's full-width digits
    assert verify_secret(fullwidth, "280417")
