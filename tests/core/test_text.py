"""Vietnamese text helpers: NFC storage, folding for search, ASCII slugs."""
from __future__ import annotations

import unicodedata

import pytest

from ocopkit.text import fold, fold_key, nfc, slugify


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_nfc_composes_and_collapses_white_space():
    assert nfc(_nfd("  Hộ \t Lò\u00a0Văn\nPánh ")) == "Hộ Lò Văn Pánh"
    assert nfc(_nfd("Điện Biên")) == unicodedata.normalize("NFC", "Điện Biên")
    assert len(nfc(_nfd("ộ"))) == 1
    assert nfc(None) == "" and nfc("") == ""


@pytest.mark.parametrize("text, folded", [
    ("CHÈ Shan Tuyết", "che shan tuyet"),
    ("ĐIỆN", "dien"),
    ("điện", "dien"),
    ("Lò Văn Pánh", "lo van panh"),
    ("Ưu  Ơn", "uu on"),
    (_nfd("Mường Ảng"), "muong ang"),
    (None, ""),
    ("", ""),
])
def test_fold_removes_case_and_diacritics(text, folded):
    assert fold(text) == folded


def test_fold_of_nfd_and_nfc_is_the_same():
    for word in ("Tủa Chùa", "Đồng Văn", "Khơ-mú", "Ê-đê"):
        assert fold(word) == fold(_nfd(word))


def test_fold_key_ignores_spaces_and_punctuation():
    assert fold_key("H'Mông") == fold_key("Hmong") == fold_key("HMÔNG") == "hmong"
    assert fold_key("Bru-Vân Kiều") == "bruvankieu"


@pytest.mark.parametrize("text, slug", [
    ("gạo séng cù điện biên", "gao-seng-cu-dien-bien"),
    ("HTX Chè Shan Tuyết (Tủa Chùa)!", "htx-che-shan-tuyet-tua-chua"),
    ("  --Đặc sản--  ", "dac-san"),
    ("", ""),
    (None, ""),
    ("!!!", ""),
])
def test_slugify_gives_readable_ascii(text, slug):
    assert slugify(text) == slug


def test_slug_is_cut_to_length_without_a_trailing_dash():
    slug = slugify("cà phê mường ảng " * 10, max_length=20)
    assert slug == "ca-phe-muong-ang-ca"
    assert len(slugify("a" * 200)) == 80
