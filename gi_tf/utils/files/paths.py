"""Path strings: local paths and ``scheme://`` URLs, and the layer's temporary names.

A path without a scheme, or with ``file://``, is local (served by plain Python I/O);
anything else (``gs://``, ``s3://``, ``ram://``, ...) is a URL served by ``tf.io.gfile``.
Nothing here touches a filesystem.
"""

import os
import posixpath
import re
import uuid

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_FILE_SCHEME = "file://"
_TEMP_MARK = ".tmp-"
_TEMP_NAME = re.compile(r"^\..*\.tmp-\d+-[0-9a-f]{12}$")
_MAX_NAME_IN_TEMP = 100  # keeps temporary names below the usual 255-byte limit


def split_scheme(path):
    """``("gs://", "bucket/x")`` for ``"gs://bucket/x"``; ``("", path)`` without a scheme."""
    match = _SCHEME.match(path)
    return (match.group(0), path[match.end():]) if match else ("", path)


def scheme(path):
    """The ``scheme://`` prefix of ``path`` (``""`` for a plain local path)."""
    return split_scheme(os.fspath(path))[0]


def is_local(path):
    """True for paths on this machine's filesystem (no ``scheme://``, or ``file://``)."""
    return scheme(path) in ("", _FILE_SCHEME)


def local_path(path):
    """The OS path of a local ``path`` (``file://`` stripped); ValueError for others."""
    path = os.fspath(path)
    prefix, rest = split_scheme(path)
    if prefix == "":
        return path
    if prefix == _FILE_SCHEME:
        return rest
    raise ValueError(f"{path} is not a local path")


def join(path, *parts):
    """``os.path.join`` that keeps ``scheme://`` prefixes (``join("ram://a", "b")``)."""
    path, parts = os.fspath(path), [os.fspath(part) for part in parts]
    return os.path.join(path, *parts) if is_local(path) else posixpath.join(path, *parts)


def dirname(path):
    """The parent of ``path``: ``dirname("ram://a/b") == "ram://a"``,
    ``dirname("gs://bucket/x") == "gs://bucket"``; local paths as ``os.path.dirname``."""
    path = os.fspath(path)
    prefix, rest = split_scheme(path)
    if not prefix:
        return os.path.dirname(path)
    return prefix + posixpath.dirname(rest.rstrip("/"))


def basename(path):
    """The last component of ``path`` (trailing slashes ignored)."""
    _, rest = split_scheme(os.fspath(path))
    return posixpath.basename(rest.rstrip("/")) or rest


def abspath(path):
    """``os.path.abspath`` for local paths; other paths are returned unchanged."""
    path = os.fspath(path)
    prefix, rest = split_scheme(path)
    if prefix == "":
        return os.path.abspath(path)
    if prefix == _FILE_SCHEME:
        return prefix + os.path.abspath(rest)
    return path


def temporary_path(path):
    """A fresh temporary name beside ``path``: ``<dir>/.<name>.tmp-<pid>-<12 hex digits>``.

    Unique, so two writers never share one; hidden, so globs such as ``<prefix>-*`` or
    ``*.png`` and listings that skip dot-files never pick it up.
    """
    path = os.fspath(path)
    name = basename(path)[:_MAX_NAME_IN_TEMP]
    return join(dirname(path), f".{name}{_TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:12]}")


def is_temporary(name):
    """True for names made by :func:`temporary_path` (leftovers of killed writers)."""
    return bool(_TEMP_NAME.match(basename(name)))
