"""Align-corners nearest resizing (gi_tf.layers.resizing) against TF1's op."""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.layers.resizing import align_corners_indices
from gi_tf.layers.resizing import resize_nearest_align_corners

from references import np_contextual_attention as ref

SIZES = [
    (64, 32), (256, 64), (128, 64), (32, 16), (16, 8), (24, 8), (18, 6), (10, 5), (9, 3),
    (7, 3), (100, 33), (255, 64), (5, 1), (1, 1), (3, 5), (32, 64), (64, 256), (17, 17),
]


def tf1_indices(in_size, out_size):
    """Indices picked by the raw TF1 op, read back from an arange image."""
    ramp = tf.reshape(tf.range(in_size, dtype=tf.float32), (1, in_size, 1, 1))
    out = tf.compat.v1.image.resize_nearest_neighbor(ramp, [out_size, 1], align_corners=True)
    return out.numpy().astype(np.int64).reshape(-1).tolist()


def test_64_to_32_picks_odd_rows_in_second_half():
    expected = list(range(0, 31, 2)) + list(range(33, 64, 2))
    assert tf1_indices(64, 32) == expected  # the documented TF1 behaviour itself
    assert [int(i) for i in align_corners_indices(64, 32)] == expected


def test_256_to_64_picks():
    expected = (
        list(range(0, 41, 4)) + list(range(45, 126, 4)) + list(range(130, 211, 4))
        + list(range(215, 256, 4))
    )
    assert tf1_indices(256, 64) == expected
    assert [int(i) for i in align_corners_indices(256, 64)] == expected


@pytest.mark.parametrize("in_size,out_size", SIZES)
def test_indices_match_tf1_op(in_size, out_size):
    expected = tf1_indices(in_size, out_size)
    assert [int(i) for i in align_corners_indices(in_size, out_size)] == expected
    assert ref.align_corners_indices(in_size, out_size) == expected


def test_indices_match_tf1_op_for_all_downsampling_rates():
    # Every H -> H // rate (the contextual attention case) for H < 64 and rate 1..4.
    pairs = {(h, h // r) for h in range(1, 64) for r in (1, 2, 3, 4) if h // r >= 1}
    for in_size, out_size in sorted(pairs):
        expected = tf1_indices(in_size, out_size)
        got = [int(i) for i in align_corners_indices(in_size, out_size)]
        assert got == expected, (in_size, out_size)
        assert ref.align_corners_indices(in_size, out_size) == expected, (in_size, out_size)


@pytest.mark.parametrize("out_hw", [(8, 5), (16, 12), (3, 7)])
def test_resize_images_matches_tf1_op(out_hw):
    images = np.random.rand(2, 16, 12, 3).astype("float32")
    expected = tf.compat.v1.image.resize_nearest_neighbor(images, out_hw, align_corners=True)
    got = resize_nearest_align_corners(images, *out_hw)
    np.testing.assert_array_equal(np.asarray(got), expected.numpy())


def test_resize_with_dynamic_sizes_in_tf_function():
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 2], tf.float32)])
    def half(images):
        shape = tf.shape(images)
        return resize_nearest_align_corners(images, shape[1] // 2, shape[2] // 2)

    for hw in [(64, 32), (18, 10)]:
        images = np.random.rand(1, *hw, 2).astype("float32")
        expected = tf.compat.v1.image.resize_nearest_neighbor(
            images, (hw[0] // 2, hw[1] // 2), align_corners=True)
        np.testing.assert_array_equal(half(images).numpy(), expected.numpy())
