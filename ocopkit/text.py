"""Vietnamese-aware text helpers: NFC storage, folding for search, ASCII slugs."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def nfc(text: str | None) -> str:
    """Normalise to NFC and collapse runs of white space; None becomes ''."""
    if text is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def strip_marks(text: str | None) -> str:
    """Vietnamese without diacritics, case kept: 'Chè Điện Biên' -> 'Che Dien Bien'."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str | None) -> str:
    """Lower-case ASCII without diacritics: 'CHÈ Shan Tuyết' -> 'che shan tuyet', 'Đ' -> 'd'."""
    return _SPACES.sub(" ", strip_marks(text).lower()).strip()


def fold_key(text: str | None) -> str:
    """fold() without spaces or punctuation, for matching names like "H'Mông" and "Hmong"."""
    return _NON_ALNUM.sub("", fold(text))


def slugify(text: str | None, max_length: int = 80) -> str:
    """Readable ASCII slug: 'gạo séng cù điện biên' -> 'gao-seng-cu-dien-bien'."""
    return _NON_ALNUM.sub("-", fold(text)).strip("-")[:max_length].rstrip("-")
