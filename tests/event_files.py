"""Test helper: read TensorBoard event files back (scalars and image panels)."""

import glob
import os

import tensorflow as tf


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
