"""``ram://`` (TensorFlow's in-memory filesystem), answered from its exact stored paths.

TF 2.21's ``RamFileSystem`` is one process-wide map from path to content whose ``exists``,
``isdir``, ``stat`` and ``listdir`` match by string prefix (``ram://m/1`` "exists" when
``ram://m/10/x`` is stored), whose ``rename`` of a directory moves only its own entry, and
whose ``rmtree`` fails on such phantoms (each point is checked by tests/utils/test_files.py).
So this backend answers :func:`exists`, :func:`isdir`, :func:`isfile`, :func:`listdir`,
:func:`walk` and :func:`rmtree` from the exact stored paths found with ``glob``; the rest is
:mod:`gi_tf.utils.files.urls`, and a directory is published file by file.
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
