"""The pixel limit of gi_tf.utils.image_io: sizes read from headers before decoding.

A decompression bomb is a small file declaring a huge image; :func:`declared_size`
must read the size of every format it knows without decoding, and the readers must
refuse such a file with one message naming it, its size and the limit.
"""

import struct
import time

import cv2
import numpy as np
import pytest

from gi_tf.utils import image_io

from hostile_files import png_declaring

HEIGHT, WIDTH = 37, 53


def _encoded(extension, image, params=()):
    ok, data = cv2.imencode(extension, image, list(params))
    assert ok
    return data.tobytes()


def _bmp_core_header(width, height):
    """A BMP with the old 12-byte BITMAPCOREHEADER (16-bit sizes)."""
    row = (width * 3 + 3) // 4 * 4
    pixels = b"\0" * row * height
    return (b"BM" + struct.pack("<IHHI", 26 + len(pixels), 0, 0, 26)
            + struct.pack("<IHHHH", 12, width, height, 1, 24) + pixels)


def _vp8x(width, height):
    """The start of an extended WebP file (only its canvas size matters here)."""
    payload = b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBP" + b"VP8X" + \
        struct.pack("<I", len(payload)) + payload


IMAGE = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
TOP_DOWN_BMP = bytearray(_encoded(".bmp", IMAGE))
TOP_DOWN_BMP[22:26] = struct.pack("<i", -HEIGHT)

FORMATS = {
    "png": _encoded(".png", IMAGE),
    "png 16-bit grey": _encoded(".png", IMAGE[..., 0].astype(np.uint16) * 257),
    "jpeg": _encoded(".jpg", IMAGE),
    "bmp": _encoded(".bmp", IMAGE),
    "bmp top-down": bytes(TOP_DOWN_BMP),
    "bmp core header": _bmp_core_header(WIDTH, HEIGHT),
    "webp lossy": _encoded(".webp", IMAGE, (cv2.IMWRITE_WEBP_QUALITY, 80)),
    "webp lossless": _encoded(".webp", IMAGE, (cv2.IMWRITE_WEBP_QUALITY, 101)),
    "webp extended": _vp8x(WIDTH, HEIGHT),
    "gif": (b"GIF89a" + struct.pack("<HH", WIDTH, HEIGHT) + b"\0" * 20),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_declared_size_is_read_from_the_header(name):
    assert image_io.declared_size(FORMATS[name]) == (HEIGHT, WIDTH)


@pytest.mark.parametrize("data", [_encoded(".tiff", IMAGE), b"", b"\x89PN", b"hello world",
                                  b"\xff\xd8\xff\xe0not a jpeg"], ids=[
    "tiff (not read)", "empty", "short", "text", "broken jpeg"])
def test_unknown_or_broken_headers_give_none(data):
    assert image_io.declared_size(data) is None


def test_a_bomb_is_refused_before_decoding(tmp_path):
    # 8000 x 8000 black RGB: 192 MB of pixels in a file of ~190 KB.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(8000, 8000, rows_of_zeros=8000))
    assert path.stat().st_size < 400_000
    start = time.process_time()
    with pytest.raises(image_io.ImageTooLargeError,
                       match=f"image file {path} is 8000x8000 = 64.0 megapixels, above the "
                             "limit of 50 megapixels .*--max_pixels"):
        image_io.read_image(path)
    assert time.process_time() - start < 1.0  # refused, not decoded (the decode: ~1 s)
    path.write_bytes(png_declaring(50000, 50000))  # the size only, no data at all
    with pytest.raises(image_io.ImageTooLargeError, match="50000x50000 = 2500.0 megapixels"):
        image_io.read_mask(path)


def test_the_limit_is_a_parameter_and_also_applies_after_decoding(tmp_path):
    png, tiff = tmp_path / "a.png", tmp_path / "a.tiff"
    png.write_bytes(FORMATS["png"])
    tiff.write_bytes(_encoded(".tiff", IMAGE))  # no header check: after decoding
    for path in (png, tiff):
        assert image_io.read_image(path, max_pixels=HEIGHT * WIDTH).shape == IMAGE.shape
        with pytest.raises(image_io.ImageTooLargeError, match=f"{WIDTH}x{HEIGHT} "):
            image_io.read_image(path, max_pixels=HEIGHT * WIDTH - 1)
    big = tmp_path / "big.png"
    big.write_bytes(png_declaring(8000, 8000, rows_of_zeros=8000))
    assert image_io.read_mask(big, max_pixels=None).shape == (8000, 8000)
