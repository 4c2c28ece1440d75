#!/usr/bin/env python3
"""Writes tests/data/shapes: 32x32 grey PNGs of circles, squares and triangles (one folder per
class), with random size, position and noise, from a fixed seed. Run it to regenerate."""
import os, random, struct, zlib

def png(path, w, h, pixels):
    raw = b"".join(b"\x00" + bytes(pixels[y * w:(y + 1) * w]) for y in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

def draw(kind, r):
    n = 32
    cx, cy, s = r.uniform(11, 21), r.uniform(11, 21), r.uniform(6, 10)
    img = []
    for y in range(n):
        for x in range(n):
            dx, dy = x - cx, y - cy
            if kind == "circle":
                inside = dx * dx + dy * dy <= s * s
            elif kind == "square":
                inside = abs(dx) <= s * 0.85 and abs(dy) <= s * 0.85
            else:  # triangle pointing up
                inside = -s <= dy <= s * 0.8 and abs(dx) <= (dy + s) * 0.6
            v = 200 if inside else 30
            img.append(max(0, min(255, int(v + r.gauss(0, 20)))))
    return img

here = os.path.dirname(os.path.abspath(__file__))
r = random.Random(2026)
for kind in ("circle", "square", "triangle"):
    d = os.path.join(here, "shapes", kind)
    os.makedirs(d, exist_ok=True)
    for i in range(30):
        png(os.path.join(d, "%s_%02d.png" % (kind, i)), 32, 32, draw(kind, r))
