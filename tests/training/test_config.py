"""Tests for gi_tf/training/config.py: released defaults, validation, JSON round trip."""

import dataclasses
import json

import pytest

from gi_tf.data.masks import MaskConfig
from gi_tf.training.config import TRAIN_CONFIG_FILE
from gi_tf.training.config import LossConfig
from gi_tf.training.config import TrainConfig
from gi_tf.training.config import read_train_config
from gi_tf.training.config import scaled_mask_config


def test_defaults_are_the_released_settings():
    # inpaint.yml and train.py (the Adam optimiser) of v1.0.0
    config = TrainConfig()
    assert (config.learning_rate, config.beta_1, config.beta_2, config.epsilon) == (
        1e-4, 0.5, 0.9, 1e-8)
    assert (config.critic_steps, config.batch_size, config.image_size) == (5, 16, 256)
    assert config.fresh_critic_batches and config.resolved_local_size == 128
    loss = config.loss
    assert (loss.gamma, loss.coarse_weight, loss.l1_weight, loss.ae_weight) == (
        0.9, 1.2, 1.2, 1.2)
    assert (loss.gan_weight, loss.gp_weight, loss.global_wgan_weight) == (0.001, 10.0, 1.0)
    assert config.mixed_precision is None and not config.jit_compile
    config.validate()


def test_images_per_step_counts_every_update_batch():
    assert TrainConfig(batch_size=4, critic_steps=5).images_per_step == 24
    assert TrainConfig(batch_size=4, critic_steps=5,
                       fresh_critic_batches=False).images_per_step == 4
    assert TrainConfig(batch_size=4, critic_steps=0).images_per_step == 4


def test_scaled_mask_config_keeps_the_released_geometry_at_256():
    released = MaskConfig()  # 128x128 box, MAX_DELTA 32
    assert scaled_mask_config(256) == released
    small = scaled_mask_config(64, kind="free", free_ratio=0.2)
    assert (small.box_height, small.box_width, small.max_delta_height) == (32, 32, 8)
    assert (small.kind, small.free_ratio) == ("free", 0.2)


@pytest.mark.parametrize("field,value", [
    ("image_size", 60), ("image_size", 24), ("batch_size", 0), ("critic_steps", -1),
    ("learning_rate", 0.0), ("beta_2", 1.0), ("mixed_precision", "float16"),
    ("checkpoint_every", 0), ("local_size", 300), ("summary_images", -1),
])
def test_validate_names_the_bad_field(field, value):
    # checked where the config is made (__post_init__, replace too): it cannot exist
    with pytest.raises(ValueError, match=f"TrainConfig.{field}="):
        dataclasses.replace(TrainConfig(), **{field: value})


@pytest.mark.parametrize("field,value", [("gamma", 0.0), ("gamma", 1.5), ("gp_weight", -1.0),
                                         ("discount", "edge")])
def test_loss_validate_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=f"LossConfig.{field}="):
        dataclasses.replace(LossConfig(), **{field: value}).validate()


def test_batch_must_split_evenly_over_replicas():
    TrainConfig(batch_size=6).validate(num_replicas=3)
    with pytest.raises(ValueError, match="divisible by the number of replicas"):
        TrainConfig(batch_size=6).validate(num_replicas=4)


def test_masks_that_do_not_fit_the_image_are_rejected():
    with pytest.raises(ValueError, match="box_height"):
        TrainConfig(image_size=64).validate()  # the released 128 box at 64 px
    TrainConfig(image_size=64, mask=scaled_mask_config(64)).validate()


def test_write_and_read_round_trip_the_resolved_config(tmp_path):
    config = TrainConfig(image_size=64, batch_size=2, mask=scaled_mask_config(64, "mixed"),
                         loss=LossConfig(gamma=0.99, discount="distance"), seed=7)
    path = config.write(str(tmp_path))
    assert path.endswith(TRAIN_CONFIG_FILE)
    with open(path) as handle:
        assert json.load(handle)["local_size"] == 32  # None resolved to image_size // 2
    assert read_train_config(str(tmp_path)) == config.resolved()
    assert read_train_config(str(tmp_path / "missing")) is None


def test_from_dict_rejects_unknown_fields():
    values = TrainConfig().to_dict()
    values["critic_step"] = 3
    with pytest.raises(ValueError, match="critic_step"):
        TrainConfig.from_dict(values)
