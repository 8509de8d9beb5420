"""Tests for gi_tf.utils.image_io: decoding, conversions with notes, atomic writes, value maps."""

import os

import cv2
import numpy as np
import pytest

from gi_tf.utils import files
from gi_tf.utils import image_io


def _write_raw(path, array_bgr, ext=".png"):
    """Encode with OpenCV exactly as given (BGR(A) channel order) and write the bytes."""
    ok, data = cv2.imencode(ext, array_bgr)
    assert ok
    path.write_bytes(data.tobytes())
    return path


def _rgb(h=4, w=5):
    rng = np.random.default_rng(h * 100 + w)
    return rng.integers(0, 256, size=(h, w, 3)).astype(np.uint8)


# --------------------------------------------------------------------------- reading


def test_png_round_trip_is_exact_and_rgb(tmp_path):
    image = _rgb()
    path = image_io.write_image_atomic(tmp_path / "a.png", image)
    assert path == str(tmp_path / "a.png")
    got, notes = image_io.read_image(path, return_notes=True)
    assert got.dtype == np.uint8 and got.shape == (4, 5, 3) and notes == []
    np.testing.assert_array_equal(got, image)
    # On disk the channels are BGR, as OpenCV (and the original) store them.
    np.testing.assert_array_equal(cv2.imread(path), image[..., ::-1])


def test_jpeg_round_trip_keeps_channel_order(tmp_path):
    red = np.zeros([16, 16, 3], np.uint8)
    red[..., 0] = 250
    got = image_io.read_image(image_io.write_image_atomic(tmp_path / "r.jpg", red))
    assert got[..., 0].mean() > 240 and got[..., 1:].mean() < 10


def test_missing_file_names_path(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match="nope.png"):
        image_io.read_image(missing)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        image_io.read_mask(missing)


@pytest.mark.parametrize("content", [b"not an image at all", b"", "truncated"])
def test_corrupt_file_raises_value_error_naming_path(tmp_path, content):
    path = tmp_path / "bad.png"
    if content == "truncated":
        ok, data = cv2.imencode(".png", _rgb(32, 32))
        content = data.tobytes()[: len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(ValueError, match="bad.png"):
        image_io.read_image(path)
    with pytest.raises(ValueError, match="bad.png"):
        image_io.read_mask(str(path))


def test_directory_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        image_io.read_image(tmp_path)


def test_grayscale_becomes_rgb_with_note(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    image, notes = image_io.read_image(_write_raw(tmp_path / "g.png", grey), return_notes=True)
    assert image.shape == (4, 5, 3)
    for c in range(3):
        np.testing.assert_array_equal(image[..., c], grey)
    assert notes == ["converted grayscale to RGB"]


def test_rgba_drops_alpha_with_note(tmp_path):
    rgb = _rgb()
    bgra = np.concatenate([rgb[..., ::-1], np.full([4, 5, 1], 255, np.uint8)], axis=-1)
    image, notes = image_io.read_image(_write_raw(tmp_path / "o.png", bgra), return_notes=True)
    np.testing.assert_array_equal(image, rgb)
    assert notes == ["dropped the alpha channel"]
    bgra[0, 0, 3] = 0
    image, notes = image_io.read_image(_write_raw(tmp_path / "t.png", bgra), return_notes=True)
    np.testing.assert_array_equal(image, rgb)  # colours kept, not composited
    assert len(notes) == 1 and "not fully opaque" in notes[0]


def test_16_bit_is_scaled_by_257_with_rounding(tmp_path):
    values = np.array([[0, 128, 129, 257 * 100 + 128, 257 * 100 + 129, 65535]], np.uint16)
    expected = np.array([[0, 0, 1, 100, 101, 255]], np.uint8)  # round(x / 257)
    np.testing.assert_array_equal(np.round(values / 257.0), expected)
    image, notes = image_io.read_image(_write_raw(tmp_path / "d.png", values),
                                       return_notes=True)
    np.testing.assert_array_equal(image[..., 1], expected)
    assert notes == ["converted 16-bit to 8-bit (value / 257, rounded)",
                     "converted grayscale to RGB"]
    colour = np.stack([values, values // 2, np.full_like(values, 65535)], axis=-1)  # RGB
    image = image_io.read_image(_write_raw(tmp_path / "c.png", colour[..., ::-1].copy()))
    np.testing.assert_array_equal(image[..., 0], expected)
    assert np.all(image[..., 2] == 255)


# --------------------------------------------------------------------------- masks


def test_mask_threshold_8_and_16_bit(tmp_path):
    mask8 = np.array([[0, 127, 128, 255]], np.uint8)
    got = image_io.read_mask(_write_raw(tmp_path / "m8.png", mask8))
    assert got.dtype == bool and got.tolist() == [[False, False, True, True]]
    mask16 = np.array([[0, 32767, 32768, 65535]], np.uint16)
    got, notes = image_io.read_mask(_write_raw(tmp_path / "m16.png", mask16), return_notes=True)
    assert got.tolist() == [[False, False, True, True]] and notes == []


def test_colour_mask_uses_blue_channel_with_note(tmp_path):
    rgb = np.zeros([1, 3, 3], np.uint8)
    rgb[0, 0] = (255, 0, 0)  # red: not a hole for the original (reads blue)
    rgb[0, 1] = (0, 0, 255)  # blue: hole
    rgb[0, 2] = (255, 255, 255)  # white: hole
    got, notes = image_io.read_mask(_write_raw(tmp_path / "c.png", rgb[..., ::-1].copy()),
                                    return_notes=True)
    assert got.tolist() == [[False, True, True]]
    assert len(notes) == 1 and "blue channel" in notes[0]
    white = np.full([2, 2, 3], 255, np.uint8)
    assert image_io.read_mask(_write_raw(tmp_path / "w.png", white), return_notes=True)[1] == []


def test_rgba_mask_ignores_alpha(tmp_path):
    bgra = np.zeros([1, 2, 4], np.uint8)
    bgra[0, 0] = (255, 255, 255, 0)  # transparent but white: a hole, as cv2.imread sees it
    bgra[0, 1] = (0, 0, 0, 255)
    got, notes = image_io.read_mask(_write_raw(tmp_path / "a.png", bgra), return_notes=True)
    assert got.tolist() == [[True, False]]
    assert len(notes) == 1 and "alpha" in notes[0]


# --------------------------------------------------------------------------- writing


def test_atomic_write_creates_dirs_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "deep" / "er" / "out.png"
    image_io.write_image_atomic(target, _rgb())
    assert os.listdir(target.parent) == ["out.png"]
    image_io.write_image_atomic(target, _rgb(2, 3))  # overwrite
    assert os.listdir(target.parent) == ["out.png"]
    assert image_io.read_image(target).shape == (2, 3, 3)
    grey = np.full([3, 3, 1], 7, np.uint8)
    assert image_io.read_image(image_io.write_image_atomic(tmp_path / "g.png", grey))[0, 0, 0] == 7


def test_atomic_write_failure_keeps_existing_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    original = _rgb()
    image_io.write_image_atomic(target, original)
    before = target.read_bytes()

    def failing_rename(src, dst, overwrite=False):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.local, "rename", failing_rename)  # local paths: plain Python I/O
    with pytest.raises(PermissionError, match="keep.png"):
        image_io.write_image_atomic(target, _rgb(2, 2))
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.png"]


def test_atomic_write_unwritable_directory_names_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(OSError, match="out.png"):
        image_io.write_image_atomic(blocker / "sub" / "out.png", _rgb())
    assert blocker.read_bytes() == b"x"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_atomic_write_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    image_io.write_image_atomic(locked / "x.png", _rgb())
    before = (locked / "x.png").read_bytes()
    locked.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="x.png"):
            image_io.write_image_atomic(locked / "x.png", _rgb(2, 2))
        assert (locked / "x.png").read_bytes() == before
        assert os.listdir(locked) == ["x.png"]
    finally:
        locked.chmod(0o755)


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        image_io.write_image_atomic(tmp_path / "x.gif", _rgb())
    with pytest.raises(ValueError, match="uint8"):
        image_io.write_image_atomic(tmp_path / "x.png", _rgb().astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        image_io.write_image_atomic(tmp_path / "x.png", np.zeros([2, 2, 4], np.uint8))
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- value maps


def test_to_float_is_the_original_mapping():
    x = np.array([0, 127, 128, 255], np.uint8)
    got = image_io.to_float(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, x.astype(np.float32) / np.float32(127.5) - 1)
    assert got[0] == -1.0 and got[-1] == 1.0
    with pytest.raises(ValueError, match="uint8"):
        image_io.to_float(got)


def test_to_uint8_truncates_not_rounds():
    x = np.array([0.999, 1.0, -1.01, -1.0, 2.0, np.nan, 0.0, 0.0039], np.float32)
    # (x + 1) * 127.5: 254.87 -> 254, 255, <0 -> 0, 0, >255 -> 255, NaN -> 0, 127.5 -> 127,
    # 127.997 -> 127.
    assert image_io.to_uint8_truncate(x).tolist() == [254, 255, 0, 0, 255, 0, 127, 127]
    assert image_io.to_uint8_truncate(x).dtype == np.uint8


def test_float_round_trip_can_lose_one_level_like_the_original():
    # uint8 -> [-1, 1] -> uint8 in float32 with truncation drops some levels by one
    # (e.g. 1 -> 0.00784 - 1 -> 0.99999994 -> 0), exactly as the original's known pixels do.
    levels = np.arange(256, dtype=np.uint8)
    back = image_io.to_uint8_truncate(image_io.to_float(levels)).astype(int)
    assert set(np.unique(levels.astype(int) - back)) == {0, 1}
    assert back[0] == 0 and back[1] == 0 and back[255] == 255
    # Same values as an independent float32 evaluation of (v / 127.5 - 1 + 1) * 127.5.
    scaled = (levels.astype(np.float32) / np.float32(127.5) - np.float32(1)
              + np.float32(1)) * np.float32(127.5)
    np.testing.assert_array_equal(back, np.trunc(scaled).astype(int))


def test_channel_swaps():
    rgb = _rgb()
    bgr = image_io.rgb_to_bgr(rgb)
    np.testing.assert_array_equal(bgr[..., 0], rgb[..., 2])
    np.testing.assert_array_equal(image_io.bgr_to_rgb(bgr), rgb)
    assert bgr.flags["C_CONTIGUOUS"]
    with pytest.raises(ValueError, match="shape"):
        image_io.rgb_to_bgr(np.zeros([2, 2, 4]))
