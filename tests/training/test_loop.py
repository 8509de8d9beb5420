"""Tests for gi_tf/training/loop.py: NaN stop with the last good checkpoint, progress."""

import os

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.data.builtin_images import textures as synthetic_textures
from gi_tf.data.pipeline import DataConfig
from gi_tf.models.config import ModelConfig
from gi_tf.training.config import LossConfig
from gi_tf.training.config import TrainConfig
from gi_tf.training.config import scaled_mask_config
from gi_tf.training.loop import LossWindow
from gi_tf.training.loop import Progress
from gi_tf.training.loop import format_duration
from gi_tf.training.loop import resume_seed
from gi_tf.training.loop import synthetic_step_batch
from gi_tf.training.loop import train
from gi_tf.training.loss_checks import ADVERSARIAL_TERMS
from gi_tf.training.loss_checks import CRITIC_TERMS
from gi_tf.training.loss_checks import TRAIN_TERMS
from gi_tf.training.loss_checks import NonFiniteLossError
from gi_tf.training.loss_checks import trained_terms

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


def test_loss_window_weights_each_read_by_its_steps():
    window = LossWindow()
    window.add({"a": 1.0, "b": 4.0})
    window.add({"a": 3.0, "b": 0.0}, steps=3)
    assert window.means() == {"a": 2.5, "b": 1.0}
    assert window.means() == {}


def _weights(gan):
    return [v.numpy() for v in gan.generator.weights + gan.local_critic.weights
            + gan.global_critic.weights + gan.g_optimizer.variables + gan.d_optimizer.variables]


def _textures_dataset(config):
    """Step batches of fixed textures, in a fixed order (no files)."""
    images = synthetic_textures(3, 4 * config.images_per_step, SIZE)
    images = images.reshape((4, config.images_per_step) + images.shape[1:])
    return tf.data.Dataset.from_tensor_slices(images.astype(np.float32) / 127.5 - 1.0).repeat()


@pytest.fixture(scope="module")
def four_steps(tmp_path_factory):
    """Weights after 4 steps at steps_per_loop 1 and 4 (log/summary/checkpoint at the end)."""
    results = {}
    for steps_per_loop in (1, 4):
        config = TrainConfig(image_size=SIZE, batch_size=2, critic_steps=1, max_steps=4,
                             steps_per_loop=steps_per_loop, checkpoint_every=100,
                             summary_every=100, log_every=100, summary_images=0,
                             mask=scaled_mask_config(SIZE))
        lines = []
        result = train(config, ModelConfig(), None,
                       str(tmp_path_factory.mktemp(f"loop{steps_per_loop}")),
                       dataset=_textures_dataset(config), log=lines.append)
        results[steps_per_loop] = (result, lines)
    return results


def test_several_steps_per_call_give_the_weights_of_one_step_per_call(four_steps):
    (one, _), (four, _) = four_steps[1], four_steps[4]
    assert one.step == four.step == 4
    for a, b in zip(_weights(one.model), _weights(four.model)):
        np.testing.assert_array_equal(a, b)
    # The logged means cover the same 4 steps either way.
    assert one.logs.keys() == four.logs.keys()
    for term in one.logs:
        np.testing.assert_allclose(one.logs[term], four.logs[term], rtol=1e-5)


def test_progress_lines_show_only_the_trained_terms(tmp_path):
    config = TrainConfig(image_size=SIZE, batch_size=2, critic_steps=0, max_steps=2,
                         loss=LossConfig(gan_weight=0.0), checkpoint_every=100,
                         summary_every=100, log_every=1, summary_images=0,
                         mask=scaled_mask_config(SIZE))
    lines = []
    result = train(config, ModelConfig(), None, str(tmp_path),
                   dataset=_textures_dataset(config), log=lines.append)
    progress = [line for line in lines if line.startswith("step ")]
    assert len(progress) == 2 and "steps/s" in progress[1] and "ETA" in progress[1]
    for line in progress:
        assert "hole_l1=" in line and "known_l1=" in line and "g_total=" in line
        assert not any(f" {term}=" in line for term in CRITIC_TERMS + ADVERSARIAL_TERMS)
    assert set(result.logs) == set(trained_terms(config))


def test_trained_terms_follow_critic_steps_and_the_gan_weight():
    assert trained_terms(TrainConfig()) == TRAIN_TERMS
    no_critic = TrainConfig(critic_steps=0)
    assert not set(CRITIC_TERMS) & set(trained_terms(no_critic))
    reconstruction = TrainConfig(critic_steps=0, loss=LossConfig(gan_weight=0.0))
    assert trained_terms(reconstruction) == ("hole_l1", "known_l1", "g_total")


def test_resume_seed_keeps_fresh_runs_and_varies_with_the_step():
    assert resume_seed(5, 0) == 5
    assert len({resume_seed(5, step) for step in (1, 2, 1000)}) == 3


def test_the_module_docstring_example_runs_as_written():
    import textwrap

    from gi_tf.training import loop as loop_module

    doc = loop_module.__doc__
    start = doc.index("through it (a runnable example")
    block = doc[doc.index("::\n", start) + 3:doc.index("\nData flow of")]
    namespace = {}
    exec(compile(textwrap.dedent(block), "gi_tf/training/loop.py docstring", "exec"),
         namespace)
    assert set(namespace["logs"]) == set(trained_terms(namespace["config"]))
    assert all(np.isfinite(value) for value in namespace["logs"].values())
    assert int(namespace["gan"].step_counter.numpy()) == 2
