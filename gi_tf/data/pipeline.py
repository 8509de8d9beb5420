"""tf.data training input: image folders, ``.flist`` files, TFRecord shards, textures.

:func:`make_dataset` turns a :class:`DataConfig` (sources: :mod:`gi_tf.data.sources`,
shards: :mod:`gi_tf.data.tfrecords`) into a ``tf.data.Dataset`` of float32
``[B, image_size, image_size, 3]`` RGB batches in [-1, 1]: element counter ``k`` -> file
(a stateless per-epoch permutation) -> read and decode -> :func:`preprocess_image` (resize,
or upscale-if-small and random crop, as neuralgym's ``DataFromFNames``; optional flip,
seeded by ``k``) -> failed images dropped and counted in ``SkippedImages`` -> batch ->
prefetch. The stream is a function of (seed, pipeline, ``k``), so ``skip_batches`` resumes
it exactly; it raises only when none of a source's first images can be read.
"""


import numpy as np
import tensorflow as tf

from gi_tf.data import borrowing
from gi_tf.data import builtin_images
from gi_tf.data import sources
from gi_tf.data import tfrecords
from gi_tf.data.config import DataConfig
from gi_tf.data.sources import BUILTIN_TEXTURES
from gi_tf.data.sources import SkippedImages
from gi_tf.data.sources import list_image_files
from gi_tf.data.sources import list_tfrecord_files
from gi_tf.data.sources import source_kind

# Plain TensorFlow code (no tensor-dependent Python control flow): skipping AutoGraph's
# source conversion keeps tracing inside train steps and tf.data fast.
_plain_tf = tf.autograph.experimental.do_not_convert

# How many images make_dataset tries at start-up before deciding a source is unreadable.
PROBE_LIMIT = 64
_ENDLESS = 2 ** 62


@_plain_tf
def decode_rgb(encoded):
    """Encoded JPEG/PNG/BMP/GIF/WebP bytes -> uint8 ``[h, w, 3]`` RGB (first GIF frame)."""
    return tf.io.decode_image(encoded, channels=3, expand_animations=False)


@_plain_tf
def preprocess_image(image, image_size, random_crop, flip, seed):
    """One decoded image -> float32 ``[image_size, image_size, 3]`` in ``[-1, 1]``.

    Args:
        image: uint8 (or float in 0..255) ``[h, w, 3]``.
        image_size: int S.
        random_crop: bool. False: bilinear resize to ``S x S``. True: if a side is
            below S, scale by ``max(S/h, S/w)`` (sides rounded up, at least S), then
            crop a uniform ``S x S`` window; large images are not downscaled.
        flip: bool, flip left-right with probability 1/2.
        seed: int ``[2]`` tensor for the crop position and the flip.

    Returns:
        float32 ``[S, S, 3]``, ``x / 127.5 - 1``.

    Example:
        >>> out = preprocess_image(tf.fill([10, 40, 3], 255), 16, True, False, [0, 1])
        >>> out.shape, float(out[0, 0, 0])
        (TensorShape([16, 16, 3]), 1.0)
    """
    crop_seed, flip_seed = tf.unstack(
        tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2))
    image = tf.cast(image, tf.float32)
    if random_crop:
        shape = tf.shape(image)
        height, width = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
        scale = tf.maximum(image_size / height, image_size / width)
        # Rounded up as neuralgym; the 1e-6 keeps a limiting side of exactly S at S.
        new_size = tf.maximum(
            tf.cast(tf.math.ceil(tf.stack([height, width]) * scale - 1e-6), tf.int32),
            image_size)
        image = tf.cond(
            tf.logical_or(shape[0] < image_size, shape[1] < image_size),
            lambda: tf.image.resize(image, new_size, antialias=False),
            lambda: image)
        image = tf.image.stateless_random_crop(image, [image_size, image_size, 3], crop_seed)
    else:
        image = tf.image.resize(image, [image_size, image_size], antialias=False)
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    image = tf.ensure_shape(image, [image_size, image_size, 3])
    return image / 127.5 - 1.0


def _item_index(counter, count, seed, shuffle):
    """Index in ``[0, count)`` of element ``counter``: a fresh permutation per epoch."""
    count = tf.constant(count, tf.int64)
    position = counter % count
    if not shuffle:
        return position
    epoch_seed = tf.random.experimental.stateless_fold_in(seed, counter // count)
    return tf.random.experimental.index_shuffle(position, epoch_seed, count - 1)


class _Source:
    """One input pipeline's items: how to read item ``k`` and what to call it."""

    def __init__(self, config, pipelines, pipeline_id):
        self.config = config
        self.kind = source_kind(config.source)
        self.shuffle = config.shuffle_buffer > 0
        if self.kind == "builtin":
            items = list(range(sources.texture_count(config.source)))
        elif self.kind == "tfrecord":
            items = list_tfrecord_files(config.source)
        else:
            items = list_image_files(config.source)
        if self.kind != "tfrecord" and len(items) < pipelines:
            raise ValueError(f"{config.source} has {len(items)} images, fewer than the "
                             f"{pipelines} input pipelines")
        # TFRecords: shard files when there are enough, else records (in counted()).
        self.shard_records = self.kind == "tfrecord" and len(items) < pipelines
        self.items = items if self.shard_records else items[pipeline_id::pipelines]
        self.pipelines, self.pipeline_id = pipelines, pipeline_id

    def counted(self, seed, start, endless):
        """Dataset of ``(k, payload)``, ``k = start, start+1, ...``.

        The payload is a path, a texture index or a serialized record. ``endless``
        repeats epochs; otherwise the stream ends after one pass (:meth:`end`).
        """
        counters = tf.data.Dataset.range(start, _ENDLESS if endless else self.end())
        if self.kind != "tfrecord":
            table = tf.constant(self.items)
            return counters.map(_plain_tf(lambda k: (k, tf.gather(
                table, _item_index(k, len(self.items), seed, self.shuffle)))))
        files = tf.data.Dataset.from_tensor_slices(self.items)
        if self.shuffle:
            files = files.shuffle(len(self.items), seed=self.config.seed,
                                  reshuffle_each_iteration=True)
        records = files.interleave(tf.data.TFRecordDataset,
                                   cycle_length=min(len(self.items), 4),
                                   num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if self.shard_records:
            records = records.shard(self.pipelines, self.pipeline_id)
        if self.shuffle:
            records = records.shuffle(self.config.shuffle_buffer, seed=self.config.seed,
                                      reshuffle_each_iteration=True)
        if endless:  # after the shuffles: every epoch holds each record once
            records = records.repeat()
        return tf.data.Dataset.zip(counters, records.skip(start))

    def end(self):
        """Counter after one pass (files, textures); unknown for TFRecords (a bound)."""
        return _ENDLESS if self.kind == "tfrecord" else len(self.items)

    def read(self, payload):
        """uint8 ``[h, w, 3]`` RGB image of one payload (raises if unreadable)."""
        if self.kind == "builtin":
            size, seed = self.config.image_size, self.config.seed
            wallpapers = self.config.source.startswith(sources.BUILTIN_WALLPAPERS)

            def make(i):
                if wallpapers:
                    return borrowing.wallpaper(seed, int(i), size).image
                return builtin_images.texture(seed, int(i), size)

            image = tf.numpy_function(make, [payload], tf.uint8, stateful=False)
            return tf.ensure_shape(image, [size, size, 3])
        if self.kind == "tfrecord":
            return decode_rgb(tfrecords.parse_example(payload)[0])
        return decode_rgb(tf.io.read_file(payload))

    def name(self, counter, seed):
        """Human-readable name of element ``counter`` (for the skipped-image log)."""
        if self.kind == "tfrecord":
            return tf.strings.join([self.config.source, " (record ",
                                    tf.strings.as_string(counter), " of the stream)"])
        index = _item_index(counter, len(self.items), seed, self.shuffle)
        if self.kind == "builtin":
            dataset = ":".join(self.config.source.split(":")[:2])  # builtin:<name>
            return tf.strings.join([dataset, tf.strings.as_string(index)], ":")
        return tf.gather(tf.constant(self.items), index)

    def probe(self):
        """Raise ``ValueError`` if none of the first ``PROBE_LIMIT`` items can be read."""
        if self.kind == "builtin" or not tf.executing_eagerly():
            return
        errors = []
        first = self.counted(tf.constant([0, 0], tf.int64), 0, endless=False)
        for _, payload in first.take(PROBE_LIMIT):
            try:
                self.read(payload)
                return
            except (tf.errors.OpError, ValueError) as err:
                errors.append(getattr(err, "message", str(err)))
        raise ValueError(
            f"none of the first {len(errors)} images of {self.config.source} could be read "
            f"or decoded; first error: {errors[0] if errors else 'no records'}")


def _skip_counter(source, seed, skipped, first):
    """``scan`` function counting the gaps left by dropped elements."""
    def record(names):
        for name in names:
            skipped.record(name)
        return np.int64(len(names))

    @_plain_tf
    def count_gap(last, element):
        counter, image = element
        missing = tf.range(last + 1, counter)
        recorded = tf.cond(
            tf.size(missing) > 0,
            lambda: tf.numpy_function(
                record, [tf.map_fn(lambda k: source.name(k, seed), missing,
                                   fn_output_signature=tf.string)],
                tf.int64, stateful=True),
            lambda: tf.constant(0, tf.int64))
        with tf.control_dependencies([recorded]):
            counter = tf.identity(counter)
        return counter, (counter, image)

    return tf.constant(first - 1, tf.int64), count_gap


def make_dataset(config, batch_size, input_context=None, repeat=True, skipped=None,
                 skip_batches=0):
    """Build the training input pipeline for ``config``.

    Args:
        config: :class:`DataConfig`.
        batch_size: int, the **global** batch size; with ``input_context`` each pipeline
            batches ``input_context.get_per_replica_batch_size(batch_size)``.
        input_context: optional ``tf.distribute.InputContext`` (as passed by
            ``strategy.distribute_datasets_from_function``). Files and textures are
            sharded by pipeline; TFRecord files too when there are at least as many
            files as pipelines, else their records.
        repeat: bool; True: endless, full batches only (static batch size); False: one
            pass, keeping the last partial batch.
        skipped: optional :class:`SkippedImages`; unreadable images are counted there
            (and always logged).
        skip_batches: int >= 0, global batches of ``batch_size`` already consumed (e.g.
            the step restored from a checkpoint when each step takes one batch): the
            stream resumes exactly where such a run left off, as long as no image was
            skipped before that point (each skipped image shifts it by one).

    Returns:
        ``tf.data.Dataset`` of float32 ``[B, S, S, 3]`` RGB images in ``[-1, 1]``.

    Raises:
        FileNotFoundError: the source does not exist.
        ValueError: the source is empty or unreadable, has fewer images than input
            pipelines, or ``batch_size`` does not split evenly.
    """
    pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    local_batch = (input_context.get_per_replica_batch_size(batch_size) if input_context
                   else batch_size)
    if batch_size < 1 or batch_size % pipelines or skip_batches < 0:
        raise ValueError(f"batch_size={batch_size} must be >= 1 and divisible by the "
                         f"{pipelines} input pipelines; skip_batches={skip_batches} >= 0")
    source = _Source(config, pipelines, pipeline_id)
    source.probe()
    seed = tf.random.experimental.stateless_fold_in(
        tf.constant([config.seed, 0], tf.int64), pipeline_id)
    start = skip_batches * (batch_size // pipelines)
    parallel = tf.data.AUTOTUNE if config.num_parallel_calls == -1 else config.num_parallel_calls

    @_plain_tf
    def load(counter, payload):
        element_seed = tf.random.experimental.stateless_fold_in(seed, counter)
        image = preprocess_image(source.read(payload), config.image_size,
                                 config.random_crop, config.flip, element_seed)
        return counter, image

    dataset = source.counted(seed, start, endless=repeat)
    dataset = dataset.map(load, num_parallel_calls=parallel, deterministic=True)
    dataset = dataset.ignore_errors()
    if not repeat and source.kind != "tfrecord":
        # A sentinel after the last element lets the gap count see trailing failures.
        blank = tf.zeros([config.image_size] * 2 + [3])
        dataset = dataset.concatenate(tf.data.Dataset.from_tensors(
            (tf.constant(source.end(), tf.int64), blank)))
    counter = skipped if skipped is not None else SkippedImages()
    dataset = dataset.scan(*_skip_counter(source, seed, counter, start))
    if not repeat:
        dataset = dataset.filter(_plain_tf(lambda counter, image: counter < source.end()))
    dataset = dataset.map(_plain_tf(lambda counter, image: image))
    dataset = dataset.batch(local_batch, drop_remainder=repeat)
    return dataset.prefetch(tf.data.AUTOTUNE)


def make_synthetic_dataset(config, batch_size, input_context=None, repeat=True,
                           skip_batches=0):
    """:func:`make_dataset` for ``config.source = "builtin:textures[:N]"``."""
    if source_kind(config.source) != "builtin":
        raise ValueError(f"make_synthetic_dataset needs a '{BUILTIN_TEXTURES}' source, "
                         f"got {config.source!r}")
    return make_dataset(config, batch_size, input_context, repeat,
                        skip_batches=skip_batches)
