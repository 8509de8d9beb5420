"""The file layer's errors: one exception per failure, naming the final path and the cause.

:class:`FileError` is an ``OSError`` with ``errno`` set where known and ``filename`` = the
path the caller gave (never a temporary name). Where the errno has a built-in
``OSError`` subclass the raised error is also one (``PermissionError``,
``FileNotFoundError``, ``NotADirectoryError``, ``IsADirectoryError``,
``FileExistsError``), so existing ``except PermissionError`` clauses keep working: that
is what the fifteen small classes below are, one per (kind, built-in) pair.

Causes come from an ``OSError`` (plain Python I/O on local paths) or from a
``tf.errors.OpError`` (``tf.io.gfile`` on URLs), whose message carries the C library's
``strerror`` text; :func:`converted` maps both.
"""

import errno as errno_codes
import os
import sys


class FileError(OSError):
    """A file operation of the layer failed; the message names the path and the cause.

    Attributes:
        errno: the errno where known (else None).
        strerror: the cause in words.
        filename: the path the operation was about (the final path, never a temporary).
        step: what was being done (e.g. ``"renaming the temporary file into place"``).
    """

    verb = "access"

    def __init__(self, path, cause, errno=None, step=None):
        super().__init__(errno, cause, path)
        self.step = step
        self.message = f"cannot {self.verb} {path}: {cause}" + (f" ({step})" if step else "")

    def __str__(self):
        return self.message

    def __reduce__(self):
        return make_error, (_KIND[type(self)], self.filename, self.strerror, self.errno,
                            self.step)


class FileWriteError(FileError):
    """Writing, creating, renaming or removing ``filename`` failed (nothing partial is left)."""

    verb = "write"


class FileReadError(FileError):
    """Reading or listing ``filename`` failed."""

    verb = "read"


# -- the same errors, also the built-in subclass of their errno --------------------------------


class FileError_PermissionError(FileError, PermissionError):
    """:class:`FileError` for ``EACCES`` / ``EPERM``."""


class FileError_FileNotFoundError(FileError, FileNotFoundError):
    """:class:`FileError` for ``ENOENT``."""


class FileError_FileExistsError(FileError, FileExistsError):
    """:class:`FileError` for ``EEXIST``."""


class FileError_NotADirectoryError(FileError, NotADirectoryError):
    """:class:`FileError` for ``ENOTDIR``."""


class FileError_IsADirectoryError(FileError, IsADirectoryError):
    """:class:`FileError` for ``EISDIR``."""


class FileWriteError_PermissionError(FileWriteError, PermissionError):
    """:class:`FileWriteError` for ``EACCES`` / ``EPERM``."""


class FileWriteError_FileNotFoundError(FileWriteError, FileNotFoundError):
    """:class:`FileWriteError` for ``ENOENT``."""


class FileWriteError_FileExistsError(FileWriteError, FileExistsError):
    """:class:`FileWriteError` for ``EEXIST``."""


class FileWriteError_NotADirectoryError(FileWriteError, NotADirectoryError):
    """:class:`FileWriteError` for ``ENOTDIR``."""


class FileWriteError_IsADirectoryError(FileWriteError, IsADirectoryError):
    """:class:`FileWriteError` for ``EISDIR``."""


class FileReadError_PermissionError(FileReadError, PermissionError):
    """:class:`FileReadError` for ``EACCES`` / ``EPERM``."""


class FileReadError_FileNotFoundError(FileReadError, FileNotFoundError):
    """:class:`FileReadError` for ``ENOENT``."""


class FileReadError_FileExistsError(FileReadError, FileExistsError):
    """:class:`FileReadError` for ``EEXIST``."""


class FileReadError_NotADirectoryError(FileReadError, NotADirectoryError):
    """:class:`FileReadError` for ``ENOTDIR``."""


class FileReadError_IsADirectoryError(FileReadError, IsADirectoryError):
    """:class:`FileReadError` for ``EISDIR``."""


_BUILTIN_FOR_ERRNO = {
    errno_codes.EACCES: PermissionError, errno_codes.EPERM: PermissionError,
    errno_codes.ENOENT: FileNotFoundError, errno_codes.EEXIST: FileExistsError,
    errno_codes.ENOTDIR: NotADirectoryError, errno_codes.EISDIR: IsADirectoryError,
}
# (kind, built-in) -> class, and the way back (pickling rebuilds from the names).
_CLASS = {cls.__bases__: cls for cls in (
    FileError_PermissionError, FileError_FileNotFoundError, FileError_FileExistsError,
    FileError_NotADirectoryError, FileError_IsADirectoryError,
    FileWriteError_PermissionError, FileWriteError_FileNotFoundError,
    FileWriteError_FileExistsError, FileWriteError_NotADirectoryError,
    FileWriteError_IsADirectoryError,
    FileReadError_PermissionError, FileReadError_FileNotFoundError,
    FileReadError_FileExistsError, FileReadError_NotADirectoryError,
    FileReadError_IsADirectoryError)}
_KIND = {FileError: "FileError", FileWriteError: "FileWriteError",
         FileReadError: "FileReadError"}
_KIND.update({cls: kind.__name__ for (kind, _), cls in _CLASS.items()})
_BY_NAME = {"FileError": FileError, "FileWriteError": FileWriteError,
            "FileReadError": FileReadError}


def make_error(kind, path, cause, errno=None, step=None):
    """The error of ``kind`` (a class or its name) for ``errno``: the built-in subclass
    where there is one (``make_error(FileReadError, p, "...", ENOENT)`` is a
    ``FileNotFoundError``)."""
    kind = _BY_NAME.get(kind, kind)
    builtin = _BUILTIN_FOR_ERRNO.get(errno)
    cls = kind if builtin is None else _CLASS[(kind, builtin)]
    return cls(path, cause, errno, step)


# -- causes -> errno ------------------------------------------------------------------------


_STRERROR_CODES = sorted(
    ((os.strerror(code), code) for code in (
        errno_codes.ENOSPC, errno_codes.EDQUOT, errno_codes.EACCES, errno_codes.EPERM,
        errno_codes.EROFS, errno_codes.ENOTDIR, errno_codes.EISDIR, errno_codes.ENOENT,
        errno_codes.EEXIST, errno_codes.ENOTEMPTY, errno_codes.EIO, errno_codes.EFBIG,
        errno_codes.ENAMETOOLONG, errno_codes.EMFILE, errno_codes.ENFILE, errno_codes.EXDEV,
        errno_codes.EBUSY, errno_codes.ELOOP, errno_codes.ETXTBSY)),
    key=lambda item: -len(item[0]))


def _op_error_class():
    """``tf.errors.OpError`` if TensorFlow is already imported, else None.

    Only ``tf.io.gfile`` raises these, so an error can be one only once TensorFlow is
    loaded: the layer never imports it to find out (local I/O works without it).
    """
    tf = sys.modules.get("tensorflow")
    errors = getattr(tf, "errors", None)
    return getattr(errors, "OpError", None)


def is_io_error(err):
    """True for the errors the layer converts: ``OSError`` and ``tf.errors.OpError``."""
    if isinstance(err, OSError):
        return True
    op_error = _op_error_class()
    return op_error is not None and isinstance(err, op_error)


def _errno_of_op_error(err):
    """errno for a ``tf.errors.OpError``: from the strerror text, else from its class."""
    text = str(getattr(err, "message", "") or err)
    for words, code in _STRERROR_CODES:
        if words.lower() in text.lower():
            return code
    errors = sys.modules["tensorflow"].errors
    by_class = [(errors.NotFoundError, errno_codes.ENOENT),
                (errors.PermissionDeniedError, errno_codes.EACCES),
                (errors.AlreadyExistsError, errno_codes.EEXIST),
                (errors.ResourceExhaustedError, errno_codes.ENOSPC)]
    for cls, code in by_class:
        if isinstance(err, cls):
            return code
    if "not a directory" in text.lower():
        return errno_codes.ENOTDIR
    if "is a directory" in text.lower():
        return errno_codes.EISDIR
    return None


def converted(err, kind, path, step=None):
    """``err`` (``OSError`` or ``tf.errors.OpError``) as one ``kind`` error naming ``path``."""
    if isinstance(err, FileError):
        return err
    if isinstance(err, OSError):
        code = err.errno
        cause = err.strerror or (os.strerror(code) if code else None) or str(err)
    else:
        code = _errno_of_op_error(err)
        cause = os.strerror(code) if code else (getattr(err, "message", "") or str(err))
    if kind is FileWriteError or kind == "FileWriteError":
        cause = pseudo_filesystem_cause(path) or cause
    return make_error(kind, os.fspath(path), cause, code, step)


# The kernel's pseudo-filesystems: a failed write under them says why ("No such file or
# directory" for /proc/out.png reads as if a folder were missing).
PSEUDO_FILESYSTEMS = ("/proc", "/sys")


def pseudo_filesystem_cause(path):
    """``"/proc is not a writable filesystem"`` for a local path under ``/proc`` or
    ``/sys``, else None.

    >>> pseudo_filesystem_cause("/proc/out.png")
    '/proc is not a writable filesystem'
    >>> pseudo_filesystem_cause("/tmp/out.png") is None
    True
    """
    try:
        path = os.fspath(path)
    except TypeError:
        return None
    if "://" in path or not path.startswith("/"):
        return None
    for top in PSEUDO_FILESYSTEMS:
        if path == top or path.startswith(top + "/"):
            return f"{top} is not a writable filesystem"
    return None


def write_error(err, path, step=None):
    """``err`` as one :class:`FileWriteError` naming ``path`` (returned, not raised).

    For writers the layer cannot wrap, such as TensorFlow's checkpoint writer: an
    ``OSError`` or ``tf.errors.OpError`` (``No space left on device``, ``Permission
    denied``, ...) gets the errno, the builtin subclass and the message of the layer's
    own errors.
    """
    return converted(err, FileWriteError, path, step)
