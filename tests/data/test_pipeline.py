"""Tests for gi_tf/data/pipeline.py: sources, preprocessing, bad images, sharding, resume."""

import dataclasses
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.data import builtin_images
from gi_tf.data import pipeline
from gi_tf.data import tfrecords


def _write_flat_images(folder, count, size=(12, 20), sub_every=3):
    """Images of one flat colour each (value 10*i+5 in R, 250-10*i in B); returns paths.

    A flat image survives resizing, cropping and flipping unchanged, so a batch tells
    which file each sample came from.
    """
    paths = []
    for i in range(count):
        folder_i = os.path.join(folder, "sub") if i % sub_every == 2 else folder
        os.makedirs(folder_i, exist_ok=True)
        bgr = np.zeros(size + (3,), np.uint8)
        bgr[..., 2], bgr[..., 1], bgr[..., 0] = 10 * i + 5, 100, 250 - 10 * i
        path = os.path.join(folder_i, f"img{i:02d}.png" if i % 2 else f"img{i:02d}.JPG")
        cv2.imwrite(path, bgr, [cv2.IMWRITE_JPEG_QUALITY, 100] if i % 2 == 0 else [])
        paths.append(path)
    return paths


def _ids(batch):
    """File number of each flat-colour sample of a [B, S, S, 3] batch in [-1, 1]."""
    red = (np.asarray(batch)[:, 0, 0, 0] + 1.0) * 127.5
    return [int(round((r - 5) / 10)) for r in red]


def _listing_ids(folder):
    """File numbers in the order pipeline.list_image_files lists them."""
    return [int(os.path.basename(p)[3:5]) for p in pipeline.list_image_files(folder)]


def _take(dataset, batches):
    return np.concatenate([b.numpy() for b in dataset.take(batches)])


@pytest.fixture()
def flat_folder(tmp_path):
    folder = str(tmp_path / "images")
    _write_flat_images(folder, 10)
    return folder


@pytest.mark.parametrize("make,error,match", [
    (lambda p: str(p / "missing"), FileNotFoundError, "image source not found"),
    (lambda p: str(p / "missing.flist"), FileNotFoundError, "file list not found"),
    (lambda p: (p / "empty").mkdir() or str(p / "empty"), ValueError, "no images"),
    (lambda p: (p / "e.flist").write_text("\n \n") and str(p / "e.flist"), ValueError,
     "file list is empty"),
    (lambda p: str(p / "nothing-*.tfrecord"), FileNotFoundError, "no TFRecord files match"),
])
def test_make_dataset_clear_errors_for_missing_or_empty_sources(tmp_path, make, error, match):
    with pytest.raises(error, match=match):
        pipeline.make_dataset(pipeline.DataConfig(make(tmp_path), image_size=8), 2)


def test_all_unreadable_source_raises_instead_of_spinning(tmp_path):
    for i in range(3):
        (tmp_path / f"bad{i}.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="none of the first 3 images"):
        pipeline.make_dataset(pipeline.DataConfig(str(tmp_path), image_size=8), 2)


@pytest.mark.parametrize("field,value", [
    ("source", ""), ("source", "builtin:noise"), ("image_size", 1), ("shuffle_buffer", -1),
    ("num_parallel_calls", 0), ("seed", 1.5),
])
def test_data_config_validate_names_field(field, value):
    with pytest.raises(ValueError, match=f"DataConfig.{field}="):
        dataclasses.replace(pipeline.DataConfig("x"), **{field: value})


def test_preprocess_resize_matches_opencv_bilinear():
    rng = np.random.default_rng(0)
    for shape in ((9, 14, 3), (40, 23, 3)):
        image = rng.integers(0, 256, shape).astype(np.uint8)
        out = pipeline.preprocess_image(image, 16, False, False, [1, 2]).numpy()
        expected = cv2.resize(image.astype(np.float32), (16, 16), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(out, expected / 127.5 - 1.0, atol=2e-3)


def _find_window(big, crop):
    """(top, left) where ``crop`` sits exactly (to 2e-3) inside ``big``, else None."""
    size = crop.shape[0]
    for top in range(big.shape[0] - size + 1):
        for left in range(big.shape[1] - crop.shape[1] + 1):
            if np.allclose(big[top:top + size, left:left + size], crop, atol=2e-3):
                return top, left
    return None


def test_preprocess_random_crop_large_image_is_an_exact_window():
    image = np.random.default_rng(1).integers(0, 256, (20, 24, 3)).astype(np.uint8)
    scaled = image / 127.5 - 1.0
    windows = set()
    for seed in range(12):
        crop = pipeline.preprocess_image(image, 16, True, False, [seed, 0]).numpy()
        window = _find_window(scaled, crop)
        assert window is not None
        windows.add(window)
    assert len(windows) > 3  # the position is random


def test_preprocess_random_crop_upscales_small_image_like_neuralgym():
    # 10x40 at S=16: scale max(16/10, 16/40) = 1.6 -> 16x64, then a 16x16 window.
    image = np.random.default_rng(2).integers(0, 256, (10, 40, 3)).astype(np.uint8)
    upscaled = cv2.resize(image.astype(np.float32), (64, 16), interpolation=cv2.INTER_LINEAR)
    crop = pipeline.preprocess_image(image, 16, True, False, [3, 4]).numpy()
    window = _find_window(upscaled / 127.5 - 1.0, crop)
    assert window is not None and window[0] == 0


def test_preprocess_flip_is_random_and_mirrors():
    image = np.random.default_rng(3).integers(0, 256, (8, 8, 3)).astype(np.uint8)
    plain = image / 127.5 - 1.0
    flipped = 0
    for seed in range(16):
        out = pipeline.preprocess_image(image, 8, False, True, [seed, 7]).numpy()
        is_flipped = np.allclose(out, plain[:, ::-1], atol=1e-6)
        assert is_flipped or np.allclose(out, plain, atol=1e-6)
        flipped += is_flipped
    assert 0 < flipped < 16


def test_folder_dataset_rgb_values_epochs_and_determinism(flat_folder):
    config = pipeline.DataConfig(flat_folder, image_size=8, seed=3)
    batches = _take(pipeline.make_dataset(config, 5), 4)
    assert batches.shape == (20, 8, 8, 3) and batches.dtype == np.float32
    ids = _ids(batches)
    # RGB: red channel holds 10*i+5 (written as the last channel of OpenCV's BGR).
    np.testing.assert_allclose((batches[:, 0, 0, 1] + 1) * 127.5, 100, atol=1.5)
    np.testing.assert_allclose((batches[:, 0, 0, 2] + 1) * 127.5,
                               [250 - 10 * i for i in ids], atol=1.5)
    assert sorted(ids[:10]) == list(range(10)) and sorted(ids[10:]) == list(range(10))
    listing = _listing_ids(flat_folder)
    assert ids[:10] != ids[10:] and ids[:10] != listing  # reshuffled each epoch
    np.testing.assert_array_equal(batches, _take(pipeline.make_dataset(config, 5), 4))
    other = pipeline.make_dataset(dataclasses.replace(config, seed=4), 5)
    assert _ids(_take(other, 2)) != ids[:10]
    in_order = pipeline.make_dataset(dataclasses.replace(config, shuffle_buffer=0), 5)
    assert _ids(_take(in_order, 2)) == listing


def test_skip_batches_resumes_the_stream_exactly(flat_folder):
    config = pipeline.DataConfig(flat_folder, image_size=8, random_crop=True, flip=True)
    full = _take(pipeline.make_dataset(config, 3), 6)
    resumed = _take(pipeline.make_dataset(config, 3, skip_batches=4), 2)
    np.testing.assert_array_equal(full[12:], resumed)


def test_bad_images_are_skipped_counted_and_named(flat_folder, tmp_path):
    (tmp_path / "images" / "corrupt.png").write_bytes(b"\x89PNG broken")
    truncated = open(os.path.join(flat_folder, "img00.JPG"), "rb").read()[:60]
    (tmp_path / "images" / "zz_truncated.jpg").write_bytes(truncated)
    flist = tmp_path / "train.flist"
    flist.write_text("\n".join(pipeline.list_image_files(flat_folder) + ["images/missing.png"]))
    skipped = pipeline.SkippedImages()
    config = pipeline.DataConfig(str(flist), image_size=8, shuffle_buffer=0)
    one_pass = _take(pipeline.make_dataset(config, 4, repeat=False, skipped=skipped), 10)
    assert sorted(_ids(one_pass)) == list(range(10))
    assert skipped.count == 3 and int(skipped) == 3
    assert [os.path.basename(n) for n in skipped.examples] == [
        "corrupt.png", "zz_truncated.jpg", "missing.png"]  # the last one trails the pass
    endless = pipeline.SkippedImages()
    batches = _take(pipeline.make_dataset(dataclasses.replace(config, shuffle_buffer=8), 4,
                                      skipped=endless), 7)
    assert sorted(_ids(batches)[:10]) == list(range(10))
    assert endless.count >= 3


def test_input_context_shards_files_and_splits_the_batch(flat_folder):
    config = pipeline.DataConfig(flat_folder, image_size=8)
    seen = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2,
                                             input_pipeline_id=pipeline_id,
                                             num_replicas_in_sync=2)
        one_pass = _take(pipeline.make_dataset(config, 4, context, repeat=False), 3)
        assert one_pass.shape[0] == 5
        assert next(iter(pipeline.make_dataset(config, 4, context))).shape[0] == 2
        seen.append(set(_ids(one_pass)))
    assert seen[0].isdisjoint(seen[1]) and seen[0] | seen[1] == set(range(10))


def test_fewer_images_than_pipelines_is_an_error(tmp_path):
    _write_flat_images(str(tmp_path), 1)
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=0)
    with pytest.raises(ValueError, match="fewer than the 2 input pipelines"):
        pipeline.make_dataset(pipeline.DataConfig(str(tmp_path), image_size=8), 2, context)


def test_tfrecord_source_matches_folder_and_skips_bad_records(flat_folder, tmp_path):
    prefix = str(tmp_path / "records" / "train")
    tfrecords.write_tfrecords(flat_folder, prefix, num_shards=3)
    bad = tf.train.Example(features=tf.train.Features(feature={
        "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"junk"]))}))
    with tf.io.TFRecordWriter(f"{prefix}-extra.tfrecord") as writer:
        writer.write(bad.SerializeToString())
    skipped = pipeline.SkippedImages()
    config = pipeline.DataConfig(f"{prefix}-*.tfrecord", image_size=8, shuffle_buffer=4)
    one_pass = _take(pipeline.make_dataset(config, 4, repeat=False, skipped=skipped), 5)
    assert sorted(_ids(one_pass)) == list(range(10))
    assert skipped.count == 1 and "train-*.tfrecord (record" in skipped.examples[0]
    endless = _take(pipeline.make_dataset(config, 4), 6)
    assert sorted(_ids(endless)[:10]) == list(range(10))
    assert sorted(_ids(endless)[10:20]) == list(range(10))  # epochs do not mix
    np.testing.assert_array_equal(endless, _take(pipeline.make_dataset(config, 4), 6))
    good = dataclasses.replace(config, source=f"{prefix}-0*.tfrecord", flip=True)
    full = _take(pipeline.make_dataset(good, 4), 5)
    resumed = _take(pipeline.make_dataset(good, 4, skip_batches=3), 2)
    np.testing.assert_array_equal(resumed, full[12:20])


def test_builtin_textures_are_the_generated_textures():
    config = pipeline.DataConfig("builtin:textures:6", image_size=16, shuffle_buffer=0)
    batches = _take(pipeline.make_dataset(config, 3, repeat=False), 2)
    expected = builtin_images.textures(0, 6, 16) / 127.5 - 1.0
    np.testing.assert_allclose(batches, expected, atol=1e-6)
    shuffled = pipeline.make_synthetic_dataset(dataclasses.replace(config, shuffle_buffer=1), 3)
    assert next(iter(shuffled)).shape == (3, 16, 16, 3)
