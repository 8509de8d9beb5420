"""Atomic writes: a reader sees the old file or the new one, never a mix or a fragment.

Writing a file (:func:`write_bytes`, :func:`write_text`, :func:`write_json`,
:func:`atomic_path`, :func:`atomic_paths`):

1. missing parent directories are created;
2. the content goes to a temporary file **beside** the target
   (:func:`~gi_tf.utils.files.paths.temporary_path`: unique and hidden);
3. it is flushed and, on a local disk, ``fsync``-ed (an existing target's permission
   bits are copied onto it);
4. it is renamed over the target (locally ``os.replace``, i.e. ``rename(2)``: atomic),
   and locally the directory is then ``fsync``-ed too.

On any failure the temporary file is removed, an existing target is left as it was,
and ONE :class:`~gi_tf.utils.files.errors.FileWriteError` is raised naming the
**final** path, the cause and the step that failed. A process killed in the middle can
leave a temporary file behind (recognisable by ``is_temporary``, safe to delete), never
a half-written file under the final name.
"""

import contextlib
import errno as errno_codes
import json
import os

from gi_tf.utils.files.errors import FileError
from gi_tf.utils.files.errors import FileWriteError
from gi_tf.utils.files.errors import converted
from gi_tf.utils.files.errors import is_io_error
from gi_tf.utils.files.errors import make_error
from gi_tf.utils.files.errors import pseudo_filesystem_cause
from gi_tf.utils.files.operations import backend
from gi_tf.utils.files.operations import check_served
from gi_tf.utils.files.operations import exists
from gi_tf.utils.files.operations import isdir
from gi_tf.utils.files.operations import makedirs
from gi_tf.utils.files.operations import reported
from gi_tf.utils.files.operations import rmtree
from gi_tf.utils.files.paths import dirname
from gi_tf.utils.files.paths import temporary_path


def discard(temporary):
    """Remove a temporary file or directory, ignoring every error (clean-up path)."""
    try:
        if isdir(temporary):
            rmtree(temporary, ignore_errors=True)
        elif exists(temporary):
            backend(temporary).remove(temporary)
    except Exception:  # noqa: BLE001, S110 - clean-up must not hide the original error
        pass


def _mentions(err, temporary):
    if isinstance(err, OSError):
        return err.filename is not None and os.fspath(err.filename) == temporary \
            or temporary in str(err)
    return temporary in str(err)


def make_parent(path):
    """Create the parent directory of ``path``; a failure names ``path`` itself."""
    parent = dirname(path)
    if not parent:
        return parent
    try:
        makedirs(parent)
    except FileError as err:
        code = errno_codes.ENOTDIR if err.errno == errno_codes.EEXIST else err.errno
        cause = f"its directory {parent} cannot be created ({err.strerror})"
        if pseudo_filesystem_cause(path):
            cause = pseudo_filesystem_cause(path)
        raise make_error(FileWriteError, path, cause, code) from err
    return parent


def _check_target(path):
    if isdir(path):
        raise make_error(FileWriteError, path, "Is a directory", errno_codes.EISDIR)


@contextlib.contextmanager
def atomic_paths(paths):
    """Write several files all-or-nothing: yields one temporary path per target.

    The caller writes each temporary path (with any writer: ``tf.io.TFRecordWriter``,
    ``open``...). When the block ends normally every temporary file is synced and
    renamed over its target, in order; if the block raises, or a step fails, every
    temporary file is removed and no target is touched (a failure of a later rename
    leaves earlier targets already replaced, each one complete).

    Errors raised in the block pass through unchanged, except ``OSError``/``OpError``
    that name one of the temporary paths (a full disk while writing it): those become a
    :class:`FileWriteError` naming the matching target.

    Example::

        with files.atomic_paths(["out/a.tfrecord", "out/b.tfrecord"]) as (a, b):
            ...  # write a and b completely
    """
    paths = [os.fspath(p) for p in paths]
    temporaries = []
    current, step = (paths[0] if paths else None), "creating the directory"
    try:
        for current in paths:
            check_served(current, FileWriteError)
            _check_target(current)
            make_parent(current)
            temporaries.append(temporary_path(current))
        step = None
        try:
            yield list(temporaries)
        except Exception as err:
            named = [p for p, t in zip(paths, temporaries) if _mentions(err, t)]
            if named and is_io_error(err) and not isinstance(err, FileError):
                raise converted(err, FileWriteError, named[0],
                                "writing the temporary file") from err
            raise
        step = "flushing the temporary file to disk"
        for current, temporary in zip(paths, temporaries):
            if not exists(temporary):
                raise make_error(FileWriteError, current, "the temporary file was not written",
                                 errno_codes.ENOENT, step)
            backend(temporary).sync_file(temporary)
            backend(current).copy_mode(current, temporary)
        step = "renaming the temporary file into place"
        for current, temporary in zip(paths, temporaries):
            backend(current).rename(temporary, current, overwrite=True)
        for parent in sorted({dirname(p) for p in paths}):
            backend(parent).sync_directory(parent)
    except BaseException as err:
        for temporary in temporaries:
            discard(temporary)
        if step is not None and is_io_error(err) and not isinstance(err, FileError):
            raise converted(err, FileWriteError, current, step) from err
        raise


@contextlib.contextmanager
def atomic_path(path):
    """:func:`atomic_paths` for one file: yields its temporary path.

    Example::

        with files.atomic_path("out/data.tfrecord") as tmp:
            with tf.io.TFRecordWriter(tmp) as writer:
                ...
    """
    with atomic_paths([path]) as (temporary,):
        yield temporary


def _chunks(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
        return
    if isinstance(data, str):
        raise TypeError("write_bytes expects bytes (use write_text for str)")
    for chunk in data:  # an iterable of bytes-like chunks (streamed)
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"write_bytes chunks must be bytes-like, got {type(chunk).__name__}")
        yield bytes(chunk)


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (module doc); returns ``path`` as a str.

    Args:
        path: local or ``scheme://`` path; missing parent directories are created.
        data: bytes-like, or an iterable of bytes-like chunks (written as they come; if
            the iterable raises, nothing is written and the error passes through).

    Raises:
        FileWriteError: naming ``path`` and the cause (no space left, permission denied,
            not a directory, ...); the previous content of ``path`` is intact.
        TypeError: ``data`` is not bytes.
    """
    path = os.fspath(path)
    if isinstance(data, str):
        raise TypeError(f"cannot write {path}: write_bytes expects bytes, got str "
                        "(use write_text)")
    with atomic_path(path) as temporary:
        with reported(FileWriteError, path, "writing the temporary file"):
            with backend(temporary).open_write(temporary) as handle:
                for chunk in _chunks(data):
                    handle.write(chunk)
                handle.flush()
    return path


def write_text(path, text, encoding="utf-8"):
    """Write str ``text`` to ``path`` atomically (as :func:`write_bytes`); returns ``path``.

    Newlines are written as given (no platform translation).
    """
    if not isinstance(text, str):
        raise TypeError(f"cannot write {os.fspath(path)}: write_text expects str, got "
                        f"{type(text).__name__}")
    return write_bytes(path, text.encode(encoding))


def json_text(value, indent=2, sort_keys=True):
    """``value`` as the layer writes JSON: indented, sorted keys, trailing newline."""
    return json.dumps(value, indent=indent, sort_keys=sort_keys) + "\n"


def write_json(path, value, indent=2, sort_keys=True):
    """Write ``value`` as JSON (:func:`json_text`) to ``path`` atomically; returns ``path``.

    Raises:
        TypeError: ``value`` is not JSON-serialisable (nothing is written).
        FileWriteError: as :func:`write_bytes`.
    """
    return write_text(path, json_text(value, indent=indent, sort_keys=sort_keys))
