"""``scheme://`` URLs (``gs://``, ``s3://`` with the plug-in, ...) through ``tf.io.gfile``.

The layer's second backend (same functions as :mod:`gi_tf.utils.files.local`).
TensorFlow is imported on first use, so the layer imports, and serves local paths,
without it; a URL without TensorFlow is :class:`NeedsTensorFlow`, which the layer's
operations turn into one error naming the path.

Object stores have no fsync the layer could call (a file is complete once closed) and
no directory rename: :data:`RENAMES_DIRECTORIES` is False, so a directory is published
file by file (:mod:`gi_tf.utils.files.publish`). ``ram://`` has its own module,
:mod:`gi_tf.utils.files.ram`, on top of this one.
"""

RENAMES_DIRECTORIES = False  # object stores (and ram://) rename one file at a time


class NeedsTensorFlow(ImportError):
    """A URL was given and TensorFlow (``tf.io.gfile``) is not installed."""


def gfile():
    """``tf.io.gfile``; :class:`NeedsTensorFlow` if TensorFlow is not installed."""
    try:
        import tensorflow as tf  # lazy: local paths and `--help` never need TensorFlow
    except ImportError as err:
        raise NeedsTensorFlow("TensorFlow is not installed") from err
    return tf.io.gfile


def exists(path):
    return gfile().exists(path)


def isdir(path):
    return gfile().isdir(path)


def isfile(path):
    return gfile().exists(path) and not gfile().isdir(path)


def listdir(path):
    return [name.rstrip("/") for name in gfile().listdir(path)]


def glob(pattern):
    return gfile().glob(pattern)


def walk(top):
    for directory, subdirs, names in gfile().walk(top):
        yield directory, sorted(d.rstrip("/") for d in subdirs), sorted(names)


def makedirs(path):
    gfile().makedirs(path)


def remove(path):
    gfile().remove(path)


def rmtree(path):
    gfile().rmtree(path)


def open_read(path):
    return gfile().GFile(path, "rb")


def open_write(path):
    return gfile().GFile(path, "wb")


def rename(source, target, overwrite=False):
    gfile().rename(source, target, overwrite=overwrite)


def sync_file(path):
    """Nothing to do: a file on an object store is complete once closed."""


def sync_directory(path):
    """Nothing to do: object stores have no directory entries to flush."""


def copy_mode(target, temporary):
    """Nothing to do: no permission bits."""
