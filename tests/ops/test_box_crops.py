"""Tests for gi_tf/ops/box_crops.py against NumPy slicing and tf.image.crop_and_resize."""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.data.masks import crop_bboxes
from gi_tf.ops import box_crops


def _random_boxes(rng, count, height, width, max_side):
    heights = rng.integers(2, max_side + 1, count)
    widths = rng.integers(2, max_side + 1, count)
    tops = rng.integers(0, height - heights + 1)
    lefts = rng.integers(0, width - widths + 1)
    return np.stack([tops, lefts, heights, widths], 1).astype(np.int32)


def test_same_size_nearest_crop_is_the_pixel_slice():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(4, 20, 24, 3)).astype(np.float32)
    boxes = np.array([[0, 0, 8, 8], [12, 16, 8, 8], [5, 3, 8, 8], [3, 9, 8, 8]], np.int32)
    crops = box_crops.crop_boxes(images, boxes, 8, 8).numpy()
    for crop, image, (top, left, h, w) in zip(crops, images, boxes):
        np.testing.assert_array_equal(crop, image[top:top + h, left:left + w])


@pytest.mark.parametrize("crop", [(8, 8), (5, 7), (16, 12)])
def test_bilinear_matches_crop_and_resize(crop):
    rng = np.random.default_rng(1)
    images = rng.normal(size=(6, 20, 24, 3)).astype(np.float32)
    boxes = _random_boxes(rng, 6, 20, 24, 12)
    expected = crop_bboxes(images, boxes, *crop, method="bilinear").numpy()
    got = box_crops.crop_boxes(images, boxes, *crop, method="bilinear").numpy()
    # crop_and_resize places samples up to ~3e-5 px off (float32 box coordinates).
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_gradients_reach_only_the_cropped_pixels():
    images = tf.random.stateless_normal([2, 12, 12, 1], [0, 1])
    boxes = tf.constant([[2, 3, 4, 4], [6, 1, 4, 4]])
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(box_crops.crop_boxes(images, boxes, 4, 4, method="bilinear"))
    gradient = tape.gradient(total, images).numpy()[..., 0]
    expected = np.zeros((2, 12, 12))
    expected[0, 2:6, 3:7] = 1.0
    expected[1, 6:10, 1:5] = 1.0
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="method='area'"):
        box_crops.crop_boxes(np.zeros((1, 4, 4, 1), np.float32), [[0, 0, 2, 2]], 2, 2, "area")
