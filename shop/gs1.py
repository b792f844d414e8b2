"""GS1 identifiers: GTIN check digits and Digital Link paths."""
from __future__ import annotations

import re
from urllib.parse import quote

from ocopkit.errors import Invalid, N_

GTIN_LENGTHS = (8, 12, 13, 14)
# AI (10) batch/lot: 1 to 20 characters of GS1 AI encodable character set 82.
_BATCH = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")


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


def check_batch(text: str) -> str:
    """An AI (10) batch/lot value as given; Invalid unless it is 1–20 characters of CSET 82."""
    if not _BATCH.fullmatch(text or ""):
        raise Invalid("lot_code", N_("A batch number has 1 to 20 GS1 characters."))
    return text


def digital_link_path(gtin14: str, lot: str | None = None) -> str:
    """The GS1 Digital Link path of a product (/01/<gtin14>) or of a batch
    (/01/<gtin14>/10/<lot>, the lot percent-encoded as the URI syntax requires)."""
    path = f"/01/{gtin14}"
    return path if lot is None else f"{path}/10/{quote(lot, safe='')}"


VOC = "https://gs1.org/voc/"
VOC_PREFIX = "gs1:"


def link_type_uri(text: str) -> str:
    """A linkType as its full relation URI: `gs1:pip` and `https://gs1.org/voc/pip` alike."""
    return VOC + text[len(VOC_PREFIX):] if text.startswith(VOC_PREFIX) else text
