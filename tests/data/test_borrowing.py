"""Tests for gi_tf/data/borrowing.py: the borrowing task's images are pure functions of
(seed, index), exactly periodic with the stated period, and every hole pixel's true value
lies in the known region at the offset copy_offsets states (checked by brute force)."""

import numpy as np
import pytest

from gi_tf.data import borrowing
from gi_tf.data import builtin_images


def _box_holes(rng, size):
    """A box of about half the side at a random place, as the demo's evaluation boxes."""
    holes = np.zeros((size, size), bool)
    height, width = rng.integers(size // 2 - size // 8, size // 2 + 1, 2)
    top, left = rng.integers(0, size - height + 1), rng.integers(0, size - width + 1)
    holes[top:top + height, left:left + width] = True
    return holes


def _brute_force_offsets(holes, period):
    """Slow reference: for every hole pixel, try every multiple of the period in order of
    |k| + |l| (then k, then l) and take the first that lands on a known pixel."""
    height, width = holes.shape
    py, px = period
    shifts = sorted(((k, j) for k in range(-height, height + 1) for j in range(-width, width + 1)
                     if (k, j) != (0, 0) and abs(k * py) < height and abs(j * px) < width),
                    key=lambda s: (abs(s[0]) + abs(s[1]), s))
    offsets = np.zeros((height, width, 2), np.int64)
    found = np.zeros((height, width), bool)
    for y, x in zip(*np.nonzero(holes)):
        for k, j in shifts:
            ty, tx = y + k * py, x + j * px
            if 0 <= ty < height and 0 <= tx < width and not holes[ty, tx]:
                offsets[y, x], found[y, x] = (k * py, j * px), True
                break
    return offsets, found


def test_wallpaper_is_a_pure_function_of_seed_index_and_size():
    a = borrowing.wallpaper(0, 5, 64)
    b = borrowing.wallpaper(0, 5, 64)
    assert a.image.dtype == np.uint8 and a.image.shape == (64, 64, 3)
    assert np.array_equal(a.image, b.image) and a.period == b.period
    assert not np.array_equal(a.image, borrowing.wallpaper(0, 6, 64).image)
    assert not np.array_equal(a.image, borrowing.wallpaper(1, 5, 64).image)
    # a larger image of the same (seed, index) extends the same wallpaper
    big = borrowing.wallpaper(0, 5, 96)
    assert big.period == a.period and np.array_equal(big.image[:64, :64], a.image)
    stacked = borrowing.wallpapers(0, 3, 32, start=4)
    assert stacked.shape == (3, 32, 32, 3)
    assert np.array_equal(stacked[1], borrowing.wallpaper(0, 5, 32).image)
    assert borrowing.wallpapers(0, 0, 32).shape == (0, 32, 32, 3)


@pytest.mark.parametrize("seed", [borrowing.TRAIN_SEED, borrowing.HELD_OUT_SEED])
def test_every_wallpaper_repeats_exactly_with_its_stated_period(seed):
    periods = set()
    for index in range(40):
        image, (py, px) = borrowing.wallpaper(seed, index, 128)
        periods.add((py, px))
        assert py % borrowing.GRID == 0 and px % borrowing.GRID == 0
        assert borrowing.PERIOD_RANGE[0] <= min(py, px) <= max(py, px) <= borrowing.PERIOD_RANGE[1]
        assert np.array_equal(image[py:], image[:-py])
        assert np.array_equal(image[:, px:], image[:, :-px])
        assert len(np.unique(image.reshape(-1, 3), axis=0)) >= 2  # not a flat image
    assert len(periods) >= 10  # random periods, not a few fixed ones


def test_period_multiple_one_allows_off_grid_periods():
    periods = [borrowing.wallpaper(0, i, 64, period_multiple=1).period for i in range(30)]
    assert any(p % borrowing.GRID for pair in periods for p in pair)
    for index in range(5):
        image, (py, px) = borrowing.wallpaper(0, index, 64, period_multiple=1)
        assert np.array_equal(image[py:], image[:-py]) and np.array_equal(image[:, px:],
                                                                            image[:, :-px])


def test_phase_is_random_so_the_source_offset_differs_between_images():
    # same tile statistics, different phases: the first row's pattern starts anywhere
    firsts = {borrowing.wallpaper(0, i, 64).image[0, 0].tobytes() for i in range(30)}
    assert len(firsts) > 20


def test_copy_offsets_matches_brute_force_and_points_at_the_true_content():
    rng = np.random.default_rng(0)
    for index in range(12):
        image, period = borrowing.wallpaper(borrowing.HELD_OUT_SEED, index, 64)
        holes = _box_holes(rng, 64)
        if index % 3 == 0:  # also irregular holes
            holes |= rng.uniform(size=holes.shape) < 0.2
        offsets, found = borrowing.copy_offsets(holes, period)
        ref_offsets, ref_found = _brute_force_offsets(holes, period)
        assert np.array_equal(found, ref_found) and np.array_equal(offsets, ref_offsets)
        # the true value of every hole pixel found lies at its offset, on a known pixel
        assert found[holes].mean() > 0.5  # 64 px: a 48 px period may have no copy
        ys, xs = np.nonzero(found)
        ty, tx = ys + offsets[ys, xs, 0], xs + offsets[ys, xs, 1]
        assert not holes[ty, tx].any()
        assert np.array_equal(image[ys, xs], image[ty, tx])
        assert not offsets[~holes].any() and not found[~holes].any()


def test_copy_offsets_reports_pixels_without_a_known_copy():
    holes = np.ones((16, 16), bool)
    holes[0, 0] = False
    offsets, found = borrowing.copy_offsets(holes, (16, 16))
    assert not found.any() and not offsets.any()
    _, found = borrowing.copy_offsets(holes, (1, 1))
    assert found.sum() == 255


def test_held_out_names_state_index_and_period():
    items = borrowing.held_out_wallpapers(3, 32)
    for index, (name, image, group) in enumerate(items):
        expected = borrowing.wallpaper(borrowing.HELD_OUT_SEED, index, 32)
        assert group == "wallpapers" and np.array_equal(image, expected.image)
        assert name == f"wallpaper-{index:03d}-{expected.period[0]}x{expected.period[1]}"


def test_training_pool_of_wallpapers_is_the_train_seed_shuffled():
    pool = builtin_images.training_images(6, 32, seed=borrowing.TRAIN_SEED,
                                          synthetic=borrowing.wallpapers)
    expected = borrowing.wallpapers(borrowing.TRAIN_SEED, 6, 32)
    assert pool.shape == (6, 32, 32, 3)
    assert sorted(p.tobytes() for p in pool) == sorted(e.tobytes() for e in expected)


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=4), "size"),
    (dict(size=32, period_range=(4, 6)), "period_multiple"),
    (dict(size=32, period_range=(20, 10)), "period_multiple"),
    (dict(size=32, period_range=(17, 23)), "no multiple of 8"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        borrowing.wallpaper(0, 0, **kwargs)


def test_builtin_wallpapers_source_feeds_gi_train_the_same_images():
    from gi_tf.data.pipeline import DataConfig
    from gi_tf.data.pipeline import make_dataset

    config = DataConfig(source="builtin:wallpapers:6", image_size=32, seed=3).validate()
    batch = next(iter(make_dataset(config, 4)))
    images = np.round((batch.numpy() + 1.0) * 127.5).astype(np.uint8)
    expected = {w.tobytes() for w in borrowing.wallpapers(3, 6, 32)}
    assert images.shape == (4, 32, 32, 3)
    assert all(image.tobytes() in expected for image in images)
