"""``ram://`` (TensorFlow's in-memory filesystem), answered from its exact stored paths.

What ``tf.io.gfile`` does on ``ram://`` (TF 2.21: ``RamFileSystem``,
``xla/tsl/platform/ram_file_system.h``; each point is checked by
``tests/utils/test_files.py``):

* it is one process-wide sorted map from path to content; ``makedirs`` adds an entry
  per path component, and writing ``ram://a/b/f`` needs no ``makedirs`` (``ram://a/b`` is
  then an implicit directory). Data lives as long as the process; no fsync, no
  permissions, and writing "under a file" (``ram://f/x`` with ``ram://f`` a file) works
  (the layer refuses it, as on a disk: its parent check sees the file);
* ``exists``, ``isdir`` and ``stat`` match by **string prefix**: with
  ``ram://m/10/saved_model.pb`` stored, ``exists("ram://m/1")`` and ``isdir("ram://m/1")``
  are True;
* ``listdir`` matches by string prefix too: it lists ``foo`` in ``ram://a/b`` when
  ``ram://a/bfoo`` exists, and leaves out implicit subdirectories; ``walk`` inherits both;
* ``glob`` matches whole stored paths (``*`` does not cross ``/``); implicit
  directories never match;
* ``rename`` moves one entry: a file correctly (``overwrite=False`` raises
  ``AlreadyExistsError``), a directory only its own entry, the files below keep their
  old names;
* ``rmtree`` follows the prefix listing and fails with ``NotFoundError`` on a phantom
  entry.

So this backend answers :func:`exists`, :func:`isdir`, :func:`isfile`, :func:`listdir`,
:func:`walk` and :func:`rmtree` from the exact stored paths (found with ``glob``, up to
64 levels below the path); the rest is :mod:`gi_tf.utils.files.urls` as is, and a
directory is published file by file. Code that calls ``tf.io.gfile`` itself
(``tf.train.CheckpointManager``, ``tf.saved_model``) sees the raw behaviour, which it
tolerates.
"""

import re

from gi_tf.utils.files.urls import RENAMES_DIRECTORIES
from gi_tf.utils.files.urls import copy_mode
from gi_tf.utils.files.urls import gfile
from gi_tf.utils.files.urls import glob
from gi_tf.utils.files.urls import makedirs
from gi_tf.utils.files.urls import open_read
from gi_tf.utils.files.urls import open_write
from gi_tf.utils.files.urls import remove
from gi_tf.utils.files.urls import rename
from gi_tf.utils.files.urls import sync_directory
from gi_tf.utils.files.urls import sync_file

__all__ = [  # the backend functions (as gi_tf.utils.files.local's), half of them urls'
    "RENAMES_DIRECTORIES", "copy_mode", "exists", "glob", "isdir", "isfile", "listdir",
    "makedirs", "open_read", "open_write", "remove", "rename", "rmtree", "sync_directory",
    "sync_file", "walk",
]

SCHEME = "ram://"
_MAX_DEPTH = 64


def _glob_escape(path):
    return re.sub(r"([*?\[])", r"[\1]", path)


def _stored_kind(path):
    """``None`` (no entry named ``path``), ``"file"`` or ``"dir"`` (a makedirs entry)."""
    path = path.rstrip("/")
    if path not in gfile().glob(_glob_escape(path)):
        return None
    return "dir" if gfile().stat(path).is_directory else "file"


def _stored_below(top, first_only=False):
    """The stored paths strictly below directory ``top`` (sorted); with ``first_only``,
    at most one (enough to know whether ``top`` holds anything)."""
    base = _glob_escape(top.rstrip("/"))
    keys = set()
    for depth in range(1, _MAX_DEPTH + 1):
        keys.update(gfile().glob(base + "/*" * depth))
        if first_only and keys:
            break
    return sorted(keys)


def exists(path):
    if not gfile().exists(path):
        return False
    return bool(_stored_kind(path) or _stored_below(path, first_only=True))


def isdir(path):
    if not gfile().isdir(path):
        return False
    kind = _stored_kind(path)
    return kind == "dir" or (kind is None and bool(_stored_below(path, first_only=True)))


def isfile(path):
    return _stored_kind(path) == "file"


def listdir(path):
    prefix = path.rstrip("/") + "/"
    return sorted({key[len(prefix):].split("/")[0] for key in _stored_below(path)})


def walk(top):
    """The tree below ``top`` from the stored paths (nothing when ``top`` is no directory)."""
    if not isdir(top):
        return
    top = top.rstrip("/")
    tree = {top: (set(), set())}
    for key in _stored_below(top):
        parts = key[len(top) + 1:].split("/")
        directory = top
        for part in parts[:-1]:
            tree[directory][0].add(part)
            directory = directory + "/" + part
            tree.setdefault(directory, (set(), set()))
        is_dir = gfile().stat(key).is_directory
        tree[directory][0 if is_dir else 1].add(parts[-1])
        if is_dir:
            tree.setdefault(key, (set(), set()))
    for directory in sorted(tree):
        subdirs, names = tree[directory]
        yield directory, sorted(subdirs), sorted(names)


def rmtree(path):
    """Remove every stored path below ``path``, deepest first, then ``path``'s own entry."""
    for key in sorted(_stored_below(path), key=len, reverse=True):
        gfile().remove(key)
    if _stored_kind(path):
        gfile().remove(path.rstrip("/"))
