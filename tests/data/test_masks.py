"""Tests for gi_tf/data/masks.py: shapes, ranges, determinism and crop geometry."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.data import masks


def _extent(hole):
    """(top, left, bottom_exclusive, right_exclusive) of a 2-D binary array's ones."""
    rows, cols = np.nonzero(hole)
    return rows.min(), cols.min(), rows.max() + 1, cols.max() + 1


def test_random_bbox_range_shape_and_determinism():
    bboxes = masks.random_bbox(500, 64, 48, 20, 10, (3, 5), seed=7).numpy()
    assert bboxes.shape == (500, 4) and bboxes.dtype == np.int32
    top, left, h, w = bboxes.T
    assert np.all(h == 20) and np.all(w == 10)
    assert top.min() == 3 and top.max() == 64 - 3 - 20 - 1
    assert left.min() == 5 and left.max() == 48 - 5 - 10 - 1
    np.testing.assert_array_equal(bboxes, masks.random_bbox(500, 64, 48, 20, 10, (3, 5), 7))
    assert not np.array_equal(bboxes, masks.random_bbox(500, 64, 48, 20, 10, (3, 5), 8))


def test_random_bbox_without_room_raises():
    with pytest.raises(ValueError, match="does not fit"):
        masks.random_bbox(2, 32, 32, 32, 16, (0, 0), seed=0)


def test_bbox_to_mask_shrinks_symmetrically_within_bounds():
    bboxes = masks.random_bbox(300, 40, 40, 16, 12, (0, 0), seed=1)
    holes = masks.bbox_to_mask(bboxes, 40, 40, 6, 4, seed=2).numpy()
    assert holes.shape == (300, 40, 40, 1) and holes.dtype == np.float32
    assert set(np.unique(holes)) == {0.0, 1.0}
    shrinks_h, shrinks_w = set(), set()
    for (top, left, h, w), hole in zip(bboxes.numpy(), holes[..., 0]):
        t, l, b, r = _extent(hole)
        dh, dw = t - top, l - left
        assert (top + h - b, left + w - r) == (dh, dw)
        assert hole.sum() == (h - 2 * dh) * (w - 2 * dw)
        shrinks_h.add(dh)
        shrinks_w.add(dw)
    assert shrinks_h == {0, 1, 2, 3} and shrinks_w == {0, 1, 2}


def test_bbox_to_mask_without_delta_fills_the_box():
    bboxes = tf.constant([[2, 3, 5, 4]])
    holes = masks.bbox_to_mask(bboxes, 10, 10, 0, 0, seed=0).numpy()[0, ..., 0]
    expected = np.zeros((10, 10))
    expected[2:7, 3:7] = 1
    np.testing.assert_array_equal(holes, expected)


def test_hole_bounding_boxes_match_numpy_and_empty_is_full_image():
    holes = np.zeros((3, 10, 12, 1), np.float32)
    holes[0, 2:5, 7:9] = 1
    holes[1, 0, 0] = holes[1, 9, 3] = 1
    boxes = masks.hole_bounding_boxes(holes).numpy()
    np.testing.assert_array_equal(boxes, [[2, 7, 3, 2], [0, 0, 10, 4], [0, 0, 10, 12]])


def test_mixed_mask_ratio_roughly_respected():
    box = tf.zeros([2000, 4, 4, 1])
    free = tf.ones([2000, 4, 4, 1])
    holes, is_free = masks.mixed_mask(box, free, 0.3, seed=9)
    np.testing.assert_array_equal(holes.numpy()[:, 0, 0, 0], is_free.numpy())
    assert 0.26 < is_free.numpy().mean() < 0.34


@pytest.mark.parametrize("kind", ["box", "free", "mixed"])
def test_sample_masks_shapes_and_bboxes_cover_holes(kind):
    config = masks.MaskConfig(kind=kind, box_height=20, box_width=24, max_delta_height=6,
                              max_delta_width=8, free_ratio=0.5)
    holes, bboxes = masks.sample_masks(config, 24, 48, 64, seed=11)
    holes, bboxes = holes.numpy(), bboxes.numpy()
    assert holes.shape == (24, 48, 64, 1) and bboxes.shape == (24, 4)
    for hole, (top, left, h, w) in zip(holes[..., 0], bboxes):
        assert hole.sum() > 0
        t, l, b, r = _extent(hole)
        assert top <= t and left <= l and b <= top + h and r <= left + w
        if (h, w) != (20, 24):  # a free-form sample: its bbox is the tight hole box
            assert (t, l, b, r) == (top, left, top + h, left + w)
    if kind == "box":
        assert np.all(bboxes[:, 2:] == [20, 24])


def test_sample_masks_shared_mask_per_batch():
    config = masks.MaskConfig(kind="box", box_height=8, box_width=8, max_delta_height=4,
                              max_delta_width=4, per_sample=False)
    holes, bboxes = masks.sample_masks(config, 5, 32, 32, seed=1)
    assert np.all(holes.numpy() == holes.numpy()[:1])
    assert np.all(bboxes.numpy() == bboxes.numpy()[:1])


def test_sample_masks_in_tf_function_with_tensor_seed_and_seed_generator():
    config = masks.MaskConfig(kind="mixed", box_height=16, box_width=16, max_delta_height=8,
                              max_delta_width=8)
    fn = tf.function(lambda seed, batch: masks.sample_masks(config, batch, 32, 32, seed))
    a, _ = fn(tf.constant([1, 2]), tf.constant(6))
    b, _ = fn(tf.constant([1, 2]), tf.constant(6))
    c, _ = fn(tf.constant([1, 3]), tf.constant(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    first = masks.sample_masks(config, 4, 32, 32, keras.random.SeedGenerator(5))[0]
    again = masks.sample_masks(config, 4, 32, 32, keras.random.SeedGenerator(5))[0]
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("field,value", [
    ("kind", "circle"), ("box_height", 0), ("max_delta_width", -1), ("free_ratio", 1.5),
    ("max_segments", 2), ("min_stroke_width", 0.0), ("max_delta_height", 128),
])
def test_mask_config_validate_names_field(field, value):
    # checked where the config is made (__post_init__, replace too): it cannot exist
    with pytest.raises(ValueError, match=f"MaskConfig.{field}="):
        dataclasses.replace(masks.MaskConfig(), **{field: value})


def test_mask_config_box_larger_than_image_raises():
    with pytest.raises(ValueError, match="box_height"):
        masks.sample_masks(masks.MaskConfig(), 2, 128, 256, seed=0)


def test_crop_boxes_sample_exact_pixels():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 256, 256, 3)).astype(np.float32)
    bboxes = np.array([[0, 0, 128, 128], [127, 127, 128, 128], [5, 64, 128, 128],
                       [100, 3, 128, 128]], np.int32)
    boxes = masks.bbox_to_crop_boxes(bboxes, 256, 256)
    crops = tf.image.crop_and_resize(images, boxes, tf.range(4), (128, 128)).numpy()
    nearest = masks.crop_bboxes(images, bboxes, 128, 128, method="nearest").numpy()
    for i, (top, left, h, w) in enumerate(bboxes):
        expected = images[i, top:top + h, left:left + w]
        np.testing.assert_allclose(crops[i], expected, atol=2e-4)
        np.testing.assert_array_equal(nearest[i], expected)


def test_sample_masks_under_distribution_strategy_with_replica_fold_in():
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    config = masks.MaskConfig(kind="mixed", box_height=8, box_width=8, max_delta_height=4,
                              max_delta_width=4)

    @tf.function
    def step(seed):
        def replica_fn():
            replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
            replica_seed = tf.random.experimental.stateless_fold_in(seed, replica_id)
            return masks.sample_masks(config, 3, 16, 16, replica_seed)[0]
        return strategy.experimental_local_results(strategy.run(replica_fn))

    first = [t.numpy() for t in step(tf.constant([4, 2], tf.int64))]
    again = [t.numpy() for t in step(tf.constant([4, 2], tf.int64))]
    assert len(first) == len(devices)
    for a, b in zip(first, again):
        assert a.shape == (3, 16, 16, 1)
        np.testing.assert_array_equal(a, b)
    if len(first) > 1:
        assert not np.array_equal(first[0], first[1])


def _bilinear_at(image, ys, xs):
    """Bilinear samples of a [H, W, C] array at the grid ys x xs (NumPy reference)."""
    out = np.zeros((len(ys), len(xs), image.shape[2]))
    for a, y in enumerate(ys):
        for b, x in enumerate(xs):
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            y1, x1 = min(y0 + 1, image.shape[0] - 1), min(x0 + 1, image.shape[1] - 1)
            fy, fx = y - y0, x - x0
            out[a, b] = ((1 - fy) * (1 - fx) * image[y0, x0] + (1 - fy) * fx * image[y0, x1]
                         + fy * (1 - fx) * image[y1, x0] + fy * fx * image[y1, x1])
    return out


def test_crop_bboxes_resizes_other_box_sizes_corner_to_corner():
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (2, 20, 24, 3)).astype(np.float32)
    bboxes = np.array([[3, 5, 7, 9], [0, 10, 20, 14]], np.int32)
    crops = masks.crop_bboxes(images, bboxes, 5, 6, method="bilinear").numpy()
    for i, (top, left, h, w) in enumerate(bboxes):
        ys = top + np.arange(5) * (h - 1) / 4
        xs = left + np.arange(6) * (w - 1) / 5
        np.testing.assert_allclose(crops[i], _bilinear_at(images[i], ys, xs), atol=1e-4)


def test_crop_bboxes_dynamic_shapes_and_gradients():
    images = tf.Variable(tf.random.stateless_uniform([2, 16, 12, 1], [1, 2]))
    bboxes = tf.constant([[2, 3, 8, 8], [0, 0, 5, 7]])
    fn = tf.function(lambda x: masks.crop_bboxes(x, bboxes, 8, 8, method="bilinear"),
                     input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)])
    np.testing.assert_allclose(fn(images)[0], images.numpy()[0, 2:10, 3:11], atol=1e-4)
    for method in ("nearest", "bilinear"):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(masks.crop_bboxes(images, bboxes, 8, 8, method=method))
        grad = tape.gradient(loss, images).numpy()
        # Sample positions are float32, so bilinear leaks ~1e-6 onto neighbours.
        assert grad[0, 2:10, 3:11].min() > 0.99 and grad[0, 10:].max() < 1e-5
