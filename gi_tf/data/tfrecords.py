"""TFRecord shards of encoded images: writing them, and parsing one record.

A shard is a TFRecord file of ``tf.train.Example`` records with two features:

* ``image/encoded``: the image file's bytes as stored on disk (JPEG, PNG, ... ; not
  re-encoded, so no quality is lost and shards are about as large as the images);
* ``image/filename``: the file's path relative to the source folder (or to the
  ``.flist`` file's folder), for error messages.

Shards are named ``<prefix>-00000-of-00008.tfrecord``; train from them with
``DataConfig(source="<prefix>-*.tfrecord")``. :func:`write_tfrecords` writes every
shard to a hidden temporary file next to it and renames the shards into place only when
all of them are complete, so an interrupted run never leaves a half-written shard under
the final name. Paths may be local or any filesystem ``tf.io.gfile`` knows (``gs://``).
"""

import os
import random

import tensorflow as tf

from gi_tf.data.sources import SkippedImages
from gi_tf.data.sources import list_image_files
from gi_tf.utils import files
from gi_tf.utils.progress import Progress

FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/filename": tf.io.FixedLenFeature([], tf.string, default_value=""),
}
SHARD_PATTERN = "{prefix}-{index:05d}-of-{count:05d}.tfrecord"


def parse_example(record):
    """Serialized ``tf.train.Example`` -> ``(encoded bytes, filename)`` string scalars."""
    features = tf.io.parse_single_example(record, FEATURES)
    return features["image/encoded"], features["image/filename"]


def make_example(encoded, filename):
    """``tf.train.Example`` holding an image file's bytes and its name (both ``bytes``)."""
    def feature(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    return tf.train.Example(features=tf.train.Features(feature={
        "image/encoded": feature(encoded), "image/filename": feature(filename)}))


def shard_paths(output_prefix, num_shards):
    """The file names :func:`write_tfrecords` uses for ``num_shards`` shards."""
    return [SHARD_PATTERN.format(prefix=output_prefix, index=i, count=num_shards)
            for i in range(num_shards)]


def _is_decodable(encoded):
    """True if TensorFlow (the training decoder) can decode ``encoded`` as an image."""
    try:
        tf.io.decode_image(encoded, channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        return False
    return True


def _existing_shards(output_prefix):
    return sorted(tf.io.gfile.glob(f"{output_prefix}-[0-9][0-9][0-9][0-9][0-9]-of-"
                                   "[0-9][0-9][0-9][0-9][0-9].tfrecord"))


def write_tfrecords(source, output_prefix, num_shards=1, shuffle_seed=0, verify=False,
                    overwrite=False, skipped=None, progress=False):
    """Pack the images of a folder tree or ``.flist`` file into TFRecord shards.

    Args:
        source: str, folder (searched recursively) or ``.flist`` file; see
            :func:`gi_tf.data.sources.list_image_files`.
        output_prefix: str, e.g. ``"data/train"``; missing parent folders are created.
        num_shards: int, ``1 .. number of images``. Image ``i`` (after shuffling) goes
            to shard ``i % num_shards``.
        shuffle_seed: int or None. An int shuffles the image order before sharding
            (recommended: the training pipeline shuffles records only within a buffer,
            and folders are usually sorted by class or scene); None keeps the listing
            order.
        verify: bool, decode every image with ``tf.io.decode_image`` and leave out (and
            count) the ones that fail; without it bytes are copied unchecked and the
            training pipeline skips bad records.
        overwrite: bool, replace existing ``<output_prefix>-NNNNN-of-NNNNN.tfrecord``
            shards (all of them, whatever their count). Without it existing shards are
            an error.
        skipped: optional :class:`gi_tf.data.sources.SkippedImages` counting left-out images.
        progress: bool, show progress (:class:`gi_tf.utils.progress.Progress`: a live line
            on a terminal, a plain line per 10% in a log).

    Returns:
        list of str, the shard paths written.

    Raises:
        FileNotFoundError: ``source`` or a listed image is missing.
        FileExistsError: shards with this prefix exist and ``overwrite`` is False.
        ValueError: ``num_shards`` is out of range, the source is empty, or every image
            failed verification.
    """
    paths = list_image_files(source)
    if not 1 <= num_shards <= len(paths):
        raise ValueError(f"num_shards={num_shards} must be in [1, {len(paths)}] "
                         f"(the number of images in {source})")
    old_shards = _existing_shards(output_prefix)
    if old_shards and not overwrite:
        raise FileExistsError(
            f"{len(old_shards)} shard(s) already exist for prefix {output_prefix} (e.g. "
            f"{old_shards[0]}); pass overwrite=True (--overwrite) to replace them")
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(paths)
    skipped = skipped if skipped is not None else SkippedImages()
    root = os.path.dirname(os.path.abspath(source)) if source.endswith(".flist") else source
    outputs = shard_paths(output_prefix, num_shards)
    bar = None
    if progress:
        bar = Progress(len(paths), unit="image")
    written = 0
    # Hidden temporary shards (gi_tf.utils.files), renamed into place only if all complete.
    with files.atomic_paths(outputs) as temporaries:
        writers = [tf.io.TFRecordWriter(path) for path in temporaries]
        try:
            for i, path in enumerate(paths):
                if not tf.io.gfile.exists(path):
                    raise FileNotFoundError(f"image listed in {source} not found: {path}")
                with tf.io.gfile.GFile(path, "rb") as handle:
                    encoded = handle.read()
                if verify and not _is_decodable(encoded):
                    skipped.record(path)
                else:
                    name = os.path.relpath(path, root).encode("utf-8")
                    writers[written % num_shards].write(
                        make_example(encoded, name).SerializeToString())
                    written += 1
                if bar is not None:
                    bar.update(i + 1)
        finally:
            for writer in writers:
                writer.close()
        if written < num_shards:
            raise ValueError(
                f"only {written} of {len(paths)} images in {source} could be decoded, "
                f"fewer than num_shards={num_shards}")
    for stale in sorted(set(old_shards) - set(outputs)):
        files.remove(stale, missing_ok=True)
    return outputs
