"""Tests for gi_tf.utils.files: atomic writes, one clear error, ram://, directory publish, local
paths without TensorFlow."""

import errno
import json
import os
import pickle
import uuid

import pytest
import tensorflow as tf

from gi_tf.utils import files

import without_tensorflow


@pytest.fixture
def ram_root():
    """A fresh ram:// directory (the in-memory filesystem is shared by the whole process)."""
    root = f"ram://test-files-{uuid.uuid4().hex[:8]}"
    yield root
    files.rmtree(root, ignore_errors=True)


def _temporaries(directory):
    return [name for name in os.listdir(directory) if files.is_temporary(name)]


# -- atomic writes, local ------------------------------------------------------------------


def test_write_creates_parents_replaces_content_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a" / "b" / "x.bin"
    assert files.write_bytes(target, b"one") == str(target)
    assert target.read_bytes() == b"one"
    files.write_bytes(str(target), b"two, longer")
    assert target.read_bytes() == b"two, longer"
    assert os.listdir(target.parent) == ["x.bin"]


def test_text_and_json_formats(tmp_path):
    files.write_text(tmp_path / "t.txt", "é\r\nline\n")
    assert (tmp_path / "t.txt").read_bytes() == "é\r\nline\n".encode()  # as given
    files.write_json(tmp_path / "v.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "v.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert files.read_json(tmp_path / "v.json") == {"a": [1, 2], "b": 1}
    files.write_json(tmp_path / "o.json", {"b": 1, "a": 2}, sort_keys=False)
    assert list(json.loads((tmp_path / "o.json").read_text())) == ["b", "a"]


def test_streamed_chunks_are_written_in_order(tmp_path):
    files.write_bytes(tmp_path / "s.bin", (bytes([i]) * 3 for i in range(4)))
    assert (tmp_path / "s.bin").read_bytes() == b"\0\0\0\1\1\1\2\2\2\3\3\3"


def test_failing_producer_keeps_old_content_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    files.write_text(target, "old")

    def chunks():
        yield b"new, half"
        raise RuntimeError("producer failed")

    with pytest.raises(RuntimeError, match="producer failed"):  # passes through unchanged
        files.write_bytes(target, chunks())
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["keep.txt"]
    with pytest.raises(TypeError):
        files.write_text(target, object())
    with pytest.raises(TypeError):
        files.write_json(target, {"not json": object()})
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["keep.txt"]


def test_failing_rename_is_one_error_naming_the_final_path(tmp_path, monkeypatch):
    target = tmp_path / "keep.json"
    files.write_json(target, {"v": 1})
    seen = []

    def failing_rename(src, dst, overwrite=False):
        seen.append(src)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), src)

    monkeypatch.setattr(files.local, "rename", failing_rename)
    with pytest.raises(files.FileWriteError) as caught:
        files.write_json(target, {"v": 2})
    err = caught.value
    assert isinstance(err, PermissionError) and isinstance(err, OSError)
    assert err.errno == errno.EACCES and err.filename == str(target)
    assert str(target) in str(err) and "Permission denied" in str(err)
    assert seen and seen[0] not in str(err)  # the temporary name is not what the user sees
    monkeypatch.undo()
    assert files.read_json(target) == {"v": 1}
    assert os.listdir(tmp_path) == ["keep.json"]


class _FailingHandle:
    """A file handle whose ``write`` raises ``error(path)`` (a full disk, say)."""

    def __init__(self, open_write, path, error):
        self.handle, self.name, self.error = open_write(path), path, error

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.handle.close()

    def write(self, data):
        raise self.error(self.name)

    def flush(self):
        self.handle.flush()


# Local paths fail with OSError (plain Python I/O), URLs with tf.errors (tf.io.gfile).
@pytest.mark.parametrize("where, raised, code, words", [
    ("local", lambda tmp: OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp),
     errno.ENOSPC, "No space left on device"),
    ("local", lambda tmp: OSError(errno.EROFS, os.strerror(errno.EROFS), tmp),
     errno.EROFS, "Read-only file system"),
    ("local", lambda tmp: OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), tmp),
     errno.EDQUOT, os.strerror(errno.EDQUOT)),
    ("ram", lambda tmp: tf.errors.ResourceExhaustedError(None, None,
                                                         f"{tmp}; No space left on device"),
     errno.ENOSPC, "No space left on device"),
    ("ram", lambda tmp: tf.errors.PermissionDeniedError(None, None, f"{tmp}; Permission denied"),
     errno.EACCES, "Permission denied"),
])
def test_write_errors_are_mapped_to_errno(tmp_path, ram_root, monkeypatch, where, raised, code,
                                          words):
    root = str(tmp_path) if where == "local" else ram_root
    target = files.join(root, "out.bin")
    files.write_bytes(target, b"old")
    if where == "local":
        real_open = files.local.open_write
        monkeypatch.setattr(files.local, "open_write",
                            lambda path: _FailingHandle(real_open, path, raised))
    else:
        real_gfile = tf.io.gfile.GFile

        class FullDisk(real_gfile):
            def write(self, data):
                raise raised(self.name)

        monkeypatch.setattr(tf.io.gfile, "GFile", FullDisk)
    with pytest.raises(files.FileWriteError) as caught:
        files.write_bytes(target, b"new")
    monkeypatch.undo()
    assert caught.value.errno == code and caught.value.filename == target
    assert str(caught.value).startswith(f"cannot write {target}: {words}")
    assert files.read_bytes(target) == b"old" and files.listdir(root) == ["out.bin"]


def test_path_under_a_regular_file_is_one_error_naming_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    target = blocker / "sub.txt"
    with pytest.raises(files.FileWriteError) as caught:
        files.write_text(target, "data")
    err = caught.value
    assert isinstance(err, NotADirectoryError) and err.errno == errno.ENOTDIR
    assert str(err).startswith(f"cannot write {target}: ") and str(blocker) in str(err)
    assert err.__cause__ is not None  # the underlying error is kept for tracebacks
    assert blocker.read_bytes() == b"x" and os.listdir(tmp_path) == ["file"]
    with pytest.raises(NotADirectoryError, match="deep"):
        files.write_text(blocker / "a" / "deep.txt", "data")
    with pytest.raises(FileExistsError, match="file"):
        files.makedirs(blocker)


def test_writing_over_a_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="d"):
        files.write_bytes(tmp_path / "d", b"x")
    assert os.listdir(tmp_path / "d") == []


def test_errors_pickle(tmp_path):
    with pytest.raises(files.FileWriteError) as caught:
        (tmp_path / "f").write_bytes(b"")
        files.write_bytes(tmp_path / "f" / "x", b"")
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is type(caught.value) and str(again) == str(caught.value)
    assert again.errno == caught.value.errno


def test_two_writers_get_distinct_temporaries_and_both_finish(tmp_path):
    target = tmp_path / "shared.txt"
    names = {files.temporary_path(target) for _ in range(50)}
    assert len(names) == 50
    assert all(files.is_temporary(n) and files.dirname(n) == str(tmp_path) for n in names)
    assert all(os.path.basename(n).startswith(".shared.txt.tmp-") for n in names)
    with files.atomic_path(target) as first, files.atomic_path(target) as second:
        assert first != second
        for path, text in ((first, b"first"), (second, b"second")):
            with tf.io.gfile.GFile(path, "wb") as handle:
                handle.write(text)
    assert target.read_bytes() in (b"first", b"second")  # one complete file, never a mix
    assert os.listdir(tmp_path) == ["shared.txt"]
    assert not files.is_temporary("shared.txt") and not files.is_temporary(".x.tmp")


def test_existing_file_mode_is_kept(tmp_path):
    target = tmp_path / "private.txt"
    files.write_text(target, "a")
    os.chmod(target, 0o600)
    files.write_text(target, "b")
    assert os.stat(target).st_mode & 0o777 == 0o600 and target.read_text() == "b"


def test_atomic_paths_are_all_or_nothing(tmp_path):
    targets = [str(tmp_path / "out" / f"s{i}") for i in range(3)]
    with pytest.raises(ValueError, match="stop"), files.atomic_paths(targets) as temporaries:
        for path in temporaries:
            with tf.io.gfile.GFile(path, "wb") as handle:
                handle.write(b"x")
        raise ValueError("stop")
    assert os.listdir(tmp_path / "out") == []
    with pytest.raises(files.FileWriteError, match="s1.*not written"), \
            files.atomic_paths(targets) as temporaries:
        for path in (temporaries[0], temporaries[2]):  # s1 forgotten
            with tf.io.gfile.GFile(path, "wb") as handle:
                handle.write(b"x")
    assert os.listdir(tmp_path / "out") == []
    with files.atomic_paths(targets) as temporaries:
        for i, path in enumerate(temporaries):
            with tf.io.gfile.GFile(path, "wb") as handle:
                handle.write(str(i).encode())
    assert [files.read_text(t) for t in targets] == ["0", "1", "2"]
    assert sorted(os.listdir(tmp_path / "out")) == ["s0", "s1", "s2"]


def test_errors_of_the_caller_inside_atomic_path_are_not_renamed(tmp_path):
    with pytest.raises(FileNotFoundError, match="some input") as caught, \
            files.atomic_path(tmp_path / "out.bin"):
        raise FileNotFoundError("some input is missing")
    assert not isinstance(caught.value, files.FileError)
    assert os.listdir(tmp_path) == []


# -- reading and queries -------------------------------------------------------------------


def test_read_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        files.read_json(tmp_path / "nope.json")
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        files.read_bytes(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        files.read_json(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="nodir"):
        files.listdir(tmp_path / "nodir")


def test_paths_with_schemes():
    assert files.join("ram://a", "b", "c.txt") == "ram://a/b/c.txt"
    assert files.dirname("ram://a/b/c.txt") == "ram://a/b"
    assert files.dirname("gs://bucket/x") == "gs://bucket"
    assert files.basename("gs://bucket/dir/") == "dir"
    assert files.abspath("gs://bucket/x") == "gs://bucket/x"
    assert files.abspath("rel") == os.path.abspath("rel")
    assert files.is_local("/tmp/x") and files.is_local("file:///tmp/x")
    assert not files.is_local("ram://x") and not files.is_local("gs://b/x")
    assert files.local_path("file:///tmp/x") == "/tmp/x"
    with pytest.raises(ValueError, match="not a local path"):
        files.local_path("gs://b/x")


def test_local_queries_and_removal(tmp_path):
    files.write_text(tmp_path / "d" / "e" / "f.txt", "x")
    assert files.isdir(tmp_path / "d") and files.isfile(tmp_path / "d" / "e" / "f.txt")
    assert not files.isfile(tmp_path / "d") and not files.exists(tmp_path / "zz")
    assert files.listdir(tmp_path / "d") == ["e"]
    assert files.glob(str(tmp_path / "d" / "*" / "*.txt")) == [str(tmp_path / "d/e/f.txt")]
    assert list(files.walk(tmp_path / "d")) == [
        (str(tmp_path / "d"), ["e"], []), (str(tmp_path / "d" / "e"), [], ["f.txt"])]
    files.remove(tmp_path / "d" / "e" / "f.txt")
    files.remove(tmp_path / "d" / "e" / "f.txt", missing_ok=True)
    with pytest.raises(FileNotFoundError, match="f.txt"):
        files.remove(tmp_path / "d" / "e" / "f.txt")
    files.rmtree(tmp_path / "d")
    assert os.listdir(tmp_path) == []
    files.rmtree(tmp_path / "d", missing_ok=True)
    with pytest.raises(FileNotFoundError, match="d"):
        files.rmtree(tmp_path / "d")


def test_file_urls_keep_their_prefix(tmp_path):
    url = "file://" + str(tmp_path)
    files.write_text(files.join(url, "d", "a.txt"), "a")
    assert files.read_text(str(tmp_path / "d" / "a.txt")) == "a"
    assert files.glob(files.join(url, "d", "*.txt")) == [f"{url}/d/a.txt"]
    assert list(files.walk(files.join(url, "d"))) == [(f"{url}/d", [], ["a.txt"])]
    assert files.isdir(files.join(url, "d")) and files.listdir(url) == ["d"]


def test_local_rename_without_overwrite_refuses_an_existing_target(tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    with pytest.raises(FileExistsError):
        files.local.rename(str(tmp_path / "a"), str(tmp_path / "b"))
    assert (tmp_path / "b").read_bytes() == b"b"
    files.local.rename(str(tmp_path / "a"), str(tmp_path / "b"), overwrite=True)
    assert (tmp_path / "b").read_bytes() == b"a" and os.listdir(tmp_path) == ["b"]


WITHOUT_TENSORFLOW = r"""
import os, sys
from gi_tf.utils import files
root = os.environ["ROOT"]
files.write_json(files.join(root, "a", "v.json"), {"k": 1})
files.write_bytes(files.join(root, "a", "b.bin"), (c for c in (b"x", b"y")))
assert files.read_json(files.join(root, "a", "v.json")) == {"k": 1}
assert files.read_bytes(files.join(root, "a", "b.bin")) == b"xy"
with files.atomic_path(files.join(root, "a", "c.bin")) as temporary:
    with open(temporary, "wb") as handle:
        handle.write(b"c")
with files.publish_directory(files.join(root, "v", "1")) as staging:
    files.write_text(files.join(staging, "saved_model.pb"), "pb")
assert files.listdir(root) == ["a", "v"] and files.listdir(files.join(root, "v")) == ["1"]
assert files.listdir(files.join(root, "a")) == ["b.bin", "c.bin", "v.json"]
assert [d for d, _, _ in files.walk(root)] == [root, root + "/a", root + "/v", root + "/v/1"]
files.remove(files.join(root, "a", "c.bin"))
files.rmtree(files.join(root, "v"))
assert files.glob(files.join(root, "a", "*")) == [root + "/a/b.bin", root + "/a/v.json"]
for url, call in (("gs://bucket/x.json", files.read_json),
                  ("ram://x.bin", lambda p: files.write_bytes(p, b"")),
                  ("s3://b/d", files.exists)):
    try:
        call(url)
    except files.FileError as err:
        print("ERROR", err)
    else:
        raise AssertionError(url)
assert "tensorflow" not in sys.modules
print("OK")
"""


@pytest.mark.e2e
def test_local_paths_need_no_tensorflow_and_urls_say_they_do(tmp_path):
    """In a subprocess where ``import tensorflow`` fails (a JAX-only venv)."""
    root = tmp_path / "root"
    done = without_tensorflow.run(WITHOUT_TENSORFLOW, tmp_path / "site", {"ROOT": str(root)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "OK"
    assert lines[:3] == [
        "ERROR cannot read gs://bucket/x.json: gs:// paths are served by TensorFlow's "
        "tf.io.gfile and TensorFlow is not installed (install it, or use a local path)",
        "ERROR cannot write ram://x.bin: ram:// paths are served by TensorFlow's "
        "tf.io.gfile and TensorFlow is not installed (install it, or use a local path)",
        "ERROR cannot read s3://b/d: s3:// paths are served by TensorFlow's "
        "tf.io.gfile and TensorFlow is not installed (install it, or use a local path)"]
    assert files.read_json(root / "a" / "v.json") == {"k": 1}  # really written, once
    assert sorted(os.listdir(root / "a")) == ["b.bin", "v.json"]
    check = without_tensorflow.run("import tensorflow", tmp_path / "site")
    assert check.returncode == 1 and "No module named 'tensorflow'" in check.stderr


# -- ram:// --------------------------------------------------------------------------------


def test_ram_round_trip(ram_root):
    files.write_bytes(f"{ram_root}/a/b.bin", b"\x00\x01")
    files.write_json(f"{ram_root}/a/c.json", {"k": [1]})
    files.write_text(f"{ram_root}/t.txt", "text")
    assert files.read_bytes(f"{ram_root}/a/b.bin") == b"\x00\x01"
    assert files.read_json(f"{ram_root}/a/c.json") == {"k": [1]}
    assert files.read_text(f"{ram_root}/t.txt") == "text"
    assert files.listdir(ram_root) == ["a", "t.txt"]  # no temporary left behind
    assert files.listdir(f"{ram_root}/a") == ["b.bin", "c.json"]
    assert files.glob(f"{ram_root}/a/*.json") == [f"{ram_root}/a/c.json"]
    files.makedirs(f"{ram_root}/empty/dir")
    assert files.isdir(f"{ram_root}/empty/dir") and files.isdir(ram_root)
    assert files.isfile(f"{ram_root}/t.txt") and not files.isdir(f"{ram_root}/t.txt")
    files.write_bytes(f"{ram_root}/a/b.bin", b"new")  # replace
    assert files.read_bytes(f"{ram_root}/a/b.bin") == b"new"
    files.remove(f"{ram_root}/t.txt")
    assert not files.exists(f"{ram_root}/t.txt")
    files.rmtree(f"{ram_root}/a")
    assert files.listdir(ram_root) == ["empty"]
    with pytest.raises(FileNotFoundError, match="missing"):
        files.read_bytes(f"{ram_root}/missing")


def test_ram_gfile_quirks_the_layer_works_around(ram_root):
    """What the module docstring says about tf.io.gfile on ram://, and the layer's answers."""
    gfile = tf.io.gfile
    with gfile.GFile(f"{ram_root}/m/10/saved_model.pb", "wb") as handle:
        handle.write(b"pb")
    with gfile.GFile(f"{ram_root}/a/bfoo", "wb") as handle:
        handle.write(b"x")
    gfile.makedirs(f"{ram_root}/a/b")
    # prefix matching in exists/isdir and listdir; implicit directories not listed
    assert gfile.exists(f"{ram_root}/m/1") and gfile.isdir(f"{ram_root}/m/1")
    assert gfile.listdir(f"{ram_root}/a/b") == ["foo"]
    assert gfile.listdir(ram_root) == ["a"]  # made by makedirs; "m" is implicit
    assert not files.exists(f"{ram_root}/m/1") and not files.isdir(f"{ram_root}/m/1")
    assert files.listdir(f"{ram_root}/a/b") == [] and files.listdir(ram_root) == ["a", "m"]
    assert files.isdir(f"{ram_root}/m/10") and files.isdir(f"{ram_root}/a/b")
    # glob matches whole stored paths only
    assert gfile.glob(f"{ram_root}/m/*") == []
    # directory rename moves only the directory's own entry
    gfile.makedirs(f"{ram_root}/d1")
    with gfile.GFile(f"{ram_root}/d1/x", "wb") as handle:
        handle.write(b"x")
    gfile.rename(f"{ram_root}/d1", f"{ram_root}/d2")
    assert gfile.exists(f"{ram_root}/d1/x") and not gfile.exists(f"{ram_root}/d2/x")
    # file rename works; overwrite=False refuses an existing target
    with gfile.GFile(f"{ram_root}/y", "wb") as handle:
        handle.write(b"y")
    with pytest.raises(tf.errors.AlreadyExistsError):
        gfile.rename(f"{ram_root}/y", f"{ram_root}/d1/x", overwrite=False)
    gfile.rename(f"{ram_root}/y", f"{ram_root}/z")
    assert files.read_bytes(f"{ram_root}/z") == b"y"
    # writing "under a file" is not checked
    with gfile.GFile(f"{ram_root}/z/under", "wb") as handle:
        handle.write(b"u")
    assert gfile.exists(f"{ram_root}/z/under")
    # the layer's walk and rmtree see the exact tree
    assert list(files.walk(f"{ram_root}/m")) == [
        (f"{ram_root}/m", ["10"], []), (f"{ram_root}/m/10", [], ["saved_model.pb"])]
    files.rmtree(f"{ram_root}/a")
    assert files.exists(f"{ram_root}/m/10/saved_model.pb") and not files.exists(f"{ram_root}/a")


def test_ram_path_under_a_file_is_refused_as_on_a_disk(ram_root):
    files.write_text(f"{ram_root}/f", "file")
    with pytest.raises(NotADirectoryError, match="sub.txt"):  # ram:// itself would allow it
        files.write_text(f"{ram_root}/f/sub.txt", "x")
    assert files.read_text(f"{ram_root}/f") == "file" and files.listdir(ram_root) == ["f"]


# -- directory publish ---------------------------------------------------------------------


def _fill(directory):
    files.write_bytes(files.join(directory, "saved_model.pb"), b"pb")
    files.write_bytes(files.join(directory, "variables", "variables.index"), b"ix")
    files.makedirs(files.join(directory, "assets"))


def test_publish_directory_locally(tmp_path):
    target = str(tmp_path / "base" / "1")
    with files.publish_directory(target) as staging:
        assert files.dirname(staging) == str(tmp_path / "base")
        assert files.is_temporary(staging) and not os.path.exists(target)
        _fill(staging)
    assert os.listdir(tmp_path / "base") == ["1"]
    assert sorted(os.listdir(target)) == ["assets", "saved_model.pb", "variables"]
    assert files.read_bytes(files.join(target, "variables", "variables.index")) == b"ix"
    before = sorted(os.listdir(target))
    with pytest.raises(FileExistsError, match="already exists"), \
            files.publish_directory(target):
        pass
    with pytest.raises(RuntimeError, match="writer failed"), \
            files.publish_directory(str(tmp_path / "base" / "2")) as staging:
        _fill(staging)
        raise RuntimeError("writer failed")
    assert os.listdir(tmp_path / "base") == ["1"] and sorted(os.listdir(target)) == before


def test_publish_directory_refuses_a_target_that_appears_meanwhile(tmp_path):
    target = tmp_path / "2"
    with pytest.raises(FileExistsError, match="appeared"), \
            files.publish_directory(target) as staging:
        _fill(staging)
        target.mkdir()
        (target / "other").write_bytes(b"someone else's")
    assert os.listdir(tmp_path) == ["2"] and os.listdir(target) == ["other"]


def test_publish_directory_on_ram_moves_the_last_file_last(ram_root, monkeypatch):
    renamed = []
    real_rename = tf.io.gfile.rename

    def recording_rename(src, dst, overwrite=False):
        renamed.append(dst)
        return real_rename(src, dst, overwrite=overwrite)

    monkeypatch.setattr(tf.io.gfile, "rename", recording_rename)
    target = f"{ram_root}/base/1"
    with files.publish_directory(target, last=("saved_model.pb",)) as staging:
        _fill(staging)
        renamed.clear()
    assert renamed[-1] == f"{target}/saved_model.pb" and len(renamed) == 2
    assert files.listdir(f"{ram_root}/base") == ["1"]  # staging removed
    assert files.listdir(target) == ["assets", "saved_model.pb", "variables"]
    assert files.read_bytes(f"{target}/saved_model.pb") == b"pb"


def test_failed_publish_on_ram_removes_what_was_moved(ram_root, monkeypatch):
    real_rename = tf.io.gfile.rename

    def failing_last(src, dst, overwrite=False):
        if dst == f"{target}/saved_model.pb":
            raise tf.errors.ResourceExhaustedError(None, None, "out of memory")
        return real_rename(src, dst, overwrite=overwrite)

    target = f"{ram_root}/base/1"
    monkeypatch.setattr(tf.io.gfile, "rename", failing_last)
    with pytest.raises(files.FileWriteError) as caught, \
            files.publish_directory(target, last=("saved_model.pb",)) as staging:
        _fill(staging)
    assert caught.value.filename == target and "moving" in str(caught.value)
    assert not files.exists(target) and files.listdir(f"{ram_root}/base") == []


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_write_under_proc_says_it_is_not_a_writable_filesystem():
    for path, step in (("/proc/gi_tf_out.png", "writing the temporary file"),
                       ("/proc/gi_tf_dir/out.png", None)):
        with pytest.raises(files.FileWriteError) as caught:
            files.write_text(path, "x")
        message = str(caught.value)
        assert message.startswith(f"cannot write {path}: /proc is not a writable filesystem")
        assert "No such file or directory" not in message
        assert step is None or step in message
    from gi_tf.utils.files.errors import pseudo_filesystem_cause  # lazy: one test uses it

    assert pseudo_filesystem_cause("/sys/x") == "/sys is not a writable filesystem"
    assert pseudo_filesystem_cause("/processes/x") is None
    assert pseudo_filesystem_cause("gs://b/proc/x") is None
