"""Hostile image files for the fault tests: PNGs that declare a size of their choosing.

A decompression bomb is a small file that decodes to a huge image: PNG rows of zeros
compress about 1000:1, so an 8000 x 8000 RGB image (192 MB of pixels) fits in ~200 KB,
and a header alone may declare 50000 x 50000.
"""

import struct
import zlib

RGB, RGBA = 2, 6  # PNG colour types


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_declaring(width, height, rows_of_zeros=0, colour_type=RGB):
    """PNG bytes whose header declares ``width`` x ``height`` (8 bits per channel) and
    whose data are ``rows_of_zeros`` black rows (0: no image data at all)."""
    channels = 4 if colour_type == RGBA else 3
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + channels * width)
    data = b"".join(compressor.compress(row) for _ in range(rows_of_zeros))
    data += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + (_chunk(b"IDAT", data) if rows_of_zeros else b"") + _chunk(b"IEND", b""))
