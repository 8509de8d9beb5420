"""Tests for gi_tf/data/sources.py: listing folders and .flist files, source kinds."""

import pytest

from gi_tf.data import sources


def test_list_image_files_recursive_sorted_and_filtered(tmp_path):
    folder = tmp_path / "f"
    (folder / "b").mkdir(parents=True)
    for name in ("z.png", "a.JPEG", "b/c.webp", "b/d.gif", "notes.txt", "e.tiff"):
        (folder / name).write_bytes(b"x")
    files = sources.list_image_files(str(folder))
    expected = sorted(str(folder / n) for n in ("z.png", "a.JPEG", "b/c.webp", "b/d.gif"))
    assert files == expected


def test_list_image_files_flist_relative_to_its_folder_or_cwd(tmp_path, monkeypatch):
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "x.png").write_bytes(b"x")
    flist = lists / "train.flist"
    flist.write_text(f"x.png\n\n{tmp_path}/abs.png\n")
    expected = [str(lists / "x.png"), f"{tmp_path}/abs.png"]
    assert sources.list_image_files(str(flist)) == expected
    # The original's lists hold paths relative to where training is started.
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "y.png").write_bytes(b"y")
    flist.write_text("imgs/y.png\n")
    monkeypatch.chdir(tmp_path)
    assert sources.list_image_files(str(flist)) == [str(tmp_path / "imgs" / "y.png")]


def test_source_kind():
    assert [sources.source_kind(s) for s in ("builtin:textures", "d/train-*.tfrecord",
                                          "a/train.flist", "a/folder")] == [
        "builtin", "tfrecord", "flist", "folder"]


@pytest.mark.parametrize("source,count", [("builtin:textures", 1024), ("builtin:textures:7", 7),
                                          ("builtin:wallpapers:5", 5)])
def test_texture_count(source, count):
    assert sources.texture_count(source) == count


@pytest.mark.parametrize("source", ["builtin:texture", "builtin:textures:0", "builtin:textures:x"])
def test_bad_builtin_source(source):
    with pytest.raises(ValueError, match="unknown built-in dataset"):
        sources.texture_count(source)
