#!/usr/bin/env python3
"""Draw Keypool's toolbar icons: a blue rounded square with a light key.

Run once by hand (`python tools/make_icons.py`); the PNGs it writes to
extension_src/static/icons/ are committed, so the build never runs it.
Uses only zlib and struct. Shapes are defined in unit coordinates and
sampled 4x4 per pixel, which gives anti-aliased edges at every size.
"""

import math
import struct
import sys
import zlib
from pathlib import Path

SIZES = (16, 32, 48, 128)
SUPERSAMPLE = 4
BACKGROUND = (37, 99, 235)  # Tailwind blue-600
KEY = (219, 234, 254)  # Tailwind blue-100
OUT_DIR = Path(__file__).resolve().parent.parent / "extension_src" / "static" / "icons"


def in_rounded_square(x, y, margin=0.03, radius=0.22):
    """Is (x, y) inside the rounded square that fills the icon?"""
    lo, hi = margin + radius, 1 - margin - radius
    cx, cy = min(max(x, lo), hi), min(max(y, lo), hi)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def in_key(x, y):
    """Is (x, y) on the key: a ring (bow) with a shaft and two teeth, at 45 degrees?"""
    # Rotate the point by +45 degrees around the centre, so the key can be
    # described lying horizontally: bow on the left, bit on the right.
    c = math.cos(math.pi / 4)
    dx, dy = x - 0.5, y - 0.5
    u, v = c * dx - c * dy, c * dx + c * dy
    ring = math.hypot(u + 0.2, v)
    if 0.085 <= ring <= 0.185:
        return True
    if -0.03 <= u <= 0.34 and -0.045 <= v <= 0.045:  # shaft
        return True
    if 0.17 <= u <= 0.23 and 0.0 <= v <= 0.13:  # first tooth
        return True
    return 0.27 <= u <= 0.34 and 0.0 <= v <= 0.10  # second tooth


def render(size):
    """RGBA rows for one icon size."""
    rows = []
    n = SUPERSAMPLE
    for py in range(size):
        row = bytearray()
        for px in range(size):
            bg = key = 0
            for sy in range(n):
                for sx in range(n):
                    x = (px + (sx + 0.5) / n) / size
                    y = (py + (sy + 0.5) / n) / size
                    if in_rounded_square(x, y):
                        if in_key(x, y):
                            key += 1
                        else:
                            bg += 1
            cover = bg + key
            if cover == 0:
                row += b"\0\0\0\0"
                continue
            color = [(BACKGROUND[i] * bg + KEY[i] * key) // cover for i in range(3)]
            row += bytes(color) + bytes([round(255 * cover / (n * n))])
        rows.append(bytes(row))
    return rows


def png(size, rows):
    """Encode RGBA rows as a PNG file."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    raw = b"".join(b"\0" + row for row in rows)  # filter type 0 on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        path = OUT_DIR / f"icon{size}.png"
        path.write_bytes(png(size, render(size)))
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
