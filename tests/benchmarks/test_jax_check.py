"""The TF-vs-JAX check: its helpers, and its JAX side run where TensorFlow cannot be imported."""

import importlib.util
import json
import re

import numpy as np
import pytest

from gi_tf.benchmarks import jax_check

import without_tensorflow


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


@pytest.mark.parametrize("worst, status", [(2e-4, 1), (jax_check.TOLERANCE, 0), (5e-6, 0)])
def test_compare_fails_above_the_tolerance(monkeypatch, worst, status):
    report = {"g.y": {"max_abs_diff": worst, "max_abs_value": 1.0},
              "g.offsets": {"fraction_differing": 0.0}}
    monkeypatch.setattr(jax_check, "compare", lambda directory, cases: report)
    assert jax_check.main(["jax_check", "compare", "dir"]) == status


def test_unknown_cases_are_named():
    with pytest.raises(SystemExit, match="unknown case.*nonsense"):
        jax_check.main(["jax_check", "compare", "dir", "generator", "nonsense"])


# The JAX side where TensorFlow is not installed: layers, generator (build, call, load the
# TF side's .weights.h5), its model_config.json, `python -m gi_tf.benchmarks.jax_check compare`.
JAX_COMPARE = r"""
import os, runpy, sys
try:
    import tensorflow
except ModuleNotFoundError:
    print("tensorflow: not importable")
from gi_tf.models.config import ModelConfig
config = ModelConfig(attention_implementation="literal")
config.write(os.environ["CHECK_DIR"])  # model_config.json through the file layer
assert ModelConfig.read(os.environ["CHECK_DIR"]) == config
sys.argv = ["jax_check", "compare", os.environ["CHECK_DIR"], "attention_batched"]
try:
    runpy.run_module("gi_tf.benchmarks.jax_check", run_name="__main__")
finally:
    print("tensorflow loaded:", "tensorflow" in sys.modules)
"""


# The attention case only: the JAX side compiles every op of the first eager call, and the
# generator's ~60 s (2 loaded cores) are spent by CI's .ci/jax, which compares every case
# (generator, attention variants, jit) in a venv without TensorFlow.
@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="jax is not installed (pip install -e '.[test]' installs it)")
def test_compare_runs_under_jax_without_tensorflow(tmp_path):
    check_dir = tmp_path / "check"
    jax_check.save(str(check_dir), ["attention_batched"])  # TF side, here
    # XLA's optimisation level 0: the run is spent compiling (every op once, eagerly, and
    # the initialisers), not computing; the numbers stay within float32 noise.
    done = without_tensorflow.run(JAX_COMPARE, tmp_path / "site",
                                  {"KERAS_BACKEND": "jax", "CHECK_DIR": str(check_dir),
                                   "JAX_PLATFORMS": "cpu",
                                   "XLA_FLAGS": "--xla_backend_optimization_level=0"})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "tensorflow: not importable" and lines[-1] == "tensorflow loaded: False"
    worst = re.search(r"largest float difference TF vs JAX: (\S+)", done.stdout)
    assert worst and float(worst.group(1)) <= jax_check.TOLERANCE
    report = json.loads((check_dir / "jax_report.json").read_text())
    assert sorted(report["jax_seconds"]) == ["attention_batched"]
    assert report["attention_batched.y"]["max_abs_diff"] <= jax_check.TOLERANCE
    assert report["attention_batched.offsets"]["fraction_differing"] <= 0.01
