"""TensorBoard summaries of a training run: loss scalars and inpainting panels.

Scalars: every loss term of :data:`gi_tf.training.gan.TRAIN_TERMS` under ``loss/<term>``
(means over the steps since the previous summary), plus ``speed/steps_per_second`` and
``speed/images_per_second``. Panels: for a few training images, one row
``input | masked | coarse | refined | attention`` built with
:func:`gi_tf.utils.visualize.side_by_side` (the attention map is
:func:`gi_tf.utils.visualize.attention_map` of the generator's offsets), as uint8 RGB images
under ``panels/<i>``. Only the chief writes; other workers get a no-op writer.

The events are written with ``tf.summary.write`` and TensorBoard's plugin metadata
(``scalars``; ``images`` as ``[width, height, png]`` string tensors), so writing needs
no ``tensorboard`` package; viewing them does (``pip install tensorboard``). Event
files are written by TensorFlow through ``tf.io.gfile`` (any TF filesystem) and grow as
training runs, which TensorBoard expects; they are the one output not written atomically
through :mod:`gi_tf.utils.files`.
"""

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from gi_tf.data import masks as masks_lib
from gi_tf.training.draws import PANEL_SEED
from gi_tf.training.draws import update_seed
from gi_tf.utils import files
from gi_tf.utils import visualize
from gi_tf.utils.image_io import to_uint8_truncate

SUMMARY_SUBDIR = "train"
PANEL_LABELS = ("input", "masked", "coarse", "refined", "attention")


def _metadata(plugin_name, data_class):
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin_name),
        data_class=data_class)


SCALAR_METADATA = _metadata("scalars", summary_pb2.DATA_CLASS_SCALAR)
IMAGE_METADATA = _metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)


def write_scalar(tag, value, step):
    """One TensorBoard scalar (float32) under the default writer."""
    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step,
                     metadata=SCALAR_METADATA)


def write_image(tag, image, step):
    """One TensorBoard image from uint8 ``[H, W, 3]`` under the default writer."""
    height, width = int(image.shape[0]), int(image.shape[1])
    tensor = tf.stack([tf.constant(str(width)), tf.constant(str(height)),
                       tf.image.encode_png(image)])
    tf.summary.write(tag, tensor, step=step, metadata=IMAGE_METADATA)


class NullWriter:
    """Stands in for the summary writer on non-chief workers."""

    def scalars(self, values, step):
        del values, step

    def panels(self, panels, step):
        del panels, step

    def flush(self):
        pass

    def close(self):
        pass


class SummaryWriter:
    """Writes scalars and panels to ``model_dir/train`` (TensorBoard event files)."""

    def __init__(self, model_dir):
        self.directory = files.join(model_dir, SUMMARY_SUBDIR)
        self._writer = tf.summary.create_file_writer(self.directory)

    def scalars(self, values, step):
        """``values``: ``{tag: float}``, written at ``step``."""
        with self._writer.as_default(step=int(step)):
            for tag, value in values.items():
                write_scalar(tag, value, int(step))

    def panels(self, panels, step):
        """``panels``: list of uint8 ``[H, W, 3]`` images, written as ``panels/<i>``."""
        with self._writer.as_default(step=int(step)):
            for index, panel in enumerate(panels):
                write_image(f"panels/{index}", panel, int(step))

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()


def make_writer(model_dir, is_chief):
    return SummaryWriter(model_dir) if is_chief else NullWriter()


def loss_scalars(mean_logs, steps_per_second, images_per_second):
    """The scalar dict of one summary: ``loss/<term>`` and ``speed/*``."""
    values = {f"loss/{term}": value for term, value in mean_logs.items()}
    values["speed/steps_per_second"] = steps_per_second
    values["speed/images_per_second"] = images_per_second
    return values


def inpainting_panels(gan, images, step):
    """One ``input | masked | coarse | refined | attention`` row per image.

    Masks come from the run's :class:`~gi_tf.data.masks.MaskConfig` with a seed derived from
    ``step``, so panels of a resumed run match an uninterrupted one.

    Args:
        gan: an :class:`~gi_tf.training.gan.InpaintingGAN`.
        images: float ``[n, H, W, 3]`` RGB in [-1, 1] (a few training images).
        step: int, the training step (seeds the masks).

    Returns:
        list of n uint8 RGB arrays ``[h, w, 3]``.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    size = gan.config.image_size
    holes, _ = masks_lib.sample_masks(
        gan.config.mask, tf.shape(images)[0], size, size,
        update_seed(gan.config.seed, step, 0, PANEL_SEED))
    coarse, refined, _, offsets = gan.complete(images, holes, training=False)
    masked = images * (1.0 - holes) + holes  # holes drawn white
    as_uint8 = [to_uint8_truncate(np.asarray(x)) for x in (images, masked, coarse, refined)]
    attention = visualize.attention_map(np.asarray(offsets), (size, size))
    return [visualize.side_by_side([part[i] for part in as_uint8] + [attention[i]],
                                   labels=list(PANEL_LABELS))
            for i in range(int(images.shape[0]))]
