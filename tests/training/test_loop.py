"""Tests for gi_tf/training/loop.py: NaN stop with the last good checkpoint, progress."""

import os

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.data.pipeline import DataConfig
from gi_tf.models.config import ModelConfig
from gi_tf.training.config import TrainConfig
from gi_tf.training.config import scaled_mask_config
from gi_tf.training.loop import LossWindow
from gi_tf.training.loop import Progress
from gi_tf.training.loop import format_duration
from gi_tf.training.loop import resume_seed
from gi_tf.training.loop import synthetic_step_batch
from gi_tf.training.loop import train
from gi_tf.training.loss_checks import NonFiniteLossError

SIZE = 32


def test_poisoned_batch_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    config = TrainConfig(image_size=SIZE, batch_size=2, critic_steps=1, max_steps=5,
                         checkpoint_every=2, summary_every=100, log_every=100,
                         summary_images=0, run_eagerly=True, mask=scaled_mask_config(SIZE))
    clean = synthetic_step_batch(config, seed=1).numpy()
    poisoned = clean.copy()
    poisoned[0, 5, 5, 0] = np.nan  # one pixel of the first critic batch of step 3
    dataset = tf.data.Dataset.from_tensor_slices(np.stack([clean, clean, poisoned, clean]))
    lines = []
    with pytest.raises(NonFiniteLossError, match="at step 3") as info:
        train(config, ModelConfig(), DataConfig(source="unused", image_size=SIZE),
              str(tmp_path), dataset=dataset, log=lines.append)
    assert info.value.term == "d_global"  # the first term computed from the bad pixel
    assert "Loss term 'd_global' is not finite" in str(info.value)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")
    assert not any(name.startswith("ckpt-3") for name in os.listdir(tmp_path))
    reader = tf.train.load_checkpoint(str(tmp_path / "ckpt-2"))
    for name, dtype in reader.get_variable_to_dtype_map().items():
        if dtype.is_floating:
            assert np.all(np.isfinite(reader.get_tensor(name))), name
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 2


def test_progress_line_reports_rates_and_eta():
    progress = Progress(step=10, max_steps=110, images_per_step=12)
    assert "compiling" in progress.line(10, {"g_total": 1.5})
    progress._time -= 20.0  # pretend 20 s passed for the next 10 steps
    line = progress.line(20, {"g_total": 1.5, "d_total": -2.0}, skipped=3)
    assert line.startswith("step 20/110 | 0.5 steps/s | 6 images/s | ETA 3m00s")
    assert "g_total=1.5 d_total=-2" in line and "skipped images 3" in line


@pytest.mark.parametrize("seconds,text", [(4.2, "4s"), (65, "1m05s"), (3725.2, "1h02m05s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_loss_window_averages_and_resets():
    window = LossWindow()
    window.add({"a": 1.0, "b": 4.0})
    window.add({"a": 3.0, "b": 0.0})
    assert window.means() == {"a": 2.0, "b": 2.0}
    assert window.means() == {}


def test_resume_seed_keeps_fresh_runs_and_varies_with_the_step():
    assert resume_seed(5, 0) == 5
    assert len({resume_seed(5, step) for step in (1, 2, 1000)}) == 3
