"""Labels per second and the time of a 100-label A4 PDF, beside the bare qrcode library
making the same QR images in the same run.

    python bench/labels.py
"""
from __future__ import annotations

import io
import time
from datetime import date

import qrcode
from qrcode.constants import ERROR_CORRECT_Q

from shop.labels import LabelData, a4_pdf, label_png

N = 100


def _labels() -> list[LabelData]:
    return [LabelData(url=f"https://ocop.example.vn/t/K7Q2M{n:03d}", product="Gạo Séng Cù Điện Biên",
                      producer="HTX Gạo Séng Cù", lot=f"L2026B{n}", stars=5,
                      produced_on=date(2026, 10, 1), expires_on=date(2027, 4, 1))
            for n in range(N)]


def main() -> None:
    labels = _labels()
    start = time.perf_counter()
    for label in labels:
        out = io.BytesIO()
        qrcode.make(label.url, error_correction=ERROR_CORRECT_Q).save(out)
    bare = time.perf_counter() - start

    start = time.perf_counter()
    for label in labels:
        label_png(label, "thermal")
    ours = time.perf_counter() - start

    start = time.perf_counter()
    size = len(a4_pdf(labels))
    sheet = time.perf_counter() - start

    print(f"bare qrcode PNG:        {N / bare:7.1f} images/s")
    print(f"ocopkit label PNG:      {N / ours:7.1f} labels/s")
    print(f"ratio label / bare:     {bare / ours:7.2f}")
    print(f"100-label A4 PDF:       {sheet:7.2f} s, {size / 1024:.0f} KiB (budget 5 s; "
          f"{5 / sheet:.1f}x headroom)")


if __name__ == "__main__":
    main()
