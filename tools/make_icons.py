"""Draw Linli's icons (a white house on red) as PNG with the standard library only."""
import os
import struct
import sys
import zlib


def png(size, scale):
    red, white = (0xB3, 0x26, 0x1E), (0xFF, 0xFF, 0xFF)
    rows = []
    c = size / 2
    half = size * scale / 2  # the house fits in this half-width box
    roof_top, roof_base, floor = c - half, c - half * 0.1, c + half
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            px = red
            if roof_top <= y <= roof_base:
                w = (y - roof_top) / (roof_base - roof_top) * half
                if abs(x - c) <= w:
                    px = white
            elif roof_base < y <= floor and abs(x - c) <= half * 0.7:
                px = white
                if y > c + half * 0.3 and abs(x - c) <= half * 0.18:
                    px = red  # the door
            row.extend(px)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "webapp/static/icons"
    os.makedirs(out, exist_ok=True)
    for size in (192, 512):
        with open(os.path.join(out, f"icon-{size}.png"), "wb") as f:
            f.write(png(size, 0.7))
        with open(os.path.join(out, f"maskable-{size}.png"), "wb") as f:
            f.write(png(size, 0.5))  # inside the maskable safe zone
