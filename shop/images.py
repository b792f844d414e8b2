"""Product photos: check an upload and turn it into small WebP renditions.

Pure: bytes in, bytes out, no Flask and no files. The type is decided by content (only
Pillow's JPEG, PNG and WebP parsers are ever tried, whatever the file name says). The
declared pixel count is checked from the header before anything is decoded, because
Pillow's own decompression-bomb check only warns up to 2 × 89 MP (a 17 KiB PNG declaring
144 MP would otherwise be decoded; see shared/notes/security.md). JPEGs are decoded
shrunk with `Image.draft()` (about 3× faster and half the memory on a 12 MP photo; see
shared/notes/performance.md). EXIF orientation is applied and every piece of metadata
(EXIF with GPS, XMP, ICC) is dropped. Animated images keep their first frame.

Every refusal, including a file Pillow cannot parse, is `ocopkit.errors.Invalid("photo",
...)`; no other exception type escapes for bad input.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from ocopkit.errors import N_, Invalid

FIELD = "photo"
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
RENDITION_WIDTHS = (320, 960)
THUMBNAIL_WIDTH = 320
THUMBNAIL_MAX_BYTES = 30 * 1024
THUMBNAIL_QUALITIES = (75, 65, 55, 45, 35, 25, 15, 5, 0)  # the low end is for noise
LARGE_QUALITY = 78
WEBP_MAX_SIDE = 16383

_ORIENTATION_TAG = 0x0112
_SWAPS_SIDES = {5, 6, 7, 8}

MSG_EMPTY = N_("The file is empty.")
MSG_TOO_LARGE = N_("The file is too large: the limit is %(limit_mb)s MB.")
MSG_NOT_PHOTO = N_("This file is not a JPEG, PNG or WebP photo.")
MSG_TOO_MANY_PIXELS = N_("The photo has too many pixels: the limit is %(limit)s megapixels.")
MSG_DAMAGED = N_("The photo could not be read; the file may be damaged or incomplete.")
MSG_SHAPE = N_("The photo is too long and narrow; please crop it.")


@dataclass(frozen=True)
class Photo:
    """A processed photo: WebP bytes per rendition width."""

    width: int  # of the 960 rendition (or the original if it is smaller)
    height: int
    renditions: dict[int, bytes]


def process_photo(data: bytes, *, max_bytes: int = 10 * 1024 * 1024,
                  max_pixels: int = 40_000_000) -> Photo:
    """Check an uploaded photo and return its 320 and 960 px wide WebP renditions.

    Renditions keep the aspect ratio and are never wider than the original. The 320 px
    one is kept under 30 KB by lowering the WebP quality. Raises `Invalid("photo", ...)`
    for anything that is not an acceptable photo.
    """
    if not data:
        raise Invalid(FIELD, MSG_EMPTY)
    if len(data) > max_bytes:
        raise Invalid(FIELD, MSG_TOO_LARGE, limit_mb=_number(max_bytes / (1024 * 1024)))
    too_many_pixels = Invalid(FIELD, MSG_TOO_MANY_PIXELS, limit=_number(max_pixels / 1e6))

    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own check fired first (beyond its limits, or warnings as errors).
        raise too_many_pixels from exc
    except Exception as exc:  # hostile input: Pillow parsers raise many types
        raise Invalid(FIELD, MSG_NOT_PHOTO) from exc

    with image:
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise too_many_pixels
        try:
            decoded = _decode(image)
        except Exception as exc:  # truncated or corrupt data found while decoding
            raise Invalid(FIELD, MSG_DAMAGED) from exc

    renditions = {w: _resize(decoded, w) for w in RENDITION_WIDTHS}
    if max(max(r.size) for r in renditions.values()) > WEBP_MAX_SIDE:
        raise Invalid(FIELD, MSG_SHAPE)
    try:
        encoded = {w: _encode(r, thumbnail=(w == THUMBNAIL_WIDTH))
                   for w, r in renditions.items()}
    except (OSError, ValueError) as exc:  # the WebP encoder refused this image
        raise Invalid(FIELD, MSG_DAMAGED) from exc
    largest = renditions[max(RENDITION_WIDTHS)]
    return Photo(width=largest.width, height=largest.height, renditions=encoded)


def _decode(image: Image.Image) -> Image.Image:
    """Decode the first frame (shrunk by libjpeg where possible), upright, as RGB(A)."""
    if image.format == "JPEG":
        orientation = image.getexif().get(_ORIENTATION_TAG)
        width, height = image.size
        upright_width = height if orientation in _SWAPS_SIDES else width
        scale = min(1.0, max(RENDITION_WIDTHS) / upright_width)
        # draft() only picks a libjpeg scale that keeps at least this size.
        image.draft(None, (max(1, round(width * scale)), max(1, round(height * scale))))
    image.load()
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    if upright.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit greyscale PNG
        upright = upright.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    converted = upright.convert("RGBA" if has_alpha else "RGB")
    converted.info.clear()  # no EXIF, XMP or ICC profile may travel to the output
    return converted


def _resize(image: Image.Image, target_width: int) -> Image.Image:
    width, height = image.size
    new_width = min(target_width, width)
    new_height = max(1, round(height * new_width / width))
    if (new_width, new_height) == image.size:
        return image
    return image.resize((new_width, new_height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, *, thumbnail: bool) -> bytes:
    qualities = THUMBNAIL_QUALITIES if thumbnail else (LARGE_QUALITY,)
    for quality in qualities:
        out = io.BytesIO()
        image.save(out, "WEBP", quality=quality, method=4, exif=b"", xmp=b"", icc_profile=None)
        if not thumbnail or out.tell() < THUMBNAIL_MAX_BYTES:
            break
    return out.getvalue()


def _number(value: float) -> str:
    """40.0 → "40", 9.5 → "9.5" for messages."""
    return f"{value:g}"
