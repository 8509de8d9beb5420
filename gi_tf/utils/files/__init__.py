"""The file layer: every file gi_tf writes (and most it reads) goes through here.

A path is local (no scheme, or ``file://``), served by plain Python I/O, so the layer
works without TensorFlow (the Keras-JAX side); or a URL (``gs://``, ``s3://`` with the
plug-in, TF's in-memory ``ram://``), served by ``tf.io.gfile``, and one clear
:class:`FileError` naming the path when TensorFlow is not installed. Nothing else in the
package opens files for writing, renames, removes or creates directories
(``tests/test_file_writes.py`` checks that).

What is where (all names are used as ``files.write_json(...)``):

* :mod:`~gi_tf.utils.files.atomic`: atomic writes (temporary file beside the target,
  fsync, rename; nothing partial is ever left under the final name);
* :mod:`~gi_tf.utils.files.publish`: publishing a directory in one step (SavedModels);
* :mod:`~gi_tf.utils.files.operations`: queries, reads, directories, removal;
* :mod:`~gi_tf.utils.files.errors`: :class:`FileError` (an ``OSError`` naming the final
  path, with ``errno`` and the built-in subclass where known);
* :mod:`~gi_tf.utils.files.paths`: path strings (schemes, temporary names);
* the backends: :mod:`~gi_tf.utils.files.local`, :mod:`~gi_tf.utils.files.urls`
  (``tf.io.gfile``) and :mod:`~gi_tf.utils.files.ram` (``ram://``'s quirks worked around).
"""

from gi_tf.utils.files.atomic import atomic_path
from gi_tf.utils.files.atomic import atomic_paths
from gi_tf.utils.files.atomic import json_text
from gi_tf.utils.files.atomic import write_bytes
from gi_tf.utils.files.atomic import write_json
from gi_tf.utils.files.atomic import write_text
from gi_tf.utils.files.errors import FileError
from gi_tf.utils.files.errors import FileReadError
from gi_tf.utils.files.errors import FileWriteError
from gi_tf.utils.files.errors import write_error
from gi_tf.utils.files.operations import exists
from gi_tf.utils.files.operations import glob
from gi_tf.utils.files.operations import isdir
from gi_tf.utils.files.operations import isfile
from gi_tf.utils.files.operations import listdir
from gi_tf.utils.files.operations import makedirs
from gi_tf.utils.files.operations import read_bytes
from gi_tf.utils.files.operations import read_json
from gi_tf.utils.files.operations import read_text
from gi_tf.utils.files.operations import remove
from gi_tf.utils.files.operations import rmtree
from gi_tf.utils.files.operations import walk
from gi_tf.utils.files.paths import abspath
from gi_tf.utils.files.paths import basename
from gi_tf.utils.files.paths import dirname
from gi_tf.utils.files.paths import is_local
from gi_tf.utils.files.paths import is_temporary
from gi_tf.utils.files.paths import join
from gi_tf.utils.files.paths import local_path
from gi_tf.utils.files.paths import temporary_path
from gi_tf.utils.files.publish import publish_directory

__all__ = [
    "FileError", "FileReadError", "FileWriteError", "abspath", "atomic_path",
    "atomic_paths", "basename", "dirname", "exists", "glob", "is_local", "is_temporary",
    "isdir", "isfile", "join", "json_text", "listdir", "local_path", "makedirs",
    "publish_directory", "read_bytes", "read_json", "read_text", "remove", "rmtree",
    "temporary_path", "walk", "write_bytes", "write_error", "write_json", "write_text",
]
