"""Damaged and foreign checkpoint files (gi_tf.models.checkpoints): the latest *complete*
checkpoint is used, and every reader says what is wrong and where.

Faults are made by hand on copies of one saved generator: a truncated ``.data`` shard, a
missing ``.index``, a state file naming a prefix whose files are gone, a flipped byte
inside a shard, a checkpoint of another model (critics only; a generator without the
attention branch under a config that wants it). The readers: ``load_generator`` /
``Inpainter.from_checkpoint``, ``gi-export``, ``gi-inpaint`` (in-process ``main``) and
``gi-app`` (one subprocess: it must fail before serving).
"""

import glob
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from gi_tf.cli import export as export_cli
from gi_tf.cli import inpaint as inpaint_cli
from gi_tf.inference.inpainter import Inpainter
from gi_tf.models import build_generator
from gi_tf.models.checkpoints import DamagedCheckpointError
from gi_tf.models.checkpoints import checkpoint_candidates
from gi_tf.models.checkpoints import checkpoint_problem
from gi_tf.models.checkpoints import latest_checkpoint
from gi_tf.models.checkpoints import load_generator
from gi_tf.models.checkpoints import resolve_checkpoint
from gi_tf.models.checkpoints import save_generator
from gi_tf.models.config import ModelConfig
from gi_tf.models.critics import LocalCritic

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A directory with two generator checkpoints, ckpt-1 and ckpt-2 (different weights)."""
    directory = str(tmp_path_factory.mktemp("run"))
    generator = build_generator()
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(generator=generator), directory,
                                         max_to_keep=None, checkpoint_name="ckpt")
    manager.save()
    kernel = generator.conv_layers()["conv1"].kernel
    kernel.assign(kernel + 1.0)
    manager.save()
    ModelConfig().write(directory)
    assert tf.train.latest_checkpoint(directory).endswith("ckpt-2")
    return directory


def _copy(run_dir, tmp_path):
    target = str(tmp_path / "copy")
    shutil.copytree(run_dir, target)
    return target


def _data(prefix):
    (path,) = glob.glob(prefix + ".data-*")
    return path


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _truncate(path, keep=0.5):
    content = _read(path)
    with open(path, "wb") as handle:
        handle.write(content[: int(len(content) * keep)])


def _flip_byte(path, offset=1000):
    content = bytearray(_read(path))
    content[offset] ^= 0xFF
    with open(path, "wb") as handle:
        handle.write(bytes(content))


def _conv1(generator):
    return generator.conv_layers()["conv1"].kernel.numpy()


# How the newest checkpoint (ckpt-2) is damaged, and what is said about it.
DAMAGE = {
    "truncated data shard": (lambda p: _truncate(_data(p)), "its data is truncated"),
    "missing data shard": (lambda p: os.remove(_data(p)), "its data file .* is missing"),
    "missing index": (lambda p: os.remove(p + ".index"), "its index file .* is missing"),
    "truncated index": (lambda p: _truncate(p + ".index", 0.3),
                        "its index file .* cannot be read"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(damage, run_dir, tmp_path):
    directory = _copy(run_dir, tmp_path)
    newest = os.path.join(directory, "ckpt-2")
    make, words = DAMAGE[damage]
    make(newest)
    assert checkpoint_problem(os.path.join(directory, "ckpt-1")) is None
    assert checkpoint_problem(newest) is not None
    with pytest.warns(UserWarning, match=f"skipping checkpoint {newest}: {words}"):
        assert resolve_checkpoint(directory) == os.path.join(directory, "ckpt-1")
    with pytest.raises(DamagedCheckpointError, match=f"{newest}.* cannot be used: .*{words}"):
        resolve_checkpoint(newest)


def test_candidates_include_a_complete_checkpoint_the_state_file_does_not_name(run_dir,
                                                                               tmp_path):
    # Killed after writing ckpt-2 but before the state file was updated.
    directory = _copy(run_dir, tmp_path)
    tf.compat.v1.train.update_checkpoint_state(directory, "ckpt-1")
    assert checkpoint_candidates(directory) == [os.path.join(directory, f"ckpt-{i}")
                                                for i in (2, 1)]
    assert latest_checkpoint(directory).endswith("ckpt-2")


def test_no_complete_checkpoint_is_an_error_listing_each(run_dir, tmp_path):
    directory = _copy(run_dir, tmp_path)
    os.remove(os.path.join(directory, "ckpt-2.index"))
    _truncate(_data(os.path.join(directory, "ckpt-1")))
    with pytest.raises(DamagedCheckpointError, match="No complete checkpoint in .*ckpt-2: "
                       "its index file .*missing.*ckpt-1: its data is truncated"):
        latest_checkpoint(directory)


def test_generator_loads_from_the_newest_complete_checkpoint(run_dir, tmp_path):
    directory = _copy(run_dir, tmp_path)
    os.remove(os.path.join(directory, "ckpt-2.index"))  # the state file still names it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inpainter = Inpainter.from_checkpoint(directory)
    assert inpainter.source.endswith("ckpt-1")
    expected = load_generator(os.path.join(run_dir, "ckpt-1"))[0]
    np.testing.assert_array_equal(_conv1(inpainter.generator), _conv1(expected))


def _foreign(tmp_path, kind):
    directory = str(tmp_path / kind)
    os.makedirs(directory)
    if kind == "critic only":
        critic = LocalCritic()
        critic.build((None, 64, 64, 3))
        tf.train.Checkpoint(local_critic=critic).save(os.path.join(directory, "ckpt"))
    else:  # the baseline generator, while model_config.json asks for attention
        save_generator(build_generator(use_attention=False), directory, ModelConfig())
    return directory


def _bit_flip(run_dir, tmp_path):
    directory = _copy(run_dir, tmp_path)
    _flip_byte(_data(os.path.join(directory, "ckpt-2")))
    return directory


# (make the model path, words the message must hold)
BAD_MODELS = {
    "critic only": (lambda r, t: _foreign(t, "critic only"),
                    "does not hold a gi_tf generator"),
    "other architecture": (lambda r, t: _foreign(t, "other architecture"),
                           "does not fit .*use_attention=True"),
    "flipped byte": (_bit_flip, "is damaged"),
    "truncated prefix": (lambda r, t: _truncated_prefix(r, t), "truncated"),
}


def _truncated_prefix(run_dir, tmp_path):
    prefix = os.path.join(_copy(run_dir, tmp_path), "ckpt-2")
    _truncate(_data(prefix))
    return prefix


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_load_generator_says_what_is_wrong_and_where(case, run_dir, tmp_path):
    make, words = BAD_MODELS[case]
    path = make(run_dir, tmp_path)
    with pytest.raises(ValueError, match=words) as info:
        Inpainter.from_checkpoint(path)
    message = str(info.value)
    assert path in message and len(message) < 1500, message


def _cli_flags(define, *args):
    values = flags.FlagValues()
    define(values)
    values(["binary", *args])
    return values


@pytest.mark.parametrize("case", ["critic only", "flipped byte"])
def test_gi_export_and_gi_inpaint_say_what_is_wrong(case, run_dir, tmp_path, capsys):
    make, words = BAD_MODELS[case]
    path = make(run_dir, tmp_path)
    with pytest.raises(SystemExit, match=f"gi-export: error: .*{words}"):
        export_cli.main(["gi-export"], _cli_flags(
            export_cli.define_flags, f"--checkpoint={path}",
            f"--export_dir={tmp_path / 'export'}"))
    assert not os.path.exists(tmp_path / "export" / "1")
    image, mask = tmp_path / "image.png", tmp_path / "mask.png"
    from gi_tf.utils.image_io import write_image_atomic

    write_image_atomic(str(image), np.full((16, 16, 3), 90, np.uint8))
    write_image_atomic(str(mask), np.pad(np.full((4, 4), 255, np.uint8), 6))
    with pytest.raises(SystemExit, match=f"gi-inpaint: error: cannot load .*{words}"):
        inpaint_cli.main(["gi-inpaint"], _cli_flags(
            inpaint_cli.define_flags, f"--model={path}", f"--image={image}",
            f"--mask={mask}", f"--output={tmp_path / 'out.png'}"))
    assert not os.path.exists(tmp_path / "out.png")


@pytest.mark.e2e
def test_gi_app_refuses_a_damaged_checkpoint_before_serving(run_dir, tmp_path):
    path = _truncated_prefix(run_dir, tmp_path)
    process = subprocess.run(
        [sys.executable, "-m", "gi_tf.cli.app", f"--model={path}", "--port=1"],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, check=False)
    assert process.returncode != 0
    output = process.stderr + process.stdout
    assert "its data is truncated" in output and path in output
    assert "Traceback" not in output


def test_a_mismatch_leaves_no_unrestored_values_warning_behind(tmp_path, caplog):
    import gc

    from gi_tf.models.checkpoints import CheckpointMismatchError
    from gi_tf.models.checkpoints import restore_checkpoint

    gc.collect()  # what earlier tests left: collected now, not below
    saved = tf.train.Checkpoint(v=tf.Variable(tf.zeros([3])), w=tf.Variable(tf.ones([2])))
    prefix = saved.save(str(tmp_path / "ckpt"))
    other = tf.train.Checkpoint(v=tf.Variable(tf.zeros([4])), w=tf.Variable(tf.zeros([2])))
    with pytest.raises(CheckpointMismatchError, match="incompatible tensor with shape"):
        restore_checkpoint(other, prefix)
    caplog.clear()
    with caplog.at_level("WARNING", logger="tensorflow"):
        del other
        gc.collect()
    assert not [r for r in caplog.records if "unrestored values" in r.getMessage()]
