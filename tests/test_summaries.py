"""Tests for gi_tf/summaries.py: events readable as TensorBoard scalars and images."""

import glob
import os

import numpy as np
import tensorflow as tf

from gi_tf import summaries


def read_events(directory):
    """``{tag: [(step, value)]}`` of every event file under ``directory``.

    Scalars come back as floats, images as decoded uint8 arrays; the plugin name of the
    first value of each tag is kept under ``("plugin", tag)``.
    """
    found = {}
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                plugin = value.metadata.plugin_data.plugin_name
                found.setdefault(("plugin", value.tag), plugin)
                if plugin == "images":
                    width, height = int(tensor[0]), int(tensor[1])
                    item = tf.io.decode_png(tensor[2]).numpy()
                    assert item.shape == (height, width, 3)
                else:
                    item = float(tensor)
                found.setdefault(value.tag, []).append((event.step, item))
    return found


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
