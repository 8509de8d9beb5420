"""Tests for gi_tf.utils.visualize: the authors' offset colouring, in NumPy and in-graph.

Expected colours are derived here from the written definition of the wheel (the segment
lengths of ``make_color_wheel`` in ``inpaint_ops.py``, v1.0.0) and from the angle formula
``atan2(-dcol, -drow) / pi``, not by running the implementation's own helpers.
"""

import math

import numpy as np
import pytest

from gi_tf.utils import visualize as viz


def _expected_wheel():
    """The 55 wheel entries, written out segment by segment (``make_color_wheel``'s segments)."""
    entries = []
    for i in range(15):  # red -> yellow
        entries.append((255, math.floor(255 * i / 15), 0))
    for i in range(6):  # yellow -> green
        entries.append((255 - math.floor(255 * i / 6), 255, 0))
    for i in range(4):  # green -> cyan
        entries.append((0, 255, math.floor(255 * i / 4)))
    for i in range(11):  # cyan -> blue
        entries.append((0, 255 - math.floor(255 * i / 11), 255))
    for i in range(13):  # blue -> magenta
        entries.append((math.floor(255 * i / 13), 0, 255))
    for i in range(6):  # magenta -> red
        entries.append((255, 0, 255 - math.floor(255 * i / 6)))
    return np.array(entries, dtype=np.float64)


WHEEL = _expected_wheel()


def _wheel_position(drow, dcol):
    """0-based fractional wheel position: (a + 1) / 2 * 54 with a = atan2(-dcol, -drow)/pi.

    Python's atan2 honours signed zeros like NumPy: for dcol == 0 the original computes
    -dcol = -0.0, so a pure +drow offset gives atan2(-0.0, negative) = -pi, position 0.
    """
    a = math.atan2(-float(dcol) if dcol else -0.0, -float(drow)) / math.pi
    return (a + 1) / 2 * 54


def _colour(drow, dcol, rad=1.0, darken=False):
    """Exact (float64) colour in 0..255 for an offset with normalised radius ``rad``."""
    pos = _wheel_position(drow, dcol)
    k0 = math.floor(pos)
    f = pos - k0
    col = (1 - f) * WHEEL[k0] / 255 + f * WHEEL[(k0 + 1) % 55] / 255
    col = col * 0.75 if darken else 1 - rad * (1 - col)
    return 255 * col


def _assert_levels(actual, exact, slack=1e-9):
    """``actual`` equals floor(exact), allowing floor to land either side of an integer."""
    actual = np.asarray(actual, dtype=np.float64)
    low, high = np.floor(np.asarray(exact) - slack), np.floor(np.asarray(exact) + slack)
    assert np.all((actual == low) | (actual == high)), (actual, exact)


def _single(offset, max_offset=None):
    """A [1, 1, n, 2] offsets array: the offset, plus a max-radius offset if given."""
    items = [offset] + ([max_offset] if max_offset is not None else [])
    return np.array(items, dtype=np.int32).reshape(1, 1, len(items), 2)


def test_color_wheel_matches_segment_table():
    wheel = viz.color_wheel()
    assert wheel.shape == (55, 3) and wheel.dtype == np.float64
    np.testing.assert_array_equal(wheel, WHEEL)
    # Segment starts are the six pure hues: R, Y, G, C, B, M.
    starts = {0: (255, 0, 0), 15: (255, 255, 0), 21: (0, 255, 0), 25: (0, 255, 255),
              36: (0, 0, 255), 49: (255, 0, 255)}
    for index, rgb in starts.items():
        assert tuple(wheel[index]) == rgb
    assert tuple(wheel[54]) == (255, 0, 255 - 212)  # last entry, just before red again


def test_zero_offset_is_white():
    out = viz.offsets_to_rgb_numpy(np.zeros([2, 3, 4, 2], np.int32))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4, 3)
    assert np.all(out == 255)
    assert np.all(np.asarray(viz.offsets_to_rgb(np.zeros([2, 3, 4, 2], np.int32))) == 255)


@pytest.mark.parametrize(
    "offset, wheel_mix",
    [
        ((4, 0), {0: 1.0}),  # down: a = -1 (signed zero) -> red
        ((-4, 0), {27: 1.0}),  # up: a = 0 -> entry 27
        ((0, 4), {13: 0.5, 14: 0.5}),  # right: a = -1/2 -> halfway 13..14
        ((0, -4), {40: 0.5, 41: 0.5}),  # left: a = +1/2 -> halfway 40..41
    ],
)
def test_pure_directions_use_derived_wheel_entries(offset, wheel_mix):
    exact = sum(weight * WHEEL[k] for k, weight in wheel_mix.items())
    np.testing.assert_allclose(exact, _colour(*offset))  # the helper agrees with the table
    out = viz.offsets_to_rgb_numpy(_single(offset))[0, 0, 0]
    _assert_levels(out, exact)
    graph = np.asarray(viz.offsets_to_rgb(_single(offset)))[0, 0, 0].astype(int)
    assert np.all(np.abs(graph - out.astype(int)) <= 1)


def test_named_direction_colours_in_docstring():
    got = {o: tuple(viz.offsets_to_rgb_numpy(_single(o))[0, 0, 0]) for o in
           [(4, 0), (-4, 0), (0, 4), (0, -4)]}
    assert got[(4, 0)] == (255, 0, 0)
    assert got[(-4, 0)] == (0, 209, 255)
    assert got[(0, 4)] == (255, 229, 0)
    assert got[(0, -4)][1:] == (0, 255) and abs(int(got[(0, -4)][0]) - 88) <= 1


def test_half_radius_fades_towards_white():
    out = viz.offsets_to_rgb_numpy(_single((-2, 0), max_offset=(-4, 0)))[0, 0]
    _assert_levels(out[0], _colour(-2, 0, rad=0.5))
    assert tuple(out[0]) == (127, 232, 255)  # floor((255 + c) / 2) of (0, 209, 255)


def test_float64_rounding_darkens_some_max_offsets():
    # Normalising (19, 29) by its own float64 radius gives a radius just above 1, so the
    # original takes its "outside the circle" branch (x 0.75). (19, 28) does not.
    for pair, darken in [((19, 29), True), ((19, 28), False)]:
        r = math.sqrt(pair[0] ** 2 + pair[1] ** 2) + np.finfo(np.float64).eps
        rn = math.sqrt((pair[0] / r) ** 2 + (pair[1] / r) ** 2)
        assert (rn > 1) == darken
        x = _single(pair)
        out = viz.offsets_to_rgb_numpy(x)[0, 0, 0]
        _assert_levels(out, _colour(*pair, rad=min(rn, 1.0), darken=darken))
        graph = np.asarray(viz.offsets_to_rgb(x))[0, 0, 0].astype(int)
        assert np.all(np.abs(graph - out.astype(int)) <= 1), (pair, graph, out)


def test_running_max_uses_earlier_samples():
    big, small = np.zeros([1, 1, 2, 2], np.int32), np.zeros([1, 1, 2, 2], np.int32)
    big[0, 0, 1], small[0, 0, 1] = (-4, 0), (-2, 0)
    batch = np.concatenate([big, small])
    full, half = (0, 209, 255), (127, 232, 255)
    for fn in (viz.offsets_to_rgb_numpy, lambda x, r: np.asarray(viz.offsets_to_rgb(x, r))):
        running = fn(batch, True)
        assert tuple(running[0, 0, 1]) == full and tuple(running[1, 0, 1]) == half
        per_sample = fn(batch, False)
        assert tuple(per_sample[1, 0, 1]) == full
        # Order matters: a later, larger sample does not affect an earlier one.
        reversed_order = fn(batch[::-1], True)
        assert tuple(reversed_order[0, 0, 1]) == full and tuple(reversed_order[1, 0, 1]) == full


def test_unknown_offsets_count_as_zero():
    x = np.array([[[[0, 20_000_001], [-4, 0]]]], np.int32)
    for out in (viz.offsets_to_rgb_numpy(x), np.asarray(viz.offsets_to_rgb(x))):
        assert tuple(out[0, 0, 0]) == (255, 255, 255)
        assert tuple(out[0, 0, 1]) == (0, 209, 255)  # max radius is 4, not 2e7


@pytest.mark.smoke
@pytest.mark.parametrize("batch", [1, 2, 3, 5])
def test_in_graph_matches_numpy_within_one_level(batch):
    rng = np.random.default_rng(batch)
    quirks = [(19, 29), (38, 58), (-29, 19), (58, -38)]
    for trial in range(4):
        x = rng.integers(-40, 41, size=(batch, 6, 7, 2)).astype(np.int32)
        x[rng.random(x.shape[:3]) < 0.2] = 0
        x[trial % batch, 0, 0] = quirks[trial]  # a max-radius pixel the original darkens
        for running in (True, False):
            ref = viz.offsets_to_rgb_numpy(x, running).astype(int)
            got = np.asarray(viz.offsets_to_rgb(x, running)).astype(int)
            assert got.dtype.kind == "i" and got.shape == ref.shape
            assert np.abs(got - ref).max() <= 1
            assert np.mean(got == ref) > 0.95


@pytest.mark.smoke
def test_in_graph_under_tf_function_with_dynamic_dims():
    tf = pytest.importorskip("tensorflow")
    spec = tf.TensorSpec([None, None, None, 2], tf.int32)
    fn = tf.function(viz.offsets_to_rgb, input_signature=[spec])
    for shape in [(1, 3, 5, 2), (3, 4, 2, 2), (0, 2, 2, 2)]:
        x = np.random.default_rng(0).integers(-9, 10, size=shape).astype(np.int32)
        out = fn(tf.constant(x))
        assert out.dtype == tf.uint8 and tuple(out.shape) == shape[:3] + (3,)
        np.testing.assert_array_equal(out.numpy(), np.asarray(viz.offsets_to_rgb(x)))
        diff = np.abs(out.numpy().astype(int) - viz.offsets_to_rgb_numpy(x).astype(int))
        assert diff.size == 0 or diff.max() <= 1


def test_offsets_validation():
    with pytest.raises(ValueError, match="integer dtype"):
        viz.offsets_to_rgb(np.zeros([1, 2, 2, 2], np.float32))
    with pytest.raises(ValueError, match="shape"):
        viz.offsets_to_rgb(np.zeros([2, 2, 2], np.int32))
    with pytest.raises(ValueError, match="shape"):
        viz.offsets_to_rgb_numpy(np.zeros([1, 2, 2, 3], np.int32))
    with pytest.raises(ValueError, match="finite"):
        viz.offsets_to_rgb_numpy(np.full([1, 1, 1, 2], np.nan))


def test_upsample_nearest_duplicates_pixels():
    image = np.arange(6, dtype=np.uint8).reshape(2, 3)
    out = viz.upsample_nearest(image, 2)
    np.testing.assert_array_equal(out[:2, :2], np.zeros([2, 2]))
    np.testing.assert_array_equal(out[::2, ::2], image)
    assert out.shape == (4, 6) and out.dtype == np.uint8
    batch = np.zeros([2, 2, 3, 3], np.uint8)
    assert viz.upsample_nearest(batch, 3).shape == (2, 6, 9, 3)
    with pytest.raises(ValueError, match="factor"):
        viz.upsample_nearest(image, 0)
    with pytest.raises(ValueError, match="factor"):
        viz.upsample_nearest(image, 1.5)


def test_attention_map_resizes_by_duplication():
    x = np.random.default_rng(3).integers(-3, 4, size=(4, 4, 2)).astype(np.int32)
    out = viz.attention_map(x, (32, 32))
    expected = viz.upsample_nearest(viz.offsets_to_rgb_numpy(x[None])[0], 8)
    np.testing.assert_array_equal(out, expected)
    assert viz.attention_map(np.stack([x, x]), (8, 12)).shape == (2, 8, 12, 3)
    odd = viz.attention_map(x, (6, 10))
    assert odd.shape == (6, 10, 3)
    np.testing.assert_array_equal(odd[0, 0], expected[0, 0])
    with pytest.raises(ValueError, match="size"):
        viz.attention_map(x, (0, 4))


def test_legend_image():
    legend = viz.legend_image(65)
    assert legend.shape == (65, 65, 3) and legend.dtype == np.uint8
    assert tuple(legend[32, 32]) == (255, 255, 255)  # centre: attends to itself
    assert tuple(legend[0, 0]) == (255, 255, 255)  # outside the disc: background
    assert tuple(legend[32, 64]) == tuple(viz.offsets_to_rgb_numpy(_single((0, 4)))[0, 0, 0])
    assert tuple(legend[64, 32]) == (255, 0, 0)  # bottom rim: +drow -> red
    r, g, b = (int(c) for c in legend[32 + 20, 32 - 20])  # bottom-left: pink/magenta
    assert r > g and b > g
    r, g, b = (int(c) for c in legend[32 - 20, 32 + 20])  # top-right: green
    assert g > r and g > b
    assert viz.legend_image(16, background=0)[0, 0].tolist() == [0, 0, 0]
    with pytest.raises(ValueError):
        viz.legend_image(2)


def test_side_by_side_layout_and_labels():
    rgb = np.full([5, 4, 3], 10, np.uint8)
    grey = np.full([3, 2], 20, np.uint8)
    hole = np.zeros([5, 3], bool)
    hole[0, 0] = True
    panel = viz.side_by_side([rgb, grey, hole], pad=2)
    assert panel.shape == (5 + 4, 4 + 2 + 3 + 4 * 2, 3) and panel.dtype == np.uint8
    np.testing.assert_array_equal(panel[2:7, 2:6], rgb)
    np.testing.assert_array_equal(panel[2:5, 8:10, 1], grey)
    assert np.all(panel[5:7, 8:10] == 255)  # short image padded with background
    assert tuple(panel[2, 12]) == (255, 255, 255) and tuple(panel[3, 12]) == (0, 0, 0)

    labelled = viz.side_by_side([rgb, rgb], labels=["in", None], pad=1)
    assert labelled.shape == (16 + 5 + 2, 4 * 2 + 3, 3)
    assert np.any(labelled[1:17, 1:5] < 255)  # text drawn over the first image
    assert np.all(labelled[1:17, 6:10] == 255)  # no text over the second
    with pytest.raises(ValueError, match="uint8"):
        viz.side_by_side([rgb.astype(np.float32)])
    with pytest.raises(ValueError, match="labels"):
        viz.side_by_side([rgb], labels=["a", "b"])


def test_wrap_text_keeps_every_word_and_fits_the_width():
    lines = viz.wrap_text(viz.ATTENTION_LEGEND, 200)
    assert " ".join(lines).split() == viz.ATTENTION_LEGEND.split() and len(lines) > 3
    assert all(viz._text_width(line) <= 200 for line in lines if " " in line)
    assert viz.wrap_text("", 50) == []
    strip = viz.caption_strip("one two three four five six", 60)
    assert strip.shape == (16 * len(viz.wrap_text("one two three four five six", 60)), 60, 3)


def test_legend_panel_is_the_disc_beside_its_reading():
    panel = viz.legend_panel(300, 33)
    np.testing.assert_array_equal(panel[4:37, 4:37], viz.legend_image(33))
    text = panel[:, 45:]
    assert text.min() < 100 and panel.shape[1] == 300  # black text beside the disc
    rows = len(viz.wrap_text(viz.ATTENTION_LEGEND, 300 - 33 - 12))
    assert panel.shape[0] == max(33, 16 * rows) + 8
    with pytest.raises(ValueError, match="width must be at least"):
        viz.legend_panel(60, 33)


def test_legend_reading_names_the_colours_the_disc_shows():
    # "Red = from below, light blue = from above, yellow = from the right, violet = from the
    # left": check each against the disc's rim (offsets of maximum length).
    assert "Red = from below" in viz.ATTENTION_LEGEND and "violet = from the left" in \
        viz.ATTENTION_LEGEND
    disc = viz.legend_image(65).astype(int)
    below, above, right, left = disc[62, 32], disc[2, 32], disc[32, 62], disc[32, 2]
    assert below[0] > 200 and below[1] < 80 and below[2] < 80  # red
    assert above[0] < 80 and above[1] > 150 and above[2] > 200  # light blue
    assert right[0] > 200 and right[1] > 180 and right[2] < 80  # yellow
    assert left[0] < 150 and left[1] < 80 and left[2] > 200  # violet
    assert (disc[32, 32] == 255).all()  # white centre
