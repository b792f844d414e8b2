"""Every label format is proven scannable: PDFs are rendered by pdftoppm and every QR on the
page is decoded by zxing-cpp, also at half size (a phone at arm's length)."""
from __future__ import annotations

import io
import subprocess
from datetime import date

import pytest
import zxingcpp
from PIL import Image

from shop.labels import (
    LabelData, a4_pdf, label_png, mm_to_px, qr_image, render_label, thermal_pdf,
)


def _label(n: int) -> LabelData:
    return LabelData(url=f"https://ocop.example.vn/t/K7Q2M9X{n:02d}",
                     product="Chè Shan Tuyết Tủa Chùa loại đặc biệt",
                     producer="HTX Chè Shan Tuyết Tủa Chùa", lot=f"L2026A{n}", stars=4,
                     produced_on=date(2026, 10, 1), expires_on=date(2027, 10, 1))


def _decode(image: Image.Image) -> list[str]:
    return sorted(r.text for r in zxingcpp.read_barcodes(image.convert("L")))


def _render_pdf(data: bytes, tmp_path, dpi: int = 300) -> list[Image.Image]:
    pdf = tmp_path / "labels.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(tmp_path / "page")],
                   check=True)
    return [Image.open(p) for p in sorted(tmp_path.glob("page-*.png"))]


@pytest.mark.parametrize("fmt, size_mm", [("thermal", (50, 30)), ("a4", (70, 37))])
def test_label_png_has_the_format_size_and_decodes_to_its_url(fmt, size_mm):
    image = Image.open(io.BytesIO(label_png(_label(1), fmt)))
    assert image.size == (mm_to_px(size_mm[0]), mm_to_px(size_mm[1]))
    assert _decode(image) == [_label(1).url]
    half = image.convert("L").resize((image.width // 2, image.height // 2), Image.LANCZOS)
    assert _decode(half) == [_label(1).url]


def test_a4_sheet_pdf_holds_24_labels_a_page_and_every_one_scans(tmp_path):
    labels = [_label(n) for n in range(30)]
    pages = _render_pdf(a4_pdf(labels), tmp_path)
    assert len(pages) == 2
    assert pages[0].size == (mm_to_px(210), mm_to_px(297))
    first, second = _decode(pages[0]), _decode(pages[1])
    assert first == sorted(label.url for label in labels[:24])
    assert second == sorted(label.url for label in labels[24:])
    half = pages[0].convert("L").resize((pages[0].width // 2, pages[0].height // 2),
                                        Image.LANCZOS)
    assert _decode(half) == first


def test_thermal_pdf_has_one_scannable_label_a_page(tmp_path):
    labels = [_label(n) for n in range(3)]
    pages = _render_pdf(thermal_pdf(labels), tmp_path)
    assert [_decode(page) for page in pages] == [[label.url] for label in labels]


def test_qr_modules_are_whole_pixels_with_a_quiet_zone():
    url = _label(1).url
    image = qr_image(url, 300)
    assert image.width == image.height and image.width <= 300
    pixels = image.load()
    corner = [pixels[x, y] for x in range(8) for y in range(8)]
    assert set(corner) == {255}
    assert _decode(image) == [url]


def test_long_text_is_cut_to_fit_not_overflowing_the_label():
    data = LabelData(url="https://x.vn/t/ABC", product="Gạo " * 40, producer="Hộ " * 40,
                     lot="L1")
    image = render_label(data, "thermal")
    right_edge = [image.getpixel((image.width - 2, y)) for y in range(image.height)]
    assert 0 not in right_edge
    assert _decode(image) == ["https://x.vn/t/ABC"]


@pytest.mark.parametrize("fmt", ["thermal", "a4"])
def test_longest_digital_link_uri_still_scans_at_half_size(fmt):
    """A GTIN product's label holds {base}/01/{gtin14}/10/{lot}: with a 20-character lot it
    is the longest URL a label carries."""
    url = "https://ocop.example.vn/01/04006381333931/10/" + "L2026A1B2C3D4E5F6G7H"
    image = Image.open(io.BytesIO(label_png(LabelData(
        url=url, product="Chè Shan Tuyết", producer="HTX Chè", lot="L2026A1B2C3D4E5F6G7H"),
        fmt)))
    assert _decode(image) == [url]
    half = image.convert("L").resize((image.width // 2, image.height // 2), Image.LANCZOS)
    assert _decode(half) == [url]
