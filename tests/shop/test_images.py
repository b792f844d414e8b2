"""Photo uploads: accepted types, refusals (size, pixel bombs, hostile files), WebP
renditions, orientation, metadata stripping, and the files that store them."""
from __future__ import annotations

import ast
import io
import os
import random
import re
import time
import warnings

import pytest
from PIL import Image, ImageFile

from ocopkit.errors import Invalid
from shop import images
from shop.images import Photo, process_photo
from shop.media import RENDITION_WIDTHS, delete_photo, photo_path, save_photo

ORIENTATION, GPS_IFD = 0x0112, 0x8825


def make_image(size=(1600, 1200), mode="RGB") -> Image.Image:
    """Photo-like content: gradients with texture at several scales, so that it still
    has detail after shrinking to 320 px (a thumbnail of it is ~20 KB at quality 75)."""
    width, height = size

    def texture(cells: int) -> Image.Image:
        small = (max(1, width // cells), max(1, height // cells))
        return Image.effect_noise(small, 50).resize(size, Image.Resampling.BICUBIC)

    red = Image.blend(Image.linear_gradient("L").resize(size), texture(8), 0.5)
    green = Image.blend(Image.radial_gradient("L").resize(size), texture(20), 0.5)
    blue = Image.blend(texture(50), Image.effect_noise(size, 30), 0.3)
    return Image.merge("RGB", (red, green, blue)).convert(mode)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[GPS_IFD] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 51.0, 0.0)}
    if orientation:
        exif[ORIENTATION] = orientation
    return exif


def assert_webp(data: bytes) -> Image.Image:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    opened = Image.open(io.BytesIO(data))
    assert opened.format == "WEBP"
    opened.load()
    return opened


def refusal(data: bytes, **limits) -> Invalid:
    with pytest.raises(Invalid) as caught:
        process_photo(data, **limits)
    assert caught.value.field == "photo"
    return caught.value


# -- accepted photos ---------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_become_webp_renditions_at_320_and_960(fmt):
    photo = process_photo(encode(make_image((1600, 1200)), fmt))

    assert set(photo.renditions) == {320, 960}
    sizes = {width: assert_webp(data).size for width, data in photo.renditions.items()}
    assert sizes == {320: (320, 240), 960: (960, 720)}
    assert (photo.width, photo.height) == (960, 720)


def test_type_is_decided_by_content_not_by_name():
    # A PNG "named" photo.jpg is only bytes here: it is accepted as the PNG it is.
    png = encode(make_image((400, 300)), "PNG")
    assert process_photo(png).renditions[320][:4] == b"RIFF"
    assert images.ACCEPTED_FORMATS == ("JPEG", "PNG", "WEBP")


def test_twelve_megapixel_photo_gives_thumbnail_under_30_kb():
    jpeg = encode(make_image((4000, 3000)), "JPEG", quality=92)

    started = time.perf_counter()
    photo = process_photo(jpeg)
    elapsed = time.perf_counter() - started

    assert 5 * 1024 < len(photo.renditions[320]) < 30 * 1024  # detailed, yet in budget
    assert assert_webp(photo.renditions[320]).size == (320, 240)
    assert assert_webp(photo.renditions[960]).size == (960, 720)
    assert elapsed < 5  # generous: draft() decode takes ~0.1 s on a 2-core machine


def test_jpeg_is_decoded_shrunk_with_draft(monkeypatch):
    from PIL import JpegImagePlugin
    calls = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        calls.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)

    process_photo(encode(make_image((4000, 3000)), "JPEG"))

    assert calls, "draft() was not called for a JPEG"
    requested, decoded_size = calls[0]
    assert requested[0] >= 960 and decoded_size[0] < 4000  # shrunk, but not below 960


def test_noisy_thumbnail_lowers_quality_to_stay_under_budget():
    # Pure noise is the worst case for a codec: quality 75 alone is over budget.
    noise = Image.merge("RGB", [Image.effect_noise((320, 320), 120) for _ in range(3)])
    at_75 = encode(noise, "WEBP", quality=75)
    photo = process_photo(encode(noise, "PNG"))

    assert len(at_75) >= 30 * 1024
    assert len(photo.renditions[320]) < 30 * 1024


def test_small_image_is_not_upscaled():
    photo = process_photo(encode(make_image((100, 80)), "JPEG"))

    assert (photo.width, photo.height) == (100, 80)
    assert assert_webp(photo.renditions[320]).size == (100, 80)
    assert assert_webp(photo.renditions[960]).size == (100, 80)


def test_mid_size_image_keeps_its_width_for_the_large_rendition():
    photo = process_photo(encode(make_image((500, 1000)), "PNG"))

    assert assert_webp(photo.renditions[320]).size == (320, 640)
    assert assert_webp(photo.renditions[960]).size == (500, 1000)


def test_exif_orientation_6_turns_landscape_file_into_portrait_photo():
    jpeg = encode(make_image((200, 100)), "JPEG", exif=gps_exif(orientation=6))

    photo = process_photo(jpeg)

    assert (photo.width, photo.height) == (100, 200)
    assert assert_webp(photo.renditions[960]).size == (100, 200)


def test_orientation_is_used_to_pick_the_draft_size_of_a_rotated_jpeg():
    # Stored 3000 × 4000 landscape-wise would be wrong: upright it is 3000 wide.
    jpeg = encode(make_image((4000, 3000)), "JPEG", exif=gps_exif(orientation=6))

    photo = process_photo(jpeg)

    assert (photo.width, photo.height) == (960, 1280)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_gps_and_colour_profile_are_stripped(fmt):
    exif = gps_exif()
    source = encode(make_image((640, 480)), fmt, exif=exif.tobytes(),
                    icc_profile=b"\x00" * 128 if fmt == "JPEG" else None)
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(GPS_IFD)  # the input has GPS

    photo = process_photo(source)

    for data in photo.renditions.values():
        opened = assert_webp(data)
        assert dict(opened.getexif()) == {}
        assert b"Exif" not in data and b"EXIF" not in data
        assert b"ICCP" not in data and b"XMP " not in data
        assert "icc_profile" not in opened.info


def test_transparent_png_keeps_alpha():
    image = make_image((400, 400), "RGBA")
    image.putalpha(Image.linear_gradient("L").resize((400, 400)))

    photo = process_photo(encode(image, "PNG"))

    assert assert_webp(photo.renditions[320]).mode == "RGBA"


def test_animated_webp_keeps_its_first_frame():
    red, blue = Image.new("RGB", (400, 300), "red"), Image.new("RGB", (400, 300), "blue")
    animated = encode(red, "WEBP", save_all=True, append_images=[blue], duration=100,
                      lossless=True)
    assert Image.open(io.BytesIO(animated)).n_frames == 2

    photo = process_photo(animated)

    frame = assert_webp(photo.renditions[320]).convert("RGB")
    r, g, b = frame.getpixel((160, 120))
    assert r > 200 and b < 60


def test_sixteen_bit_greyscale_png_is_accepted():
    grey = Image.linear_gradient("L").resize((512, 512)).convert("I")
    grey = grey.point(lambda v: v * 256).convert("I;16")

    photo = process_photo(encode(grey, "PNG"))

    pixels = assert_webp(photo.renditions[320]).convert("L")
    assert pixels.getpixel((0, 0)) < 30 and pixels.getpixel((0, 319)) > 220


# -- refusals ------------------------------------------------------------------------

def bomb_png(side: int) -> bytes:
    return encode(Image.new("1", (side, side)), "PNG")


@pytest.mark.parametrize("warning_filter", ["ignore", "error"])
def test_png_declaring_144_megapixels_is_refused_without_decoding(monkeypatch,
                                                                   warning_filter):
    data = bomb_png(12000)
    assert len(data) < 100 * 1024
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: decoded.append(self.size))

    with warnings.catch_warnings():
        warnings.simplefilter(warning_filter)
        started = time.perf_counter()
        error = refusal(data)
        elapsed = time.perf_counter() - started

    assert error.message == images.MSG_TOO_MANY_PIXELS
    assert error.params == {"limit": "40"}
    assert "40 megapixels" in str(error)
    assert decoded == []
    assert elapsed < 1


def test_png_declaring_400_megapixels_is_refused():
    error = refusal(bomb_png(20000))

    assert error.message == images.MSG_TOO_MANY_PIXELS


def test_pixel_limit_is_our_own_check_not_pillows():
    # 90 000 pixels is far below Pillow's limits; only our check can refuse it.
    data = encode(make_image((300, 300)), "JPEG")

    assert refusal(data, max_pixels=89_999).params == {"limit": "0.089999"}
    assert process_photo(data, max_pixels=90_000).width == 300


def test_file_over_10_mb_is_refused_before_opening(monkeypatch):
    opened = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a))
    data = encode(make_image((64, 64)), "JPEG")
    data += b"\0" * (10 * 1024 * 1024 + 1 - len(data))

    error = refusal(data)

    assert error.message == images.MSG_TOO_LARGE
    assert error.params == {"limit_mb": "10"}
    assert opened == []


def test_file_at_the_byte_limit_is_read():
    data = encode(make_image((64, 64)), "JPEG")

    assert process_photo(data, max_bytes=len(data)).width == 64
    assert refusal(data, max_bytes=len(data) - 1).message == images.MSG_TOO_LARGE


JPEG = encode(make_image((800, 600)), "JPEG")
PNG = encode(make_image((800, 600)), "PNG")

HOSTILE = {
    "empty": b"",
    "text named .jpg": "Đây không phải là ảnh\n".encode() * 20,
    "random bytes": bytes(range(256)) * 40,
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    "gif": encode(make_image((64, 64)).convert("P"), "GIF"),
    "bmp": encode(make_image((64, 64)), "BMP"),
    "tiff": encode(make_image((64, 64)), "TIFF"),
    "pdf": encode(make_image((64, 64)), "PDF"),
    "truncated jpeg": JPEG[: len(JPEG) // 2],
    "jpeg header only": JPEG[:300],
    "truncated png": PNG[: len(PNG) // 2],
    "png signature only": PNG[:8],
    "corrupt jpeg body": JPEG[:600] + os.urandom(4000) + JPEG[-2:],
    "riff that is not webp": b"RIFF\x10\0\0\0WEBPVP8 " + b"\xff" * 32,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_broken_or_foreign_files_are_refused_with_invalid(name):
    error = refusal(HOSTILE[name])

    assert error.message in (images.MSG_EMPTY, images.MSG_NOT_PHOTO, images.MSG_DAMAGED)


def test_gif_and_text_say_not_a_photo_and_truncation_says_damaged():
    assert refusal(HOSTILE["gif"]).message == images.MSG_NOT_PHOTO
    assert refusal(HOSTILE["text named .jpg"]).message == images.MSG_NOT_PHOTO
    assert refusal(HOSTILE["truncated jpeg"]).message == images.MSG_DAMAGED


def test_extremely_narrow_image_is_refused_not_crashed():
    # 1 × 20 000: the 960 rendition would exceed WebP's 16 383 px limit.
    error = refusal(encode(Image.new("L", (1, 20000)), "PNG"))

    assert error.message == images.MSG_SHAPE


def test_images_module_does_not_import_flask():
    tree = ast.parse(open(images.__file__, encoding="utf-8").read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "PIL" in imported
    assert not {name for name in imported if name and name.split(".")[0] == "flask"}


# -- files ---------------------------------------------------------------------------

@pytest.fixture
def photo() -> Photo:
    return process_photo(encode(make_image((1200, 900)), "JPEG"))


def test_save_photo_writes_each_rendition_under_a_url_safe_key(tmp_path, photo):
    root = tmp_path / "media" / "photos"  # created on demand

    key = save_photo(root, photo)

    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key)
    assert RENDITION_WIDTHS == (320, 960)
    for width in RENDITION_WIDTHS:
        path = photo_path(root, key, width)
        assert path.parent == root and path.name == f"{key}_{width}.webp"
        assert path.read_bytes() == photo.renditions[width]
        assert Image.open(path).size[0] == min(width, 1200)
    assert sorted(p.name for p in root.iterdir()) == [f"{key}_320.webp", f"{key}_960.webp"]


def test_each_save_gets_a_new_key(tmp_path, photo):
    assert save_photo(tmp_path, photo) != save_photo(tmp_path, photo)


def test_delete_photo_removes_both_files_and_ignores_missing(tmp_path, photo):
    key = save_photo(tmp_path, photo)
    photo_path(tmp_path, key, 960).unlink()

    delete_photo(tmp_path, key)
    delete_photo(tmp_path, key)

    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_no_files(tmp_path, photo, monkeypatch):
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)

    with pytest.raises(OSError, match="disk full"):
        save_photo(tmp_path, photo)

    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_photo_without_all_renditions(tmp_path, photo):
    partial = Photo(photo.width, photo.height, {320: photo.renditions[320]})

    with pytest.raises(ValueError):
        save_photo(tmp_path, partial)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["../x", "a/b", "..", "", "a.b", "a\\b", "a\0b",
                                 "/etc/passwd", "x" * 41, "ảnh", "a b"])
def test_photo_path_refuses_keys_that_could_escape(tmp_path, key):
    with pytest.raises(ValueError):
        photo_path(tmp_path, key, 320)
    with pytest.raises(ValueError):
        delete_photo(tmp_path, key)


@pytest.mark.parametrize("width", [0, 100, 640, 961, "320", 320.0, True, None])
def test_photo_path_refuses_unknown_widths(tmp_path, width):
    with pytest.raises(ValueError):
        photo_path(tmp_path, "abc", width)


def test_photo_path_accepts_a_saved_key(tmp_path):
    assert photo_path(tmp_path, "Ab-_09", 960) == tmp_path / "Ab-_09_960.webp"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_randomly_damaged_files_give_a_photo_or_invalid_never_a_crash(fmt):
    rng = random.Random(fmt)
    source = encode(make_image((300, 200)), fmt)
    outcomes = set()
    for _ in range(80):
        data = bytearray(source)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        try:
            outcomes.add(type(process_photo(bytes(data))).__name__)
        except Invalid:
            outcomes.add("Invalid")
    assert "Invalid" in outcomes
