"""Tests for gi_tf/data/brush_strokes.py: free-form holes, their geometry, flips and seeds."""

import numpy as np
import tensorflow as tf

from gi_tf.data import brush_strokes


def _extent(hole):
    rows, cols = np.nonzero(hole)
    return rows.min(), cols.min(), rows.max() + 1, cols.max() + 1


def _segment_distance(py, px, y0, x0, y1, x1):
    """Distance of point (py, px) to the segment, by the textbook projection formula."""
    p, a, b = np.array([py, px]), np.array([y0, x0]), np.array([y1, x1])
    ab = b - a
    t = 0.0 if not ab.any() else np.clip(np.dot(p - a, ab) / np.dot(ab, ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t * ab))


def test_near_segment_matches_point_segment_distance():
    rng = np.random.default_rng(0)
    ends = rng.uniform(0, 11, (2, 3, 4)).astype(np.float32)
    ends[1, 2, 2:] = ends[1, 2, :2]  # a zero-length segment is a disc
    radius = rng.uniform(0.5, 3, (2, 3, 1, 1)).astype(np.float32)
    rows = tf.range(12, dtype=tf.float32)[:, None]
    cols = tf.range(10, dtype=tf.float32)[None, :]
    near = brush_strokes.near_segment(rows, cols, *np.moveaxis(ends, -1, 0), radius).numpy()
    for b in range(2):
        for s in range(3):
            y0, x0, y1, x1 = ends[b, s]
            distance = np.array([[_segment_distance(i, j, y0, x0, y1, x1) for j in range(10)]
                                 for i in range(12)])
            inside = distance <= radius[b, s, 0, 0]
            ambiguous = np.abs(distance - radius[b, s, 0, 0]) < 1e-4
            np.testing.assert_array_equal(near[b, s][~ambiguous], inside[~ambiguous])


def test_free_form_masks_nonempty_not_full_varied_and_seeded():
    holes = brush_strokes.free_form_mask(64, 48, 40, seed=3).numpy()
    assert holes.shape == (64, 48, 40, 1) and holes.dtype == np.float32
    assert set(np.unique(holes)) == {0.0, 1.0}
    fractions = holes.mean(axis=(1, 2, 3))
    assert fractions.min() > 0.0 and fractions.max() < 1.0
    assert len({h.tobytes() for h in holes}) == 64
    np.testing.assert_array_equal(holes, brush_strokes.free_form_mask(64, 48, 40, seed=3))
    assert not np.array_equal(holes, brush_strokes.free_form_mask(64, 48, 40, seed=4))


def test_tiny_image_still_gets_a_hole():
    holes = brush_strokes.free_form_mask(32, 16, 16, seed=5).numpy()
    assert holes.sum(axis=(1, 2, 3)).min() > 0


def test_single_dot_stroke_is_a_disc_of_the_stroke_width():
    # One stroke of one zero-length segment: a disc of radius width/2 = 8 px.
    holes = brush_strokes.free_form_mask(
        24, 64, 64, seed=6, max_strokes=1, min_segments=1, max_segments=1,
        mean_segment_length=0.0, min_stroke_width=0.25, max_stroke_width=0.25,
        flip=False).numpy()[..., 0]
    interior = 0
    for hole in holes:
        top, left, bottom, right = _extent(hole)
        if top == 0 or left == 0 or bottom == 64 or right == 64:
            continue  # clipped by the border
        interior += 1
        assert bottom - top in (16, 17) and right - left in (16, 17)
        assert abs(hole.sum() - np.pi * 8 ** 2) < 2 * np.pi * 8
    assert interior >= 5


def test_flips_only_mirror_the_unflipped_draw():
    plain = brush_strokes.free_form_mask(32, 24, 24, seed=7, flip=False).numpy()
    flipped = brush_strokes.free_form_mask(32, 24, 24, seed=7, flip=True).numpy()
    kinds = set()
    for a, b in zip(plain, flipped):
        variants = [a, a[:, ::-1], a[::-1], a[::-1, ::-1]]
        matches = [k for k, v in enumerate(variants) if np.array_equal(v, b)]
        assert matches
        kinds.add(matches[0])
    assert len(kinds) >= 3
