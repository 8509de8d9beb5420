"""Tests for gi_tf/training/summaries.py: events readable as TensorBoard scalars and images."""

import os

import numpy as np

from gi_tf.training import summaries

from event_files import read_events


def test_scalars_and_panels_are_written_with_tensorboard_plugin_metadata(tmp_path):
    writer = summaries.SummaryWriter(str(tmp_path))
    writer.scalars(summaries.loss_scalars({"g_total": 1.25, "gp": 0.5}, 2.0, 24.0), step=7)
    panel = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    writer.panels([panel], step=7)
    writer.close()
    events = read_events(os.path.join(str(tmp_path), summaries.SUMMARY_SUBDIR))
    assert events["loss/g_total"] == [(7, 1.25)] and events["loss/gp"] == [(7, 0.5)]
    assert events["speed/images_per_second"] == [(7, 24.0)]
    assert events[("plugin", "loss/gp")] == "scalars"
    assert events[("plugin", "panels/0")] == "images"
    step, image = events["panels/0"][0]
    assert step == 7 and np.array_equal(image, panel)


def test_null_writer_writes_nothing(tmp_path):
    writer = summaries.make_writer(str(tmp_path), is_chief=False)
    writer.scalars({"a": 1.0}, 1)
    writer.panels([np.zeros((4, 4, 3), np.uint8)], 1)
    writer.close()
    assert os.listdir(tmp_path) == []
