"""The TF-vs-JAX comparison helpers (the JAX run itself needs a JAX-only venv)."""

import numpy as np
import pytest

from gi_tf.benchmarks import jax_check


def test_inputs_are_seeded_and_shaped_for_both_cases():
    a, b = jax_check.make_inputs(0), jax_check.make_inputs(0)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["features"].shape == (2, 24, 32, 16)
    assert a["image_holes"].shape == (2, 64, 96, 1) and a["image_holes"].max() == 1
    assert not np.array_equal(a["image_holes"][0], a["image_holes"][1])  # per-sample masks


def test_differences_report_floats_and_offsets():
    expected = {"c.y": np.zeros((1, 2, 2, 1)), "c.offsets": np.zeros((1, 2, 2, 2), "int32")}
    offsets = np.zeros((1, 2, 2, 2), "int32")
    offsets[0, 0, 1] = (1, 0)
    got = {"c": {"y": np.full((1, 2, 2, 1), 3e-6), "offsets": offsets}}
    report = jax_check.differences(expected, got)
    assert report["c.y"]["max_abs_diff"] == pytest.approx(3e-6)
    assert report["c.offsets"]["fraction_differing"] == 0.25
    assert jax_check.worst_float_difference(report) == pytest.approx(3e-6)
    with pytest.raises(ValueError, match="shape"):
        jax_check.differences(expected, {"c": {"y": np.zeros((2, 2))}})


def test_main_usage_error():
    with pytest.raises(SystemExit, match="usage"):
        jax_check.main(["jax_check", "nonsense"])


def test_jit_cases_are_compared_with_their_tf_case():
    expected = {"g.y": np.ones((1, 2))}
    report = jax_check.differences(expected, {"g_jit": {"y": np.ones((1, 2)) + 1e-7}})
    assert report["g_jit.y"]["max_abs_diff"] == pytest.approx(1e-7)
