"""Which images a training source string names: folders, ``.flist`` files, TFRecord globs.

A *source* is what ``gi-train --data`` takes (``DataConfig.source``):

* a folder, searched recursively for :data:`IMAGE_EXTENSIONS` (any case);
* a ``.flist`` file, one image path per line, as the original's ``DATA_FLIST``;
* a TFRecord glob containing ``.tfrecord`` (shards written by ``gi-make-tfrecords``);
* ``builtin:textures`` or ``builtin:textures:<count>``: procedural textures
  (:func:`gi_tf.data.builtin_images.texture`), no files at all;
* ``builtin:wallpapers[:<count>]``: gi-demo's borrowing task
  (:func:`gi_tf.data.borrowing.wallpaper`), likewise.

Nothing here opens an image; :mod:`gi_tf.data.pipeline` reads and decodes them (and
:mod:`gi_tf.data.tfrecords` packs them), both counting the ones they could not read or
decode in a :class:`SkippedImages`.
"""

import logging
import os
import threading

import tensorflow as tf

from gi_tf.data.config import BUILTIN_SOURCES  # noqa: F401 (sources' names, defined TF-free)
from gi_tf.data.config import BUILTIN_TEXTURES
from gi_tf.data.config import BUILTIN_WALLPAPERS
from gi_tf.data.config import DEFAULT_TEXTURE_COUNT  # noqa: F401
from gi_tf.data.config import texture_count

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
ACCEPTED_SOURCES = ("expected a folder of images, a .flist file, a TFRecord glob such as "
                    "'shards/train-*.tfrecord', " + " or ".join(
                        f"'{name}[:<count>]'" for name in BUILTIN_SOURCES))

logger = logging.getLogger(__name__)


def source_kind(source):
    """``"builtin"``, ``"tfrecord"``, ``"flist"`` or ``"folder"`` for a source string."""
    if source.startswith("builtin:"):
        return "builtin"
    if ".tfrecord" in os.path.basename(source):
        return "tfrecord"
    if source.endswith(".flist"):
        return "flist"
    return "folder"


def _flist_root(flist, lines):
    """Folder the relative paths of a ``.flist`` are relative to (see list_image_files)."""
    own = os.path.dirname(os.path.abspath(flist))
    relative = next((line for line in lines if not os.path.isabs(line)), None)
    if relative is None or os.path.exists(os.path.join(own, relative)):
        return own
    return os.getcwd() if os.path.exists(relative) else own


def list_image_files(source):
    """List the images of a folder tree or a ``.flist`` file.

    Args:
        source: str, a folder (searched recursively for ``IMAGE_EXTENSIONS``, any
            case, following symbolic links) or a ``.flist`` file: one image path per
            line, blank lines ignored. Relative paths are relative to the ``.flist``'s
            folder, unless the first relative path exists only relative to the
            working directory (as the original's lists usually are written), then to
            the working directory.

    Returns:
        list of str paths (sorted for folders, file order for ``.flist``). Paths listed
        in a ``.flist`` are not opened here; missing ones are skipped and counted later.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if it holds no images.
    """
    if source.endswith(".flist"):
        if not os.path.isfile(source):
            raise FileNotFoundError(f"file list not found: {source}")
        with open(source, encoding="utf-8") as handle:
            lines = [line.strip() for line in handle if line.strip()]
        if not lines:
            raise ValueError(f"file list is empty: {source}")
        root = _flist_root(source, lines)
        return [os.path.join(root, line) for line in lines]
    if not os.path.isdir(source):
        raise FileNotFoundError(f"image source not found: {source} ({ACCEPTED_SOURCES})")
    paths = []
    for folder, _, names in os.walk(source, followlinks=True):
        paths.extend(os.path.join(folder, name) for name in names
                     if name.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {source}")
    return sorted(paths)


def list_tfrecord_files(pattern):
    """Sorted files matching a TFRecord glob; ``FileNotFoundError`` naming it if none."""
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no TFRecord files match: {pattern}")
    return files


def check_source(source):
    """Raise the error the input pipeline would for ``source`` (missing, empty), else None.

    gi-train calls it before it writes anything into the run directory.
    """
    kind = source_kind(source)
    if kind == "builtin":
        texture_count(source)
    elif kind == "tfrecord":
        list_tfrecord_files(source)
    else:
        list_image_files(source)


class SkippedImages:
    """Thread-safe count of a source's images that could not be read or decoded.

    Pass one to :func:`gi_tf.data.pipeline.make_dataset` (unreadable images are dropped
    from training) or :func:`gi_tf.data.tfrecords.write_tfrecords` (with ``verify``,
    undecodable images are left out of the shards), and log ``count``. A bad image is
    counted once per pass over the data. Pipelines of one process may share one counter;
    each worker process counts its own files.

    Attributes:
        count: int, number of skipped images so far.
        examples: list of str, the first ``max_examples`` skipped names.
    """

    def __init__(self, max_examples=10):
        self._lock = threading.Lock()
        self._max_examples = max_examples
        self.count = 0
        self.examples = []

    def record(self, name):
        """Count one skipped image called ``name`` (str or bytes) and log a warning."""
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        with self._lock:
            self.count += 1
            if len(self.examples) < self._max_examples:
                self.examples.append(name)
        logger.warning("Skipping unreadable or corrupt image: %s", name)

    def __int__(self):
        return self.count
