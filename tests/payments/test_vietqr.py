import pytest

from ocopkit.errors import Invalid
from payments.vietqr import ascii_purpose, crc16_ccitt_false, parse_tlv, vietqr_payload

PUBLISHED = ("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
             "530370454061200005802VN62170813ung ho lu lut6304C15C")


def test_crc_matches_the_standard_check_value():
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_dynamic_code_equals_the_published_example():
    assert vietqr_payload(bin_code="970415", account="0011001932418", amount_vnd=120000,
                          purpose="ủng hộ lũ lụt") == PUBLISHED


def test_static_code_computed_by_hand():
    merchant = "0010A000000727" + "0128" + "0006970436" + "0114" + "12345678901234" + "0208QRIBFTTA"
    body = ("000201" + "010211" + f"38{len(merchant):02d}" + merchant + "5303704" + "5802VN"
            + "6304")
    expected = body + format(crc16_ccitt_false(body.encode()), "04X")
    payload = vietqr_payload(bin_code="970436", account="12345678901234")
    assert payload == expected
    fields = parse_tlv(payload)
    assert fields["01"] == "11" and "54" not in fields and "62" not in fields


def test_purpose_loses_its_marks_keeps_its_case_and_is_cut_at_25():
    assert ascii_purpose("Đơn hàng ĐH-7KQ2 của chị Mỷ, bản Tả Phìn") == "Don hang DH-7KQ2 cua chi"
    payload = vietqr_payload(bin_code="970415", account="1", amount_vnd=5, purpose="Đặc sản Điện Biên!")
    assert parse_tlv(parse_tlv(payload)["62"])["08"] == "Dac san Dien Bien"


@pytest.mark.parametrize("kwargs", [
    {"bin_code": "97041", "account": "1"},
    {"bin_code": "970415", "account": "12-34"},
    {"bin_code": "970415", "account": "1", "amount_vnd": 0},
    {"bin_code": "970415", "account": "1", "amount_vnd": 1.5},
])
def test_bad_input_is_refused(kwargs):
    with pytest.raises(Invalid):
        vietqr_payload(**kwargs)


def test_an_emv_field_holds_at_most_99_characters():
    from payments.vietqr import _tlv

    assert parse_tlv(_tlv("08", "x" * 99)) == {"08": "x" * 99}
    with pytest.raises(ValueError):
        _tlv("08", "x" * 100)


def _png(data: bytes):
    import io

    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("L")


def test_the_code_scans_at_level_m_with_a_four_module_quiet_zone():
    import zxingcpp

    from payments.vietqr import qr_png

    image = _png(qr_png(PUBLISHED))
    [found] = zxingcpp.read_barcodes(image)
    assert found.text == PUBLISHED and found.ec_level == "M"
    assert image.width == image.height <= 360
    pixels = image.load()
    corner = next((x, y) for y in range(image.height) for x in range(image.width)
                  if pixels[x, y] < 128)  # the finder pattern's top-left module
    module = next(i for i in range(corner[0], image.width) if pixels[i, corner[1]] >= 128)
    module = (module - corner[0]) // 7  # the finder's top edge is 7 modules wide
    assert corner == (4 * module, 4 * module)


def test_a_small_side_gives_modules_of_one_pixel_not_a_larger_image():
    from payments.vietqr import qr_png

    assert _png(qr_png(PUBLISHED, side_px=60)).width <= 60
