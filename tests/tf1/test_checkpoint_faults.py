"""A damaged TF1 checkpoint (gi_tf/tf1/checkpoint.py): one ValueError naming it, never a
bare error from the reader (a truncated shard raised ``IndexError`` before)."""

import glob

import numpy as np
import pytest

from gi_tf.tf1 import checkpoint as tf1_checkpoint

from references import tf1_reference as ref


def test_a_truncated_data_shard_is_a_value_error_naming_the_checkpoint(tmp_path):
    arrays = {"inpaint_net/conv1/kernel": np.ones((5, 5, 5, 32)),
              "inpaint_net/conv1/bias": np.ones(32)}
    prefix = ref.save_tf1_checkpoint(tmp_path, arrays)
    (data,) = glob.glob(prefix + ".data-*")
    with open(data, "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(ValueError, match=f"Cannot read TF1 checkpoint '{prefix}'"):
        tf1_checkpoint.read_tf1_checkpoint(str(tmp_path))
