"""Tests for gi_tf.app.examples: the page's built-in example images."""

import builtins

import numpy as np

from gi_tf.app import examples as app_examples
from gi_tf.utils.image_io import read_image


def test_add_disc_paints_exactly_the_disc_in_the_complement_colour():
    image = np.full((9, 11, 3), (10, 200, 30), np.uint8)
    out = app_examples.add_disc(image, centre=(4, 5), radius=2)
    yy, xx = np.mgrid[0:9, 0:11]
    inside = (yy - 4) ** 2 + (xx - 5) ** 2 <= 4
    assert inside.sum() == 13  # the lattice points of a radius-2 disc
    np.testing.assert_array_equal(out[inside], np.broadcast_to((245, 55, 225), (13, 3)))
    np.testing.assert_array_equal(out[~inside], image[~inside])
    assert image[4, 5].tolist() == [10, 200, 30]  # the input is not modified


def test_checkerboard_alternates_cells():
    board = app_examples.checkerboard(size=8, cell=4)
    np.testing.assert_array_equal(board[0, 0], board[4, 4])
    assert not np.array_equal(board[0, 0], board[0, 4])


def test_examples_are_rgb_uint8_with_unique_names():
    examples = app_examples.example_images(size=32)
    names = [name for name, _ in examples]
    assert len(names) == len(set(names)) >= len(app_examples.TEXTURE_EXAMPLES)
    for _, image in examples:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3


def test_fallback_without_builtin_images(monkeypatch):
    real_import = builtins.__import__

    def refuse_demo_data(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "gi_tf.data" and fromlist and "builtin_images" in fromlist:
            raise ImportError("builtin_images hidden by the test")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", refuse_demo_data)
    (name, image), = app_examples.example_images(size=32)
    assert name == "checkerboard" and image.shape == (32, 32, 3)


def test_write_examples_round_trips_through_png(tmp_path):
    paths = app_examples.write_examples(str(tmp_path), size=24)
    examples = app_examples.example_images(size=24)
    assert len(paths) == len(examples)
    for path, (name, image) in zip(paths, examples):
        assert path.endswith(f"{name}.png")
        np.testing.assert_array_equal(read_image(path), image)
