"""Training checkpoints under faults (gi_tf/training/checkpoint.py): resume takes the latest
*complete* checkpoint, a killed save leaves nothing that is picked or kept, a failed save
(file too large / disk full) is one error naming the checkpoint and keeps the last good one.

Checkpoints here hold a few small variables and an input iterator (the Checkpointer does
not care what it saves); killing the real gi-train is tests/cli/test_train.py's
``test_killed_training_resumes_to_the_uninterrupted_result``.
"""

import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.models.checkpoints import DamagedCheckpointError
from gi_tf.training.checkpoint import INPUT_KEY
from gi_tf.training.checkpoint import Checkpointer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = 20_000


def _parts(value=0.0, position=0):
    iterator = iter(tf.data.Dataset.range(100))
    for _ in range(position):
        next(iterator)
    return {"weights": tf.Variable(np.full(SIZE, value, np.float32)),
            "step": tf.Variable(position, dtype=tf.int64), INPUT_KEY: iterator}


def _save_steps(directory, steps=(1, 2, 3), keep=3):
    """Checkpoints at ``steps``; the one of step s holds weights = s, input position s."""
    for step in steps:
        Checkpointer(_parts(float(step), step), directory, directory, keep).save(step)


def _restore(directory):
    """``(restored prefix, weights[0], step, next input element, log lines)``."""
    parts, lines = _parts(), []
    prefix = Checkpointer(parts, directory, directory, keep=3).restore_latest(lines.append)
    return (prefix, float(parts["weights"][0]), int(parts["step"]),
            int(next(parts[INPUT_KEY])), lines)


def _data(directory, step):
    (path,) = glob.glob(os.path.join(directory, f"ckpt-{step}.data-*"))
    return path


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _truncate(path):
    content = _read(path)
    with open(path, "wb") as handle:
        handle.write(content[: len(content) // 2])


def _flip_byte(path):
    content = bytearray(_read(path))
    content[len(content) // 2] ^= 0xFF
    with open(path, "wb") as handle:
        handle.write(bytes(content))


# How ckpt-3 (the newest) is damaged, and the words of the log line that skips it.
DAMAGE = {
    # the state file still names ckpt-3 (before the fix: "no checkpoint", a fresh start)
    "missing index": (lambda d: os.remove(os.path.join(d, "ckpt-3.index")),
                      "index file .* is missing"),
    # before the fix: a bare IndexError "Read less bytes than requested"
    "truncated data shard": (lambda d: _truncate(_data(d, 3)), "data is truncated"),
    # only a read finds it (checksum): before the fix "does not match this run's model"
    "flipped byte": (lambda d: _flip_byte(_data(d, 3)), "is damaged: .*[Cc]hecksum"),
    "missing data shard": (lambda d: os.remove(_data(d, 3)), "data file .* is missing"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_resume_falls_back_to_the_newest_complete_checkpoint(damage, tmp_path):
    directory = str(tmp_path)
    _save_steps(directory)
    make, words = DAMAGE[damage]
    make(directory)
    prefix, weights, step, element, lines = _restore(directory)
    assert prefix == os.path.join(directory, "ckpt-2")
    assert (weights, step, element) == (2.0, 2, 2)  # weights, counter and input of step 2
    assert any(line.startswith(f"skipping checkpoint {directory}/ckpt-3: ") and
               re.search(words, line) and line.endswith("using " + prefix)
               for line in lines), lines


def test_no_usable_checkpoint_stops_and_says_what_is_wrong_with_each(tmp_path):
    directory = str(tmp_path)
    _save_steps(directory, (1, 2))
    os.remove(os.path.join(directory, "ckpt-2.index"))
    _truncate(_data(directory, 1))
    with pytest.raises(DamagedCheckpointError, match="ckpt-2: its index file .* is missing; "
                       ".*ckpt-1: its data is truncated"):
        _restore(directory)
    assert sorted(os.listdir(directory)) == [  # nothing was deleted or overwritten
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
        "ckpt-2.data-00000-of-00001"]


def test_leftovers_of_a_killed_save_are_removed_on_resume(tmp_path):
    directory = str(tmp_path)
    _save_steps(directory, (1,))
    staging = tmp_path / "ckpt-2_temp"  # TF's staging directory of an interrupted save
    staging.mkdir()
    (staging / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 100)
    (tmp_path / ".train_config.json.tmp-4242-0123456789ab").write_text("{")  # file layer
    (tmp_path / "notes_temp").mkdir()  # not ours: kept
    prefix, _, step, _, lines = _restore(directory)
    assert prefix.endswith("ckpt-1") and step == 1
    assert sorted(os.listdir(directory)) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index", "notes_temp"]
    assert sum("left by an interrupted write" in line for line in lines) == 2


# A child process: one checkpoint, then a file-size limit (RLIMIT_FSIZE: write() fails
# with EFBIG, as it fails with ENOSPC on a full disk, in TensorFlow's C++ writer) and a
# second save.
FULL_DISK_CHILD = r"""
import json, resource, signal, sys
import numpy as np, tensorflow as tf
from gi_tf.training.checkpoint import Checkpointer
from gi_tf.utils import files
directory = sys.argv[1]
weights = tf.Variable(np.ones(250_000, np.float32))  # 1 MB of data
checkpointer = Checkpointer({"weights": weights}, directory, directory, keep=1)
checkpointer.save(1)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE,
                   (300_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
weights.assign(weights * 2)
try:
    checkpointer.save(2)
    print(json.dumps({"error": None}))
except files.FileWriteError as err:
    print(json.dumps({"error": str(err), "errno": err.errno, "filename": err.filename}))
"""


@pytest.mark.e2e
def test_a_failed_save_names_the_checkpoint_and_keeps_the_last_good_one(tmp_path):
    directory = str(tmp_path)
    process = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, directory],
                             capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
                             check=False, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert process.returncode == 0, process.stderr[-3000:]
    outcome = json.loads(process.stdout.strip().splitlines()[-1])
    prefix = os.path.join(directory, "ckpt-2")
    assert outcome["filename"] == prefix and outcome["errno"] == 27  # EFBIG
    assert outcome["error"] == f"cannot write {prefix}: File too large (writing the checkpoint)"
    # Nothing of ckpt-2 is left, ckpt-1 and the state file are untouched.
    assert sorted(os.listdir(directory)) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index"]
    weights = tf.Variable(np.zeros(250_000, np.float32))
    restored = Checkpointer({"weights": weights}, directory, directory, 1).restore_latest()
    assert restored.endswith("ckpt-1") and float(weights[0]) == 1.0
