"""Traceability labels: a QR code (error correction Q, with its quiet zone) beside the
human-readable facts, as PNG images and 300 dpi PDFs (A4 sheets of 3 × 8 labels of
70 × 37 mm, or single 50 × 30 mm thermal labels). Pure: data in, bytes out, no Flask.

QR modules are drawn at whole-pixel sizes for the target dpi, because modules that fall
between pixels stop decoding when printed (measured: see shared/notes/performance.md)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_Q

DPI = 300
QUIET_ZONE = 4
A4_MM = (210, 297)
SHEET_COLUMNS, SHEET_ROWS = 3, 8
FORMATS_MM = {"a4": (70, 37), "thermal": (50, 30)}
FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
)


@dataclass(frozen=True)
class LabelData:
    url: str
    product: str
    producer: str
    lot: str
    stars: int | None = None
    produced_on: date | None = None
    expires_on: date | None = None


def mm_to_px(mm: float, dpi: int = DPI) -> int:
    return round(mm * dpi / 25.4)


@lru_cache(maxsize=16)
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    path = Path(FONT_FILES[1 if bold else 0])
    if not path.exists():
        raise RuntimeError(f"font {path} is missing: install Debian's fonts-dejavu-core")
    return ImageFont.truetype(str(path), size)


def qr_image(url: str, max_side_px: int) -> Image.Image:
    """The largest whole-pixel-module QR (quiet zone included) that fits max_side_px."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=QUIET_ZONE, box_size=1)
    code.add_data(url)
    code.make(fit=True)
    modules = code.modules_count + 2 * QUIET_ZONE
    box = max_side_px // modules
    if box < 1:
        raise ValueError("label too small for this URL")
    code.box_size = box
    return code.make_image().get_image().convert("L")


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, max_lines: int) -> list[str]:
    """Break text into at most max_lines lines of whole words; the last one may be cut."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        elif len(lines) < max_lines:
            lines.append(word)
        else:
            lines[-1] += " " + word
    return lines


def _date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def render_label(data: LabelData, fmt: str = "thermal", dpi: int = DPI) -> Image.Image:
    """One label as a black-and-white image at `dpi`."""
    width, height = (mm_to_px(v, dpi) for v in FORMATS_MM[fmt])
    image = Image.new("L", (width, height), 255)
    margin = mm_to_px(1.5, dpi)
    qr = qr_image(data.url, height - 2 * margin)
    image.paste(qr, (margin, (height - qr.height) // 2))
    draw = ImageDraw.Draw(image)
    x = margin + qr.width + margin // 2
    text_width = width - x - margin
    size = max(9, height // 16)
    lines = [(text, True, size + size // 5) for text in _wrap(draw, data.product,
                                                            _font(True, size + size // 5),
                                                            text_width, 2)]
    lines += [
        (data.producer, False, size),
        (("★" * data.stars + " OCOP") if data.stars else "", False, size),
        (f"Lô: {data.lot}", True, size),
        (f"NSX: {_date(data.produced_on)}", False, size),
        (f"HSD: {_date(data.expires_on)}", False, size),
        (data.url.split("://", 1)[-1], False, max(8, size * 4 // 5)),
    ]
    y = margin
    for text, bold, font_size in lines:
        if not text:
            continue
        font = _font(bold, font_size)
        draw.text((x, y), _fit(draw, text, font, text_width), font=font, fill=0)
        y += round(font_size * 1.3)
    return image.point(lambda v: 0 if v < 128 else 255, mode="1")


def label_png(data: LabelData, fmt: str = "thermal", dpi: int = DPI) -> bytes:
    out = io.BytesIO()
    render_label(data, fmt, dpi).save(out, "PNG", optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


def a4_pages(labels: list[LabelData], dpi: int = DPI) -> list[Image.Image]:
    """A4 pages of 3 × 8 labels (70 × 37 mm), centred vertically on the sheet."""
    page_w, page_h = (mm_to_px(v, dpi) for v in A4_MM)
    cell_w, cell_h = (mm_to_px(v, dpi) for v in FORMATS_MM["a4"])
    top = (page_h - SHEET_ROWS * cell_h) // 2
    per_page = SHEET_COLUMNS * SHEET_ROWS
    pages = []
    for start in range(0, len(labels), per_page):
        page = Image.new("1", (page_w, page_h), 1)
        for i, data in enumerate(labels[start:start + per_page]):
            row, column = divmod(i, SHEET_COLUMNS)
            page.paste(render_label(data, "a4", dpi), (column * cell_w, top + row * cell_h))
        pages.append(page)
    return pages


def pdf(images: list[Image.Image], dpi: int = DPI) -> bytes:
    if not images:
        raise ValueError("no labels to print")
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


def a4_pdf(labels: list[LabelData], dpi: int = DPI) -> bytes:
    return pdf(a4_pages(labels, dpi), dpi)


def thermal_pdf(labels: list[LabelData], dpi: int = DPI) -> bytes:
    return pdf([render_label(data, "thermal", dpi) for data in labels], dpi)
