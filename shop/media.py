"""Photo files on disk: `<key>_<width>.webp` under one media root. No Flask.

Files and database rows cannot share a transaction, so callers keep this order:

1. `key = save_photo(root, photo)` (files are written first, each atomically);
2. write the row that stores `key`, then commit;
3. if that transaction fails, `delete_photo(root, key)`.

An orphaned file is harmless; a row pointing at a missing file is a broken page.
`photo_path` is the only way to turn a key from a request into a path: it refuses any
key or width that could name a file outside the media root.
"""
from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

from shop.images import RENDITION_WIDTHS, Photo

__all__ = ["RENDITION_WIDTHS", "save_photo", "delete_photo", "photo_path"]

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")
FILE_MODE = 0o644


def photo_path(media_root: str | Path, key: str, width: int) -> Path:
    """The file of one rendition; ValueError for a bad key or an unknown width."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"bad photo key: {key!r}")
    if type(width) is not int or width not in RENDITION_WIDTHS:
        raise ValueError(f"bad rendition width: {width!r}")
    return Path(media_root) / f"{key}_{width}.webp"


def save_photo(media_root: str | Path, photo: Photo) -> str:
    """Write every rendition of `photo` and return its new random key (URL safe).

    Each file is written to a temporary name and moved into place with `os.replace`,
    so a reader never sees half a file. If any write fails, files already written are
    removed and the error propagates. Write the database row only after this returned,
    and call `delete_photo` if that transaction fails.
    """
    missing = set(RENDITION_WIDTHS) - set(photo.renditions)
    if missing:
        raise ValueError(f"photo lacks renditions {sorted(missing)}")
    root = Path(media_root)
    root.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
    written: list[Path] = []
    try:
        for width in RENDITION_WIDTHS:
            target = photo_path(root, key, width)
            _write_atomically(target, photo.renditions[width])
            written.append(target)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return key


def delete_photo(media_root: str | Path, key: str) -> None:
    """Remove every rendition of `key`; files already gone are ignored."""
    for width in RENDITION_WIDTHS:
        photo_path(media_root, key, width).unlink(missing_ok=True)


def _write_atomically(target: Path, data: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, FILE_MODE)  # mkstemp makes 0600; a web server may read these
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
