"""Publishing a directory all at once (SavedModel versions).

The caller fills a hidden staging directory ``.<name>.tmp-<pid>-<hex>`` beside the
target, then it is moved into place. Locally that is one ``rename(2)`` of the
directory: atomic, a reader (TF Serving polling the base directory) sees the complete
version or nothing; an existing target is never replaced. Object stores (``gs://``,
``s3://``) and ``ram://`` have no directory rename, so there the files are moved one by
one and the names in ``last`` (``saved_model.pb`` for a SavedModel) are moved last: the
target directory appears before it is complete, but the file that makes it loadable
comes last, and a failure part-way removes what was moved. A reader that polls such a
filesystem may therefore see a version directory without ``saved_model.pb`` for a
moment (TF Serving retries a failed load: ``--max_num_load_retries``).
"""

import contextlib
import errno as errno_codes
import os
import posixpath

from gi_tf.utils.files.atomic import make_parent
from gi_tf.utils.files.errors import FileWriteError
from gi_tf.utils.files.errors import make_error
from gi_tf.utils.files.operations import backend
from gi_tf.utils.files.operations import check_served
from gi_tf.utils.files.operations import exists
from gi_tf.utils.files.operations import makedirs
from gi_tf.utils.files.operations import reported
from gi_tf.utils.files.operations import rmtree
from gi_tf.utils.files.operations import walk
from gi_tf.utils.files.paths import basename
from gi_tf.utils.files.paths import join
from gi_tf.utils.files.paths import temporary_path


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
        backend(target).rename(source, join(target, relative), overwrite=False)


def _sync_tree(directory):
    """fsync every file and directory below ``directory`` (no-op off the local disk)."""
    fs = backend(directory)
    for folder, _, names in walk(directory):
        for name in names:
            fs.sync_file(join(folder, name))
        fs.sync_directory(folder)


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
    path = os.fspath(path).rstrip("/")
    last = frozenset(last)
    staging, moving_files = None, False
    try:
        with reported(FileWriteError, path, "creating the staging directory"):
            check_served(path, FileWriteError)
            if exists(path):
                raise make_error(FileWriteError, path, "already exists", errno_codes.EEXIST)
            parent = make_parent(path)
            staging = temporary_path(path)
            makedirs(staging)
        yield staging
        step = "moving the staging directory into place"
        with reported(FileWriteError, path, step):
            if exists(path):
                raise make_error(FileWriteError, path, "appeared while it was being written",
                                 errno_codes.EEXIST, step)
            fs = backend(path)
            if fs.RENAMES_DIRECTORIES:
                _sync_tree(staging)
                fs.rename(staging, path, overwrite=False)
                fs.sync_directory(parent or ".")
            else:
                moving_files = True
                _move_files(staging, path, last)
                rmtree(staging, ignore_errors=True)
    except BaseException:
        if staging is not None:
            rmtree(staging, ignore_errors=True)
        if moving_files:
            rmtree(path, ignore_errors=True)
        raise
