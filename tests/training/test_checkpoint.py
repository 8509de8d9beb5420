"""Tests for gi_tf/training/checkpoint.py (restore rules, scratch saves of other workers).

The full training checkpoint (every weight, both optimizers, step, input position) is
exercised end to end by tests/cli/test_train.py (exact resume, generator loading).
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.training.checkpoint import INPUT_KEY
from gi_tf.training.checkpoint import Checkpointer
from gi_tf.training.checkpoint import has_input_state


def _iterator():
    return iter(tf.data.Dataset.range(100))


def test_input_position_is_saved_and_restored(tmp_path):
    iterator = _iterator()
    for _ in range(3):
        next(iterator)
    step = tf.Variable(3, dtype=tf.int64)
    prefix = Checkpointer({"step": step, INPUT_KEY: iterator}, str(tmp_path), str(tmp_path),
                          keep=1).save(3)
    assert has_input_state(prefix)
    fresh_step, fresh_iterator = tf.Variable(0, dtype=tf.int64), _iterator()
    restored = Checkpointer({"step": fresh_step, INPUT_KEY: fresh_iterator}, str(tmp_path),
                            str(tmp_path), keep=1).restore_latest()
    assert restored == prefix and int(fresh_step) == 3 and int(next(fresh_iterator)) == 3


def test_checkpoint_without_input_position_restores_the_rest(tmp_path):
    Checkpointer({"step": tf.Variable(7, dtype=tf.int64)}, str(tmp_path), str(tmp_path),
                 keep=1).save(7)
    step, iterator, notes = tf.Variable(0, dtype=tf.int64), _iterator(), []
    Checkpointer({"step": step, INPUT_KEY: iterator}, str(tmp_path), str(tmp_path),
                 keep=1).restore_latest(notes.append)
    assert int(step) == 7 and int(next(iterator)) == 0
    assert "no input position" in notes[0]


def test_a_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    Checkpointer({"weights": tf.Variable(np.zeros((3, 3), np.float32))}, str(tmp_path),
                 str(tmp_path), keep=1).save(1)
    other = Checkpointer({"weights": tf.Variable(np.zeros((4, 3), np.float32))},
                         str(tmp_path), str(tmp_path), keep=1)
    with pytest.raises(ValueError, match="Cannot resume from .*ckpt-1"):
        other.restore_latest()


def test_fresh_directory_restores_nothing(tmp_path):
    assert Checkpointer({"v": tf.Variable(1.0)}, str(tmp_path), str(tmp_path),
                        keep=1).restore_latest() is None


def test_other_workers_write_to_a_scratch_directory_and_remove_it(tmp_path):
    scratch = str(tmp_path / ".worker-1")
    checkpointer = Checkpointer({"v": tf.Variable(1.0)}, str(tmp_path), scratch, keep=2)
    assert checkpointer.is_scratch
    checkpointer.save(1)
    checkpointer.save(2)  # the manager recreates the scratch directory
    assert not os.path.exists(scratch) and os.listdir(tmp_path) == []


def test_keep_limits_the_checkpoints_and_the_index_names_the_newest(tmp_path):
    variable = tf.Variable(0.0)
    checkpointer = Checkpointer({"v": variable}, str(tmp_path), str(tmp_path), keep=2)
    for step in (1, 2, 3):
        variable.assign(float(step))
        checkpointer.save(step)
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".index")) == [
        "ckpt-2.index", "ckpt-3.index"]
    assert checkpointer.latest().endswith("ckpt-3")
