"""Local paths with plain Python I/O (``os``, ``shutil``, ``glob``): no TensorFlow needed.

One of the layer's two backends (the other, :mod:`gi_tf.utils.files.urls`, serves
``scheme://`` URLs through ``tf.io.gfile``). Both offer the same functions; the layer's
operations pick one per path and turn what they raise into one
:class:`~gi_tf.utils.files.errors.FileError`. Paths may be written ``file://...``:
the prefix is stripped here and put back on the paths :func:`glob` and :func:`walk`
return.

Here the atomic-write steps are real: :func:`sync_file` and :func:`sync_directory`
``fsync``, :func:`rename` is ``os.replace`` (``rename(2)``: a reader sees the old or
the new file, never a mix), and a directory moves in one :func:`rename`.
"""

import errno as errno_codes
import glob as globbing
import os
import shutil

from gi_tf.utils.files.paths import local_path
from gi_tf.utils.files.paths import split_scheme

RENAMES_DIRECTORIES = True  # a whole directory moves in one atomic rename(2)


def _with_prefix(like, path):
    """``path`` with the ``file://`` prefix of ``like`` (if it has one)."""
    return split_scheme(like)[0] + path


def exists(path):
    return os.path.exists(local_path(path))


def isdir(path):
    return os.path.isdir(local_path(path))


def isfile(path):
    return os.path.isfile(local_path(path))


def listdir(path):
    return os.listdir(local_path(path))


def glob(pattern):
    """Paths matching ``pattern`` (Python's :mod:`glob`: ``*`` skips dot-files)."""
    return [_with_prefix(pattern, path) for path in globbing.glob(local_path(pattern))]


def walk(top):
    """``os.walk`` top-down with sorted names (symbolic links to directories not followed)."""
    for directory, subdirs, names in os.walk(local_path(top)):
        subdirs.sort()  # visits subdirectories in this order
        yield _with_prefix(top, directory), list(subdirs), sorted(names)


def makedirs(path):
    os.makedirs(local_path(path), exist_ok=True)


def remove(path):
    os.remove(local_path(path))


def rmtree(path):
    shutil.rmtree(local_path(path))


def open_read(path):
    return open(local_path(path), "rb")  # noqa: SIM115 - the caller closes it


def open_write(path):
    """A new file for writing (binary); ``FileExistsError`` if the name is taken."""
    return open(local_path(path), "xb")  # noqa: SIM115 - the caller closes it


def rename(source, target, overwrite=False):
    """Move ``source`` to ``target``: ``os.replace`` (atomic) with ``overwrite``, else
    refused with ``FileExistsError`` when ``target`` exists."""
    source, target = local_path(source), local_path(target)
    if not overwrite and os.path.lexists(target):
        raise FileExistsError(errno_codes.EEXIST, os.strerror(errno_codes.EEXIST), target)
    os.replace(source, target)


def _fsync(path, flags):
    fd = os.open(local_path(path) or ".", flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_file(path):
    """Flush file ``path`` to the disk (``fsync``)."""
    _fsync(path, os.O_RDONLY)


def sync_directory(path):
    """Flush directory ``path``'s entries (best effort: some filesystems refuse it)."""
    try:
        _fsync(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        pass


def copy_mode(target, temporary):
    """Give ``temporary`` the permission bits of ``target`` (if ``target`` exists)."""
    try:
        mode = os.stat(local_path(target)).st_mode & 0o7777
    except FileNotFoundError:
        return
    os.chmod(local_path(temporary), mode)
