"""The file layer: every file gi_tf writes (and most it reads) goes through here.

Built on ``tf.io.gfile``, so a path may be local or on any filesystem TensorFlow knows
(``gs://``, ``s3://`` with the plug-in, TF's in-memory ``ram://``); local paths may also
be written ``file://...``. Nothing else in the package opens files for writing,
renames, removes or creates directories (``tests/test_file_writes.py`` checks that).

Writing a file (:func:`write_bytes`, :func:`write_text`, :func:`write_json`,
:func:`atomic_path`, :func:`atomic_paths`):

1. missing parent directories are created;
2. the content goes to a temporary file **beside** the target, named
   ``.<name>.tmp-<pid>-<random hex>`` (:func:`temporary_path`): unique, so two writers
   never share it, and hidden, so globs such as ``<prefix>-*`` or ``*.png`` and folder
   listings that skip dot-files never pick it up;
3. it is flushed, and on a local disk ``fsync``-ed (and an existing target's permission
   bits are copied onto it);
4. it is renamed over the target with ``tf.io.gfile.rename(tmp, path, overwrite=True)``
   (``rename(2)`` locally: atomic, a reader sees the old or the new file, never a mix);
   locally the directory is then ``fsync``-ed too.

On any failure the temporary file is removed, an existing target is left as it was,
and ONE :class:`FileWriteError` is raised whose message names the **final** path, the
cause (``No space left on device``, ``Permission denied``, ``Not a directory``...) and
the step that failed. It is an ``OSError`` with ``errno`` set where known (mapped from
``OSError`` and from ``tf.errors.OpError``, whose messages carry the C library's
``strerror`` text) and ``filename`` = the final path; where errno has a built-in
subclass it also is one (``PermissionError``, ``FileNotFoundError``,
``NotADirectoryError``, ``IsADirectoryError``, ``FileExistsError``), so existing
``except PermissionError`` clauses keep working. Reads raise :class:`FileReadError`
the same way (``FileNotFoundError`` for a missing file).

A process killed in the middle (SIGKILL, power loss after step 2) can leave a temporary
file behind, never a half-written file under the final name; such leftovers are
recognisable by :func:`is_temporary` and safe to delete.

Publishing a directory (:func:`publish_directory`, used for SavedModel versions): the
caller fills a hidden staging directory ``.<name>.tmp-<pid>-<hex>`` beside the target,
then it is moved into place. Locally that is one ``rename(2)`` of the directory: atomic,
a reader (TF Serving polling the base directory) sees the complete version or nothing;
an existing target is never replaced. Object stores (``gs://``, ``s3://``) and
``ram://`` have no directory rename (see below), so there the files are moved one by
one and the names in ``last`` (``saved_model.pb`` for a SavedModel) are moved last: the
target directory appears before it is complete, but the file that makes it loadable
comes last, and a failure part-way removes what was moved. A reader that polls such a
filesystem may therefore see a version directory without ``saved_model.pb`` for a
moment (TF Serving retries a failed load: ``--max_num_load_retries``).

What ``tf.io.gfile`` does on ``ram://`` (TF 2.21: ``RamFileSystem``,
``xla/tsl/platform/ram_file_system.h``; each point is checked by
``tests/utils/test_files.py``):

* it is one process-wide sorted map from path to content; ``makedirs`` adds an entry
  per path component, and writing ``ram://a/b/f`` needs no ``makedirs`` (``ram://a/b`` is
  then an implicit directory). Data lives as long as the process; no fsync, no
  permissions, and writing "under a file" (``ram://f/x`` with ``ram://f`` a file) works
  (this module refuses it, as on a disk: its parent check sees the file);
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

So on ``ram://`` this module answers :func:`exists`, :func:`isdir`, :func:`isfile`,
:func:`listdir`, :func:`walk` and :func:`rmtree` from the exact stored paths (found with
``glob``, up to 64 levels below the path), and :func:`publish_directory` moves files one
by one. Code that calls ``tf.io.gfile`` itself (``tf.train.CheckpointManager``,
``tf.saved_model``) sees the raw behaviour, which it tolerates. ``gs://`` and ``s3://``
list correctly; like ``ram://`` they cannot rename a directory in one step.
"""

import contextlib
import errno as errno_codes
import json
import os
import posixpath
import re
import uuid

__all__ = [
    "FileError", "FileReadError", "FileWriteError", "abspath", "atomic_path",
    "atomic_paths", "basename", "dirname", "exists", "glob", "is_local", "is_temporary",
    "isdir", "isfile", "join", "json_text", "listdir", "local_path", "makedirs",
    "publish_directory", "read_bytes", "read_json", "read_text", "remove", "rmtree",
    "temporary_path", "walk", "write_bytes", "write_error", "write_json", "write_text",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_TEMP_MARK = ".tmp-"
_TEMP_NAME = re.compile(r"^\..*\.tmp-\d+-[0-9a-f]{12}$")
_MAX_NAME_IN_TEMP = 100  # keeps temporary names below the usual 255-byte limit


def _tf():
    import tensorflow as tf  # lazy: `--help` of the command-line tools stays fast

    return tf


def _gfile():
    return _tf().io.gfile


# -- errors ------------------------------------------------------------------------------------


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
        return _rebuild_error, (_KIND_OF[type(self)], self.filename, self.strerror,
                                self.errno, self.step)


class FileWriteError(FileError):
    """Writing, creating, renaming or removing ``filename`` failed (nothing partial is left)."""

    verb = "write"


class FileReadError(FileError):
    """Reading or listing ``filename`` failed."""

    verb = "read"


_BUILTIN_FOR_ERRNO = {
    errno_codes.EACCES: PermissionError, errno_codes.EPERM: PermissionError,
    errno_codes.ENOENT: FileNotFoundError, errno_codes.EEXIST: FileExistsError,
    errno_codes.ENOTDIR: NotADirectoryError, errno_codes.EISDIR: IsADirectoryError,
}
_KIND_OF = {FileError: ("FileError", None), FileWriteError: ("FileWriteError", None),
            FileReadError: ("FileReadError", None)}
_CLASSES = {}
for _base in (FileError, FileWriteError, FileReadError):
    for _builtin in set(_BUILTIN_FOR_ERRNO.values()):
        _name = _base.__name__ + "_" + _builtin.__name__
        _cls = type(_name, (_base, _builtin), {"__module__": __name__, "__doc__": _base.__doc__})
        _CLASSES[(_base, _builtin)] = _cls
        _KIND_OF[_cls] = (_base.__name__, _builtin.__name__)
del _base, _builtin, _name, _cls


def _error_class(base, errno):
    builtin = _BUILTIN_FOR_ERRNO.get(errno)
    return base if builtin is None else _CLASSES[(base, builtin)]


def _rebuild_error(kind, path, cause, errno, step):
    base = {"FileError": FileError, "FileWriteError": FileWriteError,
            "FileReadError": FileReadError}[kind[0]]
    return _error_class(base, errno)(path, cause, errno, step)


def _make_error(base, path, cause, errno=None, step=None):
    return _error_class(base, errno)(path, cause, errno, step)


_STRERROR_CODES = sorted(
    ((os.strerror(code), code) for code in (
        errno_codes.ENOSPC, errno_codes.EDQUOT, errno_codes.EACCES, errno_codes.EPERM,
        errno_codes.EROFS, errno_codes.ENOTDIR, errno_codes.EISDIR, errno_codes.ENOENT,
        errno_codes.EEXIST, errno_codes.ENOTEMPTY, errno_codes.EIO, errno_codes.EFBIG,
        errno_codes.ENAMETOOLONG, errno_codes.EMFILE, errno_codes.ENFILE, errno_codes.EXDEV,
        errno_codes.EBUSY, errno_codes.ELOOP, errno_codes.ETXTBSY)),
    key=lambda item: -len(item[0]))


def _errno_of_op_error(err):
    """errno for a ``tf.errors.OpError``: from the strerror text, else from its class."""
    text = str(getattr(err, "message", "") or err)
    for words, code in _STRERROR_CODES:
        if words.lower() in text.lower():
            return code
    errors = _tf().errors
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


def _is_io_error(err):
    if isinstance(err, OSError):
        return True
    try:
        return isinstance(err, _tf().errors.OpError)
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        return False


def _converted(err, base, path, step=None):
    """``err`` (OSError or tf OpError) as one :class:`FileError` naming ``path``."""
    if isinstance(err, FileError):
        return err
    if isinstance(err, OSError):
        code = err.errno
        cause = err.strerror or (os.strerror(code) if code else None) or str(err)
    else:
        code = _errno_of_op_error(err)
        cause = os.strerror(code) if code else (getattr(err, "message", "") or str(err))
    return _make_error(base, os.fspath(path), cause, code, step)


def write_error(err, path, step=None):
    """``err`` as one :class:`FileWriteError` naming ``path`` (returned, not raised).

    For writers the layer cannot wrap, such as TensorFlow's checkpoint writer: an
    ``OSError`` or ``tf.errors.OpError`` (``No space left on device``, ``Permission
    denied``, ...) gets the errno, the builtin subclass and the message of the layer's
    own errors.
    """
    return _converted(err, FileWriteError, path, step)


# -- paths -------------------------------------------------------------------------------------


def _fspath(path):
    return os.fspath(path)


def _split_scheme(path):
    match = _SCHEME.match(path)
    return (match.group(0), path[match.end():]) if match else ("", path)


def is_local(path):
    """True for paths on this machine's filesystem (no ``scheme://``, or ``file://``)."""
    scheme, _ = _split_scheme(_fspath(path))
    return scheme in ("", "file://")


def local_path(path):
    """The OS path of a local ``path`` (``file://`` stripped); ValueError for others."""
    path = _fspath(path)
    scheme, rest = _split_scheme(path)
    if scheme == "":
        return path
    if scheme == "file://":
        return rest
    raise ValueError(f"{path} is not a local path")


def join(path, *parts):
    """``os.path.join`` that keeps ``scheme://`` prefixes (``join("ram://a", "b")``)."""
    return posixpath.join(_fspath(path), *map(_fspath, parts)) if not is_local(path) \
        else os.path.join(_fspath(path), *map(_fspath, parts))


def dirname(path):
    """The parent of ``path``: ``dirname("ram://a/b") == "ram://a"``,
    ``dirname("gs://bucket/x") == "gs://bucket"``; local paths as ``os.path.dirname``."""
    path = _fspath(path)
    scheme, rest = _split_scheme(path)
    if not scheme:
        return os.path.dirname(path)
    return scheme + posixpath.dirname(rest.rstrip("/"))


def basename(path):
    """The last component of ``path`` (trailing slashes ignored)."""
    _, rest = _split_scheme(_fspath(path))
    return posixpath.basename(rest.rstrip("/")) or rest


def abspath(path):
    """``os.path.abspath`` for local paths; other paths are returned unchanged."""
    path = _fspath(path)
    scheme, rest = _split_scheme(path)
    if scheme == "":
        return os.path.abspath(path)
    if scheme == "file://":
        return scheme + os.path.abspath(rest)
    return path


# -- queries -----------------------------------------------------------------------------------


# ram:// answers exists/isdir/listdir by string prefix (module doc), so there the layer
# works from the exact set of stored keys, found with glob (which matches whole keys).
_RAM_SCHEME = "ram://"
_RAM_MAX_DEPTH = 64


def _is_ram(path):
    return path.startswith(_RAM_SCHEME)


def _glob_escape(path):
    return re.sub(r"([*?\[])", r"[\1]", path)


def _ram_is_key(path):
    """``None`` (no key named ``path``), ``"file"`` or ``"dir"`` (a makedirs entry)."""
    path = path.rstrip("/")
    if path not in _gfile().glob(_glob_escape(path)):
        return None
    return "dir" if _gfile().stat(path).is_directory else "file"


def _ram_keys_below(top, first_only=False):
    """The keys strictly below ram:// directory ``top`` (sorted); with ``first_only``,
    at most one (enough to know whether ``top`` holds anything)."""
    base = _glob_escape(top.rstrip("/"))
    keys = set()
    for depth in range(1, _RAM_MAX_DEPTH + 1):
        keys.update(_gfile().glob(base + "/*" * depth))
        if first_only and keys:
            break
    return sorted(keys)


def exists(path):
    """True when a file or directory exists at ``path``."""
    path = _fspath(path)
    if not _gfile().exists(path):
        return False
    if _is_ram(path):
        return bool(_ram_is_key(path) or _ram_keys_below(path, first_only=True))
    return True


def isdir(path):
    """True when ``path`` is a directory."""
    path = _fspath(path)
    if not _gfile().isdir(path):
        return False
    if _is_ram(path):
        kind = _ram_is_key(path)
        return kind == "dir" or (kind is None and bool(_ram_keys_below(path, True)))
    return True


def isfile(path):
    """True when ``path`` exists and is not a directory."""
    path = _fspath(path)
    if _is_ram(path):
        return _ram_is_key(path) == "file"
    return _gfile().exists(path) and not _gfile().isdir(path)


def listdir(path):
    """Sorted entry names of directory ``path`` (names only, no trailing ``/``).

    Raises:
        FileReadError: (a ``FileNotFoundError``) ``path`` is missing or not a directory.
    """
    path = _fspath(path)
    try:
        if not isdir(path):
            raise _make_error(FileReadError, path, "No such directory", errno_codes.ENOENT,
                              "listing it")
        if _is_ram(path):
            prefix = path.rstrip("/") + "/"
            return sorted({key[len(prefix):].split("/")[0] for key in _ram_keys_below(path)})
        return sorted(name.rstrip("/") for name in _gfile().listdir(path))
    except FileError:
        raise
    except Exception as err:
        if _is_io_error(err):
            raise _converted(err, FileReadError, path, "listing it") from err
        raise


def glob(pattern):
    """Sorted paths matching ``pattern`` (``*``, ``?``, ``[...]``; not recursive)."""
    pattern = _fspath(pattern)
    try:
        return sorted(_gfile().glob(pattern))
    except FileError:
        raise
    except Exception as err:
        if _is_io_error(err):
            raise _converted(err, FileReadError, pattern, "matching the pattern") from err
        raise


def walk(top):
    """``(directory, subdirectory names, file names)`` for ``top`` and everything below,
    top-down, names sorted (as ``os.walk``; nothing for a missing ``top``)."""
    top = _fspath(top)
    if not _is_ram(top):
        for directory, subdirs, names in _gfile().walk(top):
            yield directory, sorted(d.rstrip("/") for d in subdirs), sorted(names)
        return
    if not isdir(top):
        return
    top = top.rstrip("/")
    tree = {top: (set(), set())}
    for key in _ram_keys_below(top):
        parts = key[len(top) + 1:].split("/")
        directory = top
        for part in parts[:-1]:
            tree[directory][0].add(part)
            directory = directory + "/" + part
            tree.setdefault(directory, (set(), set()))
        is_dir = _gfile().stat(key).is_directory
        tree[directory][0 if is_dir else 1].add(parts[-1])
        if is_dir:
            tree.setdefault(key, (set(), set()))
    for directory in sorted(tree):
        subdirs, names = tree[directory]
        yield directory, sorted(subdirs), sorted(names)


# -- directories and removal ---------------------------------------------------------------------


def makedirs(path):
    """Create directory ``path`` and missing parents; fine if it already is a directory.

    Raises:
        FileWriteError: it cannot be created (e.g. ``NotADirectoryError`` when a parent
            is a regular file, ``FileExistsError`` when ``path`` is one).
    """
    path = _fspath(path)
    if not path or (not is_local(path) and not _split_scheme(path)[1].strip("/")):
        return path  # "" (the current directory) or a filesystem root
    try:
        if isdir(path):
            return path
        if exists(path):
            raise _make_error(FileWriteError, path, "exists and is not a directory",
                              errno_codes.EEXIST, "creating the directory")
        _gfile().makedirs(path)
    except FileError:
        raise
    except Exception as err:
        if _is_io_error(err):
            raise _converted(err, FileWriteError, path, "creating the directory") from err
        raise
    return path


def remove(path, missing_ok=False):
    """Delete file ``path``.

    Raises:
        FileWriteError: it cannot be deleted, or it is missing and not ``missing_ok``.
    """
    path = _fspath(path)
    try:
        if missing_ok and not exists(path):
            return
        _gfile().remove(path)
    except FileError:
        raise
    except Exception as err:
        if _is_io_error(err):
            if missing_ok and not exists(path):
                return
            raise _converted(err, FileWriteError, path, "deleting it") from err
        raise


def rmtree(path, missing_ok=False, ignore_errors=False):
    """Delete directory ``path`` and everything below it (as ``shutil.rmtree``).

    Args:
        missing_ok: a missing ``path`` is not an error.
        ignore_errors: no error at all (best-effort clean-up).
    """
    path = _fspath(path)
    try:
        if not exists(path):
            if missing_ok or ignore_errors:
                return
            raise _make_error(FileWriteError, path, "No such file or directory",
                              errno_codes.ENOENT, "deleting the directory")
        if _is_ram(path):  # gfile.rmtree follows ram://'s prefix listing (module doc)
            for key in sorted(_ram_keys_below(path), key=len, reverse=True):
                _gfile().remove(key)
            if _ram_is_key(path):
                _gfile().remove(path.rstrip("/"))
        else:
            _gfile().rmtree(path)
    except Exception as err:
        if ignore_errors:
            return
        if _is_io_error(err) and not isinstance(err, FileError):
            raise _converted(err, FileWriteError, path, "deleting the directory") from err
        raise


# -- reading -----------------------------------------------------------------------------------


def read_bytes(path):
    """The content of file ``path``.

    Raises:
        FileReadError: missing (a ``FileNotFoundError``), a directory
            (``IsADirectoryError``) or unreadable; the message names ``path``.
    """
    path = _fspath(path)
    try:
        if not exists(path):
            raise _make_error(FileReadError, path, "No such file or directory",
                              errno_codes.ENOENT)
        if isdir(path):
            raise _make_error(FileReadError, path, "Is a directory", errno_codes.EISDIR)
        with _gfile().GFile(path, "rb") as handle:
            return handle.read()
    except FileError:
        raise
    except Exception as err:
        if _is_io_error(err):
            raise _converted(err, FileReadError, path) from err
        raise


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
        raise ValueError(f"{_fspath(path)} is not valid JSON: {err}") from err


# -- writing -----------------------------------------------------------------------------------


def temporary_path(path):
    """A fresh temporary name beside ``path``: ``<dir>/.<name>.tmp-<pid>-<12 hex digits>``."""
    path = _fspath(path)
    name = basename(path)[:_MAX_NAME_IN_TEMP]
    return join(dirname(path), f".{name}{_TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:12]}")


def is_temporary(name):
    """True for names made by :func:`temporary_path` (leftovers of killed writers)."""
    return bool(_TEMP_NAME.match(basename(name)))


def _fsync_local(path, directory=False):
    """fsync a local file or directory (no-op elsewhere, best effort for directories)."""
    if not is_local(path):
        return
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(local_path(path) or ".", flags)
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _copy_mode(target, temporary):
    """Give a local temporary file the permission bits of the file it will replace."""
    if not is_local(target):
        return
    try:
        mode = os.stat(local_path(target)).st_mode & 0o7777
    except FileNotFoundError:
        return
    os.chmod(local_path(temporary), mode)


def _discard(temporary):
    """Remove a temporary file or directory, ignoring every error (clean-up path)."""
    try:
        if isdir(temporary):
            rmtree(temporary, ignore_errors=True)
        elif exists(temporary):
            _gfile().remove(temporary)
    except Exception:  # noqa: BLE001, S110 - clean-up must not hide the original error
        pass


def _mentions(err, temporary):
    if isinstance(err, OSError):
        return err.filename is not None and os.fspath(err.filename) == temporary \
            or temporary in str(err)
    return temporary in str(err)


def _make_parent(path):
    """Create the parent directory of ``path``; a failure names ``path`` itself."""
    parent = dirname(path)
    if not parent:
        return parent
    try:
        makedirs(parent)
    except FileError as err:
        code = errno_codes.ENOTDIR if err.errno == errno_codes.EEXIST else err.errno
        cause = f"its directory {parent} cannot be created ({err.strerror})"
        raise _make_error(FileWriteError, path, cause, code) from err
    return parent


def _check_target(path):
    if isdir(path):
        raise _make_error(FileWriteError, path, "Is a directory", errno_codes.EISDIR)


@contextlib.contextmanager
def atomic_paths(paths):
    """Write several files all-or-nothing: yields one temporary path per target.

    The caller writes each temporary path (with any writer: ``tf.io.TFRecordWriter``,
    ``GFile``...). When the block ends normally every temporary file is synced and
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
    paths = [_fspath(p) for p in paths]
    temporaries = []
    current, step = (paths[0] if paths else None), "creating the directory"
    try:
        for current in paths:
            _check_target(current)
            _make_parent(current)
            temporaries.append(temporary_path(current))
        step = None
        try:
            yield list(temporaries)
        except Exception as err:
            named = [p for p, t in zip(paths, temporaries) if _mentions(err, t)]
            if named and _is_io_error(err) and not isinstance(err, FileError):
                raise _converted(err, FileWriteError, named[0],
                                 "writing the temporary file") from err
            raise
        step = "flushing the temporary file to disk"
        for current, temporary in zip(paths, temporaries):
            if not exists(temporary):
                raise _make_error(FileWriteError, current, "the temporary file was not written",
                                  errno_codes.ENOENT, step)
            _fsync_local(temporary)
            _copy_mode(current, temporary)
        step = "renaming the temporary file into place"
        for current, temporary in zip(paths, temporaries):
            _gfile().rename(temporary, current, overwrite=True)
        for parent in sorted({dirname(p) for p in paths}):
            _fsync_local(parent, directory=True)
    except BaseException as err:
        for temporary in temporaries:
            _discard(temporary)
        if step is not None and _is_io_error(err) and not isinstance(err, FileError):
            raise _converted(err, FileWriteError, current, step) from err
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
    path = _fspath(path)
    if isinstance(data, str):
        raise TypeError(f"cannot write {path}: write_bytes expects bytes, got str "
                        "(use write_text)")
    with atomic_path(path) as temporary:
        try:
            with _gfile().GFile(temporary, "wb") as handle:
                for chunk in _chunks(data):
                    handle.write(chunk)
                handle.flush()
        except FileError:
            raise
        except Exception as err:
            if _is_io_error(err):
                raise _converted(err, FileWriteError, path, "writing the temporary file") \
                    from err
            raise
    return path


def write_text(path, text, encoding="utf-8"):
    """Write str ``text`` to ``path`` atomically (as :func:`write_bytes`); returns ``path``.

    Newlines are written as given (no platform translation).
    """
    if not isinstance(text, str):
        raise TypeError(f"cannot write {_fspath(path)}: write_text expects str, got "
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


# -- directories, all at once -----------------------------------------------------------------------


def _move_files(staging, target, last):
    """Move every file of ``staging`` into ``target`` (same relative names), ``last`` last;
    directories (also empty ones) are created first."""
    moves = []
    for directory, _, names in walk(staging):
        relative = directory[len(staging):].lstrip("/")
        makedirs(join(target, relative) if relative else target)
        for name in names:
            moves.append((join(directory, name), posixpath.join(relative, name)
                          if relative else name))
    moves.sort(key=lambda move: (basename(move[1]) in last, move[1]))
    for source, relative in moves:
        _gfile().rename(source, join(target, relative), overwrite=False)


@contextlib.contextmanager
def publish_directory(path, last=()):
    """Fill a directory out of sight, then publish it under ``path`` in one step.

    Yields the path of a new hidden staging directory beside ``path``
    (``.<name>.tmp-<pid>-<hex>``; its parent is created). When the block ends
    normally the staging directory becomes ``path``: locally by one atomic
    ``rename(2)`` (files and directories fsync-ed first); elsewhere file by file with
    the names in ``last`` moved last (module doc). If the block raises or publishing
    fails, the staging directory (and anything already moved) is removed and ``path``
    is left as it was.

    Args:
        path: the directory to create; it must not exist.
        last: file names (basenames) to move last on filesystems without directory
            rename, e.g. ``("saved_model.pb",)``.

    Raises:
        FileWriteError: (a ``FileExistsError``) ``path`` already exists (also when it
            appears while the block runs), or the move failed; naming ``path``.
    """
    path = _fspath(path).rstrip("/")
    last = frozenset(last)
    step = "creating the staging directory"
    staging, moved_started = None, False
    try:
        if exists(path):
            raise _make_error(FileWriteError, path, "already exists", errno_codes.EEXIST)
        parent = _make_parent(path)
        staging = temporary_path(path)
        makedirs(staging)
        step = None
        yield staging
        step = "moving the staging directory into place"
        if exists(path):
            raise _make_error(FileWriteError, path, "appeared while it was being written",
                              errno_codes.EEXIST, step)
        if is_local(path):
            for directory, _, names in walk(staging):
                for name in names:
                    _fsync_local(join(directory, name))
                _fsync_local(directory, directory=True)
            _gfile().rename(staging, path, overwrite=False)
            _fsync_local(parent or ".", directory=True)
        else:
            moved_started = True
            _move_files(staging, path, last)
            rmtree(staging, ignore_errors=True)
    except BaseException as err:
        if staging is not None:
            rmtree(staging, ignore_errors=True)
        if moved_started:
            rmtree(path, ignore_errors=True)
        if _is_io_error(err) and not isinstance(err, FileError) and step is not None:
            raise _converted(err, FileWriteError, path, step) from err
        raise
