"""Queries, reads, directories and removal: one backend per path, one error per failure.

:func:`backend` picks the backend of a path: :mod:`~gi_tf.utils.files.local` (plain
Python, no TensorFlow) for local paths, :mod:`~gi_tf.utils.files.ram` for ``ram://``,
:mod:`~gi_tf.utils.files.urls` (``tf.io.gfile``) for other URLs. Every operation turns
what the backend raises into one :class:`~gi_tf.utils.files.errors.FileError` naming
the path (a URL without TensorFlow included).
"""

import contextlib
import errno as errno_codes
import json
import os

from gi_tf.utils.files import local
from gi_tf.utils.files import ram
from gi_tf.utils.files import urls
from gi_tf.utils.files.errors import FileError
from gi_tf.utils.files.errors import FileReadError
from gi_tf.utils.files.errors import FileWriteError
from gi_tf.utils.files.errors import converted
from gi_tf.utils.files.errors import is_io_error
from gi_tf.utils.files.errors import make_error
from gi_tf.utils.files.paths import is_local
from gi_tf.utils.files.paths import scheme
from gi_tf.utils.files.paths import split_scheme


def backend(path):
    """The module serving ``path``: ``local``, ``ram`` or ``urls``."""
    if is_local(path):
        return local
    return ram if path.startswith(ram.SCHEME) else urls


def check_served(path, kind):
    """Raise one ``kind`` error naming ``path`` if nothing can serve it (a URL without
    TensorFlow), so a write says so before it starts."""
    if not is_local(path):
        with reported(kind, path):
            urls.gfile()


@contextlib.contextmanager
def reported(kind, path, step=None):
    """Run the block; an ``OSError`` / ``tf.errors.OpError`` / missing TensorFlow in it
    becomes one ``kind`` error naming ``path`` (a :class:`FileError` passes unchanged)."""
    try:
        yield
    except FileError:
        raise
    except urls.NeedsTensorFlow as err:
        cause = (f"{scheme(path)} paths are served by TensorFlow's tf.io.gfile and "
                 "TensorFlow is not installed (install it, or use a local path)")
        raise make_error(kind, os.fspath(path), cause, None, step) from err
    except Exception as err:
        if is_io_error(err):
            raise converted(err, kind, path, step) from err
        raise


# -- queries -------------------------------------------------------------------------------


def exists(path):
    """True when a file or directory exists at ``path``."""
    path = os.fspath(path)
    with reported(FileReadError, path):
        return backend(path).exists(path)


def isdir(path):
    """True when ``path`` is a directory."""
    path = os.fspath(path)
    with reported(FileReadError, path):
        return backend(path).isdir(path)


def isfile(path):
    """True when ``path`` exists and is not a directory."""
    path = os.fspath(path)
    with reported(FileReadError, path):
        return backend(path).isfile(path)


def listdir(path):
    """Sorted entry names of directory ``path`` (names only, no trailing ``/``).

    Raises:
        FileReadError: (a ``FileNotFoundError``) ``path`` is missing or not a directory.
    """
    path = os.fspath(path)
    with reported(FileReadError, path, "listing it"):
        if not isdir(path):
            raise make_error(FileReadError, path, "No such directory", errno_codes.ENOENT,
                             "listing it")
        return sorted(backend(path).listdir(path))


def glob(pattern):
    """Sorted paths matching ``pattern`` (``*``, ``?``, ``[...]``; not recursive)."""
    pattern = os.fspath(pattern)
    with reported(FileReadError, pattern, "matching the pattern"):
        return sorted(backend(pattern).glob(pattern))


def walk(top):
    """``(directory, subdirectory names, file names)`` for ``top`` and everything below,
    top-down, names sorted (as ``os.walk``; nothing for a missing ``top``)."""
    top = os.fspath(top)
    with reported(FileReadError, top, "listing it"):
        yield from backend(top).walk(top)


# -- reading -------------------------------------------------------------------------------


def read_bytes(path):
    """The content of file ``path``.

    Raises:
        FileReadError: missing (a ``FileNotFoundError``), a directory
            (``IsADirectoryError``) or unreadable; the message names ``path``.
    """
    path = os.fspath(path)
    with reported(FileReadError, path):
        if not exists(path):
            raise make_error(FileReadError, path, "No such file or directory",
                             errno_codes.ENOENT)
        if isdir(path):
            raise make_error(FileReadError, path, "Is a directory", errno_codes.EISDIR)
        with backend(path).open_read(path) as handle:
            return handle.read()


def read_text(path, encoding="utf-8"):
    """The content of file ``path`` decoded as ``encoding`` (UnicodeDecodeError if it is not)."""
    return read_bytes(path).decode(encoding)


def read_json(path):
    """The JSON value in file ``path``.

    Raises:
        FileReadError: as :func:`read_bytes`.
        ValueError: not valid JSON (the message names ``path``).
    """
    text = read_text(path)
    try:
        return json.loads(text)
    except ValueError as err:
        raise ValueError(f"{os.fspath(path)} is not valid JSON: {err}") from err


# -- directories and removal ---------------------------------------------------------------


def makedirs(path):
    """Create directory ``path`` and missing parents; fine if it already is a directory.

    Raises:
        FileWriteError: it cannot be created (e.g. ``NotADirectoryError`` when a parent
            is a regular file, ``FileExistsError`` when ``path`` is one).
    """
    path = os.fspath(path)
    if not path or (not is_local(path) and not split_scheme(path)[1].strip("/")):
        return path  # "" (the current directory) or a filesystem root
    step = "creating the directory"
    check_served(path, FileWriteError)
    with reported(FileWriteError, path, step):
        if isdir(path):
            return path
        if exists(path):
            raise make_error(FileWriteError, path, "exists and is not a directory",
                             errno_codes.EEXIST, step)
        backend(path).makedirs(path)
    return path


def remove(path, missing_ok=False):
    """Delete file ``path``.

    Raises:
        FileWriteError: it cannot be deleted, or it is missing and not ``missing_ok``.
    """
    path = os.fspath(path)
    check_served(path, FileWriteError)
    if missing_ok and not exists(path):
        return
    try:
        with reported(FileWriteError, path, "deleting it"):
            backend(path).remove(path)
    except FileWriteError:
        if missing_ok and not exists(path):
            return
        raise


def rmtree(path, missing_ok=False, ignore_errors=False):
    """Delete directory ``path`` and everything below it (as ``shutil.rmtree``).

    Args:
        missing_ok: a missing ``path`` is not an error.
        ignore_errors: no error at all (best-effort clean-up).
    """
    path = os.fspath(path)
    step = "deleting the directory"
    try:
        check_served(path, FileWriteError)
        with reported(FileWriteError, path, step):
            if not exists(path):
                if missing_ok:
                    return
                raise make_error(FileWriteError, path, "No such file or directory",
                                 errno_codes.ENOENT, step)
            backend(path).rmtree(path)
    except Exception:
        if ignore_errors:
            return
        raise
