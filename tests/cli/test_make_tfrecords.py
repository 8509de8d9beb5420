"""Tests for the gi-make-tfrecords command line (gi_tf/cli/make_tfrecords.py)."""

import os

import cv2
import numpy as np
import pytest
from absl import flags

from gi_tf.cli import make_tfrecords


def _run(argv):
    flag_values = flags.FlagValues()
    make_tfrecords.define_flags(flag_values)
    argv = flag_values(["gi-make-tfrecords"] + argv)
    assert make_tfrecords.main(argv, flag_values) is None  # app.run exits with it


def test_writes_shards_and_reports_skipped(tmp_path, capsys):
    source = tmp_path / "img"
    source.mkdir()
    for i in range(3):
        cv2.imwrite(str(source / f"{i}.png"), np.full((4, 4, 3), i, np.uint8))
    (source / "bad.png").write_bytes(b"nope")
    _run([f"--input={source}", f"--output={tmp_path}/out/train", "--num_shards=2",
          "--verify", "--shuffle_seed=-1"])
    printed = capsys.readouterr().out
    outputs = [str(tmp_path / "out" / f"train-0000{i}-of-00002.tfrecord") for i in range(2)]
    assert sorted(os.listdir(tmp_path / "out")) == [os.path.basename(p) for p in outputs]
    assert all(os.path.getsize(p) > 0 and p in printed for p in outputs)
    assert "Left out 1 image" in printed and "bad.png" in printed


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="gi-make-tfrecords: error: image source not found"):
        _run([f"--input={tmp_path}/nothing", f"--output={tmp_path}/t"])


def test_required_flags():
    with pytest.raises(flags.IllegalFlagValueError, match="input"):
        _run(["--output=x"])
