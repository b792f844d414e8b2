"""VietQR payloads: the EMVCo merchant-presented QR that Vietnamese banking apps read for a
NAPAS 24/7 transfer to an account (service QRIBFTTA)."""
from __future__ import annotations

from ocopkit.errors import Invalid, N_
from ocopkit.text import strip_marks

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
CURRENCY_VND = "704"
COUNTRY = "VN"
PURPOSE_MAX = 25


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"EMV field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def ascii_purpose(text: str) -> str:
    """Vietnamese without marks: ASCII letters (case kept, so order codes stay readable),
    digits, spaces and hyphens, at most 25."""
    folded = "".join(c for c in strip_marks(text) if c.isascii() and (c.isalnum() or c in " -"))
    return " ".join(folded.split())[:PURPOSE_MAX].strip()


def vietqr_payload(*, bin_code: str, account: str, amount_vnd: int | None = None,
                   purpose: str = "") -> str:
    """The payload string: static (no amount) or dynamic (amount in whole đồng)."""
    if not (bin_code.isdigit() and len(bin_code) == 6):
        raise Invalid("bank", N_("A bank BIN has 6 digits."))
    if not (account.isascii() and account.isalnum() and 1 <= len(account) <= 19):
        raise Invalid("account_number", N_("An account number has 1 to 19 letters or digits."))
    if amount_vnd is not None and (not isinstance(amount_vnd, int) or amount_vnd <= 0):
        raise Invalid("amount", N_("The amount must be a whole number of đồng above zero."))
    beneficiary = _tlv("00", bin_code) + _tlv("01", account)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICE_TO_ACCOUNT)
    parts = [_tlv("00", "01"), _tlv("01", "11" if amount_vnd is None else "12"),
             _tlv("38", merchant), _tlv("53", CURRENCY_VND)]
    if amount_vnd is not None:
        parts.append(_tlv("54", str(amount_vnd)))
    parts.append(_tlv("58", COUNTRY))
    purpose = ascii_purpose(purpose)
    if purpose:
        parts.append(_tlv("62", _tlv("08", purpose)))
    body = "".join(parts) + "6304"
    return body + f"{crc16_ccitt_false(body.encode('ascii')):04X}"


def parse_tlv(payload: str) -> dict[str, str]:
    """Top-level tags of a payload (for tests and for reading a code back)."""
    fields, i = {}, 0
    while i < len(payload):
        tag, length = payload[i:i + 2], int(payload[i + 2:i + 4])
        fields[tag] = payload[i + 4:i + 4 + length]
        i += 4 + length
    return fields


def qr_png(payload: str, side_px: int = 360) -> bytes:
    """The payload as a PNG QR code (error correction M, as banking apps expect)."""
    import io

    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(payload)
    code.make(fit=True)
    code.box_size = max(1, side_px // (code.modules_count + 8))
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()
