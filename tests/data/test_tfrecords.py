"""Tests for gi_tf/data/tfrecords.py: shard contents, shuffling, verification, atomic writes."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.data import pipeline
from gi_tf.data import tfrecords


def _write_images(folder, count):
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        cv2.imwrite(os.path.join(folder, f"im{i}.png"), np.full((6, 5, 3), i, np.uint8))


def _read_shards(paths):
    """[(shard index, filename, encoded bytes)] in file order."""
    out = []
    for shard, path in enumerate(paths):
        for record in tf.data.TFRecordDataset(path):
            encoded, name = tfrecords.parse_example(record)
            out.append((shard, name.numpy().decode(), encoded.numpy()))
    return out


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


def test_shards_hold_original_bytes_round_robin_in_listing_order(tmp_path):
    source = str(tmp_path / "img")
    _write_images(source, 5)
    outputs = tfrecords.write_tfrecords(source, str(tmp_path / "out" / "train"), num_shards=2,
                                        shuffle_seed=None)
    assert [os.path.basename(p) for p in outputs] == [
        "train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord"]
    records = _read_shards(outputs)
    names = [f"im{i}.png" for i in range(5)]
    assert sorted((name, shard) for shard, name, _ in records) == [
        (name, i % 2) for i, name in enumerate(names)]
    for _, name, encoded in records:
        assert encoded == (tmp_path / "img" / name).read_bytes()


def test_shuffle_seed_permutes_deterministically(tmp_path):
    source = str(tmp_path / "img")
    _write_images(source, 8)
    orders = []
    for run, seed in enumerate((1, 1, 2)):
        outputs = tfrecords.write_tfrecords(source, str(tmp_path / f"r{run}" / "t"), 1,
                                            shuffle_seed=seed)
        orders.append([name for _, name, _ in _read_shards(outputs)])
    assert orders[0] == orders[1] != orders[2]
    assert sorted(orders[0]) == sorted(f"im{i}.png" for i in range(8))
    assert orders[0] != sorted(orders[0])


def test_verify_leaves_out_undecodable_images(tmp_path):
    source = tmp_path / "img"
    _write_images(str(source), 3)
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    skipped = pipeline.SkippedImages()
    outputs = tfrecords.write_tfrecords(str(source), str(tmp_path / "t"), 2, verify=True,
                                        skipped=skipped)
    assert sorted(name for _, name, _ in _read_shards(outputs)) == [
        f"im{i}.png" for i in range(3)]
    assert skipped.count == 1 and skipped.examples[0].endswith("broken.jpg")


def test_failure_leaves_no_partial_shards(tmp_path):
    _write_images(str(tmp_path / "img"), 3)
    flist = tmp_path / "list.flist"
    flist.write_text("img/im0.png\nimg/im1.png\nimg/gone.png\nimg/im2.png\n")
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError, match="gone.png"):
        tfrecords.write_tfrecords(str(flist), str(out / "t"), 2, shuffle_seed=None)
    assert os.listdir(out) == []


def test_existing_shards_need_overwrite_and_stale_ones_are_removed(tmp_path):
    source = str(tmp_path / "img")
    _write_images(source, 4)
    prefix = str(tmp_path / "out" / "t")
    first = tfrecords.write_tfrecords(source, prefix, 4)
    with pytest.raises(FileExistsError, match="overwrite"):
        tfrecords.write_tfrecords(source, prefix, 2)
    assert sorted(tf.io.gfile.glob(prefix + "-*")) == first
    second = tfrecords.write_tfrecords(source, prefix, 2, overwrite=True)
    assert sorted(tf.io.gfile.glob(prefix + "-*")) == second
    assert _leftovers(str(tmp_path / "out")) == []


@pytest.mark.parametrize("shards", [0, 4])
def test_num_shards_out_of_range(tmp_path, shards):
    _write_images(str(tmp_path / "img"), 3)
    with pytest.raises(ValueError, match=r"num_shards=\d must be in \[1, 3\]"):
        tfrecords.write_tfrecords(str(tmp_path / "img"), str(tmp_path / "t"), shards)
