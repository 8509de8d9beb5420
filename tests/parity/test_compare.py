"""Rows, measures, summaries and the table of gi-parity (NumPy only)."""

import numpy as np
import pytest

from gi_tf.parity import compare


def test_max_rel_is_relative_to_the_reference_scale():
    theirs = np.array([0.0, 2.0, -4.0])
    ours = np.array([1e-3, 2.0, -4.0])
    assert compare.max_abs(ours, theirs) == pytest.approx(1e-3)
    assert compare.max_rel(ours, theirs) == pytest.approx(1e-3 / 4.0)


def test_max_rel_of_zero_tensors():
    zeros = np.zeros(3)
    assert compare.max_rel(zeros, zeros) == 0.0
    assert compare.max_rel(zeros + 1e-9, zeros) == float("inf")


def test_tensor_row_over_dicts_takes_the_worst_tensor():
    theirs = {"a": np.ones(4), "b": np.full(4, 10.0)}
    ours = {"a": np.ones(4) + 1e-3, "b": np.full(4, 10.0) + 1e-3}
    row = compare.tensor_row("grads", ours, theirs, 1e-3)
    assert row.max_abs == pytest.approx(1e-3)
    assert row.max_rel == pytest.approx(1e-3)  # from "a"
    assert row.passed
    assert not compare.tensor_row("grads", ours, theirs, 5e-4).passed
    with pytest.raises(ValueError, match="one side only"):
        compare.tensor_row("grads", {"a": ours["a"]}, theirs, 1.0)


def test_offsets_row_counts_cells():
    theirs = np.zeros((2, 3, 3, 2), np.int32)
    ours = theirs.copy()
    ours[1, 2, 0, 1] = -1
    row = compare.offsets_row("offsets", ours, theirs)
    assert (row.max_abs, row.max_rel) == (1.0, pytest.approx(1 / 18))
    assert not row.passed
    assert compare.offsets_row("offsets", theirs, theirs).passed


def test_noise_floor_rows_never_fail():
    assert compare.Row("floor", 1.0, 1.0, None).passed


@pytest.mark.parametrize("relative_error", [1e-6, 1e-4, 1e-2])
def test_summary_error_estimates_the_relative_l2_error(relative_error):
    rng = np.random.default_rng(3)
    x = rng.normal(size=5000)
    d = rng.normal(size=5000)
    d *= relative_error * np.linalg.norm(x) / np.linalg.norm(d)
    estimate = compare.summary_error(compare.summary("t", x + d), compare.summary("t", x))
    # Four projections of a random direction: within a small factor of the true value.
    assert relative_error / 10 < estimate < relative_error * 10


def test_summary_projections_depend_on_the_name_only():
    x = np.arange(10.0)
    assert compare.summary("a", x) == compare.summary("a", x.copy())
    assert compare.summary("a", x)["projections"] != compare.summary("b", x)["projections"]
    assert compare.summary_error(compare.summary("a", x), compare.summary("a", x[:5])) == float(
        "inf")


def test_encode_array_round_trips_exactly():
    floats = np.array([[0.1, -1e-300, 3.0]])
    ints = np.array([[-3, 0, 7]], np.int32)
    assert np.array_equal(compare.decode_array(compare.encode_array(floats)), floats)
    decoded = compare.decode_array(compare.encode_array(ints))
    assert np.array_equal(decoded, ints) and decoded.shape == (1, 3)


def test_crop_around_centres_on_the_hole():
    x = np.arange(20 * 20).reshape(1, 20, 20, 1)
    mask = np.zeros((1, 20, 20, 1))
    mask[0, 10:14, 2:6] = 1
    crop = compare.crop_around(x, mask, 4)
    assert crop[0, 0, 0, 0] == x[0, 9, 1, 0]  # centre (11, 3) minus half the size (2)
    assert crop.shape == (1, 4, 4, 1)


def test_table_marks_failures():
    rows = [compare.Row("ok", 1e-7, 1e-7, 1e-5), compare.Row("bad", 1.0, 0.5, 1e-5),
            compare.Row("cells", 2.0, 0.25, 0, "count"), compare.Row("floor", 1e-7, 1e-7, None)]
    table = compare.format_table(rows)
    lines = table.splitlines()
    assert lines[0] == "| what | max abs diff | max rel diff | tolerance | pass |"
    assert lines[2].endswith("| yes |") and lines[3].endswith("| **NO** |")
    assert "2 cells | 25.0% | cells <= 0" in lines[4]
    assert lines[5].endswith("| (noise floor) | - |")
    assert not compare.all_passed(rows)
