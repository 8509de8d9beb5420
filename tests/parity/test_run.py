"""gi_tf against the authors' numbers recorded by gi-parity (tests/parity/fixtures/).

The fixture holds what the authors' v1.0.0 graph computed for seed 0 (losses, gradient
norms and seeded projections, output summaries and crops, offsets; see fixtures/README.md);
no authors' code is needed here. gi_tf recomputes the same cases from the same seeded
weights and inputs and must agree within :data:`gi_tf.parity.run.TOLERANCES`, so a drift
of gi_tf from the released code fails CI. The generator test goes through a TF1 checkpoint
file and gi_tf's importer, as gi-parity does.
"""

import copy
import json
import os

import pytest
import tensorflow as tf

from gi_tf.parity import compare
from gi_tf.parity import ours
from gi_tf.parity import run
from gi_tf.parity import weights as weights_lib

from references import tf1_reference as ref

FIXTURE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                            "parity_seed0.json")


@pytest.fixture(scope="module", autouse=True)
def true_float32():
    """The tolerances are float32 noise: no TF32 on GPUs that would use it (as gi-parity)."""
    before = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    yield
    tf.config.experimental.enable_tensor_float_32_execution(before)


@pytest.fixture(scope="module")
def fixture():
    with open(FIXTURE_PATH, encoding="utf-8") as handle:
        return json.load(handle)


def assert_rows_pass(rows):
    assert rows, "no rows"
    assert compare.all_passed(rows), "\n" + compare.format_table(rows)


def test_fixture_records_its_provenance(fixture):
    assert fixture["version"] == run.FIXTURE_VERSION
    assert fixture["seed"] == 0
    assert fixture["command"].startswith("gi-parity ")
    for sha in fixture["commits"].values():
        assert sha is not None and len(sha) == 40


def test_attention_matches_the_authors(fixture):
    rows = run.attention_fixture_rows(fixture["attention"], fixture["seed"])
    assert len(rows) == 2 * len(run.cases_lib.ATTENTION_CASES)
    assert_rows_pass(rows)


def test_generator_through_a_tf1_checkpoint_matches_the_authors(fixture, tmp_path):
    seed = fixture["seed"]
    arrays = weights_lib.draw_weights(ours.generator_names_and_shapes(), seed)
    prefix = ref.save_tf1_checkpoint(tmp_path, arrays)
    rows = run.generator_fixture_rows(fixture["generator"], seed, checkpoint=prefix)
    assert_rows_pass(rows)


def test_training_step_matches_the_authors(fixture):
    rows = run.training_fixture_rows(fixture["training"], fixture["seed"])
    assert {row.what.split()[1] for row in rows} >= {"l1_loss", "ae_loss", "g_loss",
                                                      "d_loss", "gp_loss"}
    assert_rows_pass(rows)


def test_a_drift_fails(fixture):
    """Moving one recorded number by more than the tolerance makes its row fail."""
    drifted = copy.deepcopy(fixture["attention"])
    name = run.cases_lib.ATTENTION_CASES[0].name
    summary = drifted[name]["y"]
    summary["projections"][0] += 10 * run.TOLERANCES["attention"] * summary["norm"] / (
        summary["size"] ** 0.5)
    offsets = compare.decode_array(drifted[name]["offsets"])
    offsets[0, 0, 0, 0] += 1
    drifted[name]["offsets"] = compare.encode_array(offsets)
    rows = run.attention_fixture_rows(drifted, fixture["seed"])
    failed = [row.what for row in rows if not row.passed]
    assert failed == [f"attention y (fixture): {name}", f"attention offsets (fixture): {name}"]


def test_a_fixture_of_another_version_is_refused(fixture):
    with pytest.raises(ValueError, match="fixture version"):
        run.fixture_rows({**fixture, "version": run.FIXTURE_VERSION + 1})
