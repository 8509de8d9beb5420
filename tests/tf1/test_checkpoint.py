"""Importing TF1 DeepFill v1 checkpoints (gi_tf.tf1.checkpoint, gi_tf.tf1.names).

The checkpoints are written here with a TF1 ``Saver`` from random weights under the
original variable names in the BGR layout (tests/references/tf1_reference.py), and the
imported model is compared with an independent graph-mode re-statement of the original
network (same file) run on the BGR image.
"""

import os
import shutil

import numpy as np
import pytest

from gi_tf.inference import preprocessing
from gi_tf.models.generator import build_generator
from gi_tf.tf1 import checkpoint as tf1_checkpoint
from gi_tf.tf1 import names as tf1_names

from references import tf1_reference as ref

# Generator variables that also get Adam slots in the fake training snapshot.
SLOTTED = ("inpaint_net/conv1/kernel", "inpaint_net/allconv17/bias")
HEIGHT, WIDTH = 64, 96  # non-square, so a height/width mix-up shows
HOLE = (slice(13, 43), slice(22, 61))


@pytest.fixture(scope="module")
def tf1_arrays():
    return ref.random_weights(seed=0)


@pytest.fixture(scope="module")
def released_dir(tmp_path_factory, tf1_arrays):
    directory = tmp_path_factory.mktemp("release_places2_256")
    arrays = dict(tf1_arrays)
    arrays.update(ref.training_extras(SLOTTED))
    ref.save_tf1_checkpoint(directory, arrays, name="snap-0")
    return str(directory)


@pytest.fixture(scope="module")
def imported(released_dir):
    return tf1_checkpoint.import_tf1_generator(released_dir)


def _expected_rgb(name, value):
    """The released array converted to RGB, written out channel by channel."""
    scope, part = name.split("/")[1], name.split("/")[-1]
    if part == "kernel" and scope in ("conv1", "xconv1", "pmconv1"):
        return value[:, :, [2, 1, 0, 3, 4], :]  # B G R ones mask -> R G B ones mask
    if scope in ("conv17", "allconv17"):
        return value[..., [2, 1, 0]]
    return value


def _hole_mask(batch=1):
    mask = np.zeros((batch, HEIGHT, WIDTH, 1), np.float32)
    mask[:, HOLE[0], HOLE[1]] = 1.0
    return mask


def _align_corners_picks(size_in, size_out):
    """TF1 resize_nearest_neighbor(align_corners=True) source indices, in closed form."""
    scale = np.float32(size_in - 1) / np.float32(size_out - 1)
    return np.minimum(np.round(np.arange(size_out, dtype=np.float32) * scale).astype(int),
                      size_in - 1)


# -- names, shapes and weights ------------------------------------------------------------


def test_name_table_is_the_released_variable_list(imported):
    generator, _ = imported
    table = tf1_names.tf1_name_table(generator)
    assert {n: tuple(v.shape) for n, v in table.items()} == ref.VARIABLE_SHAPES
    assert len(table) == 84
    assert sum(int(np.prod(s)) for s in ref.VARIABLE_SHAPES.values()) == 3_601_542


def test_every_weight_is_imported_with_the_bgr_to_rgb_conversion(imported, tf1_arrays):
    generator, weights = imported
    table = tf1_names.tf1_name_table(generator)
    for name, value in tf1_arrays.items():
        np.testing.assert_array_equal(table[name].numpy(), _expected_rgb(name, value), name)
    converted = [n for n, v in tf1_arrays.items() if _expected_rgb(n, v) is not v]
    assert len(converted) == 7  # 3 input kernels; kernel and bias of 2 output convs
    assert weights.parameters == 3_601_542


def test_swap_bgr_rgb_is_its_own_inverse_and_leaves_its_input_alone(tf1_arrays):
    before = {n: v.copy() for n, v in tf1_arrays.items()}
    once = tf1_names.swap_bgr_rgb(tf1_arrays)
    twice = tf1_names.swap_bgr_rgb(once)
    for name in tf1_arrays:
        np.testing.assert_array_equal(twice[name], before[name])
        np.testing.assert_array_equal(tf1_arrays[name], before[name])
    changed = sorted(n for n in tf1_arrays if not np.array_equal(once[n], before[n]))
    assert changed == sorted([
        "inpaint_net/conv1/kernel", "inpaint_net/xconv1/kernel", "inpaint_net/pmconv1/kernel",
        "inpaint_net/conv17/kernel", "inpaint_net/conv17/bias",
        "inpaint_net/allconv17/kernel", "inpaint_net/allconv17/bias"])


def test_critic_optimizer_and_counter_variables_are_reported_and_ignored(imported):
    _, weights = imported
    assert sorted(weights.generator) == sorted(ref.VARIABLE_SHAPES)
    critic_slots = ["discriminator/dout_local_fc/bias/Adam",
                    "discriminator/dout_local_fc/bias/Adam_1"]
    assert weights.critic == tuple(sorted(list(ref.CRITIC_SHAPES) + critic_slots))
    generator_slots = [f"{n}/{s}" for n in SLOTTED for s in ("Adam", "Adam_1")]
    assert weights.other == tuple(sorted(
        generator_slots + ["beta1_power", "beta2_power", "global_step"]))
    assert "ignored 22 critic and 7 other" in weights.summary()


# -- fidelity -----------------------------------------------------------------------------


def test_the_hole_edges_here_tell_align_corners_resizing_apart():
    # Guards the next test's power: the mask resized to 1/4 (conv6's size) and again to
    # 1/8 inside the attention must differ from plain strided or half-pixel picks.
    mask = _hole_mask()[0, :, :, 0]
    rows, cols = _align_corners_picks(HEIGHT, HEIGHT // 4), _align_corners_picks(WIDTH, WIDTH // 4)
    exact = mask[np.ix_(rows, cols)]
    assert not np.array_equal(exact, mask[::4, ::4])
    assert not np.array_equal(exact, mask[2::4, 2::4])
    np.testing.assert_array_equal(_align_corners_picks(64, 32)[15:18], [30, 33, 35])  # spec 2.7


@pytest.mark.parametrize("size_in, size_out, picked, skipped", [
    (64, 32, [0, 2, 30, 33, 35, 63], [1, 31, 32, 34]),        # spec 2.7: even, then odd
    (256, 64, [0, 4, 40, 45, 125, 130, 210, 215, 255], [44, 128, 212]),  # mask_s of 256
])
def test_reference_resize_is_the_tf1_align_corners_rule(size_in, size_out, picked, skipped):
    ramp = np.arange(size_in, dtype=np.float32).reshape(1, size_in, 1, 1)
    picks = np.asarray(ref.nearest_align_corners(ramp, size_out, 1))[0, :, 0, 0].astype(int)
    np.testing.assert_array_equal(picks, _align_corners_picks(size_in, size_out))
    assert set(picked) <= set(picks) and not set(skipped) & set(picks)


def test_imported_model_on_rgb_matches_the_tf1_graph_on_bgr(imported, tf1_arrays):
    generator, _ = imported
    rng = np.random.default_rng(1)
    image = rng.uniform(-1.0, 1.0, (2, HEIGHT, WIDTH, 3)).astype(np.float32)
    mask = _hole_mask()
    ref_coarse, ref_refined, ref_offsets = ref.run_generator(image[..., ::-1], mask, tf1_arrays)
    coarse, refined, offsets = (
        np.asarray(t) for t in generator(image, np.repeat(mask, 2, axis=0)))
    np.testing.assert_allclose(coarse, ref_coarse[..., ::-1], atol=1e-4)
    np.testing.assert_allclose(refined, ref_refined[..., ::-1], atol=1e-4)
    assert np.mean(np.all(offsets == ref_offsets, axis=-1)) >= 0.99
    # The comparison is not vacuous: outputs vary and are not all clipped.
    assert np.std(refined) > 0.2 and np.mean(np.abs(refined) < 1.0) > 0.5
    assert len(np.unique(ref_offsets.reshape(-1, 2), axis=0)) > 5


def test_self_check_channel_reversed_twin_gives_channel_reversed_outputs(imported):
    generator, weights = imported
    check = tf1_checkpoint.self_check(generator, weights, HEIGHT, WIDTH)
    assert check.shape == (2, HEIGHT, WIDTH, 3)
    assert check.max_abs_diff < 1e-4
    assert check.offsets_agreement >= 0.99
    assert "max |diff|" in check.summary()
    # Without the conversion the same comparison fails, so the check can fail.
    unconverted = build_generator()
    tf1_checkpoint.assign_tf1_weights(unconverted, weights.generator, bgr_to_rgb=False)
    image, holes = tf1_checkpoint.synthetic_image_and_holes(HEIGHT, WIDTH, 1)
    _, refined, _ = generator(image, holes)
    _, refined_bgr, _ = unconverted(image[..., ::-1], holes)
    np.testing.assert_allclose(refined, np.asarray(refined_bgr)[..., ::-1], atol=1e-4)
    _, wrong, _ = unconverted(image, holes)
    assert np.max(np.abs(np.asarray(wrong) - np.asarray(refined))) > 0.1


def test_uint8_pipeline_matches_the_original_test_py_within_one_level(imported, tf1_arrays):
    generator, _ = imported
    height, width = HEIGHT + 6, WIDTH + 5  # cropped to 64 x 96 as test.py does
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.stack([127 + 100 * np.sin(rows / 7.0), 127 + 100 * np.cos(cols / 9.0),
                      (3 * rows + 2 * cols) % 256], axis=-1)
    image = np.clip(image + rng.normal(0, 10, image.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[HOLE] = 255
    expected_bgr = ref.server_pipeline(image[..., ::-1], np.stack([mask] * 3, -1), tf1_arrays)
    result = preprocessing.inpaint_uint8(
        generator, image[None], mask[None, :, :, None], policy="crop")["inpainted"]
    result = np.asarray(result)[0]
    assert result.shape == expected_bgr.shape == (HEIGHT, WIDTH, 3)
    difference = np.abs(result.astype(int) - expected_bgr[..., ::-1].astype(int))
    assert difference.max() <= 1
    assert difference[HOLE].max() <= 1 and np.mean(difference[HOLE] == 0) > 0.99


# -- locating checkpoints -----------------------------------------------------------------


def _copy_release(source, target, index_name="checkpoint", index_path=None):
    """Copy a checkpoint directory; optionally rename the index or rewrite its path."""
    os.makedirs(target)
    for name in os.listdir(source):
        if name.startswith("snap-0."):
            shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    named = index_path or os.path.join(source, "snap-0")
    with open(os.path.join(target, index_name), "w") as f:
        f.write(f'model_checkpoint_path: "{named}"\nall_model_checkpoint_paths: "{named}"\n')
    return os.path.join(target, "snap-0")


def test_resolve_accepts_directory_index_prefix_and_its_files(released_dir):
    prefix = os.path.join(released_dir, "snap-0")
    for path in (released_dir, os.path.join(released_dir, "checkpoint"), prefix,
                 prefix + ".index", prefix + ".meta", prefix + ".data-00000-of-00001"):
        assert tf1_checkpoint.resolve_tf1_checkpoint(path) == prefix, path


@pytest.mark.parametrize("index_path", [
    "snap-0",  # the released index (69 bytes) names the prefix relatively
    "/home/someone/model_logs/release_places2_256/snap-0",  # a training machine's path
])
def test_resolve_reads_a_renamed_checkpoint_txt(released_dir, tmp_path, index_path):
    # The Google Drive download renames the index file "checkpoint.txt".
    target = str(tmp_path / "release_places2_256")
    prefix = _copy_release(released_dir, target, index_name="checkpoint.txt",
                           index_path=index_path)
    assert tf1_checkpoint.resolve_tf1_checkpoint(target) == prefix
    weights = tf1_checkpoint.read_tf1_checkpoint(target)
    assert weights.prefix == prefix and len(weights.generator) == 84


def test_resolve_prefers_the_copy_next_to_the_index(released_dir, tmp_path):
    # A copied directory whose index still names the (existing) original.
    target = str(tmp_path / "copy")
    prefix = _copy_release(released_dir, target)
    assert tf1_checkpoint.resolve_tf1_checkpoint(target) == prefix


def test_resolve_takes_the_only_snapshot_of_a_directory_without_index(released_dir, tmp_path):
    target = str(tmp_path / "no_index")
    prefix = _copy_release(released_dir, target)
    os.remove(os.path.join(target, "checkpoint"))
    assert tf1_checkpoint.resolve_tf1_checkpoint(target) == prefix
    shutil.copyfile(prefix + ".index", os.path.join(target, "snap-1.index"))
    with pytest.raises(FileNotFoundError, match=r"several snapshots \['snap-0', 'snap-1'\]"):
        tf1_checkpoint.resolve_tf1_checkpoint(target)


def test_resolve_names_a_path_without_checkpoint(tmp_path):
    missing = str(tmp_path / "release_celeba_256" / "snap-0")
    with pytest.raises(FileNotFoundError, match="release_celeba_256/snap-0"):
        tf1_checkpoint.resolve_tf1_checkpoint(missing)
    with pytest.raises(FileNotFoundError, match="No TF1 checkpoint found in directory"):
        tf1_checkpoint.resolve_tf1_checkpoint(str(tmp_path))


# -- loud failures ------------------------------------------------------------------------


def test_mismatch_names_every_missing_unexpected_and_misshaped_variable(
        tf1_arrays, tmp_path, imported):
    arrays = dict(tf1_arrays)
    del arrays["inpaint_net/conv1/kernel"]
    arrays["inpaint_net/conv18/kernel"] = np.zeros((3, 3, 3, 3), np.float32)
    arrays["inpaint_net/conv2_downsample/kernel"] = np.zeros((3, 3, 64, 32), np.float32)
    prefix = ref.save_tf1_checkpoint(tmp_path, arrays)
    generator, _ = imported
    before = generator.conv3.kernel.numpy().copy()
    with pytest.raises(ValueError) as info:
        tf1_checkpoint.import_tf1_generator(str(tmp_path), generator)
    message = str(info.value)
    assert prefix in message and "DeepFill v2" in message
    assert "1 missing variable(s):\n    inpaint_net/conv1/kernel" in message
    assert "1 unexpected variable(s):\n    inpaint_net/conv18/kernel" in message
    assert ("inpaint_net/conv2_downsample/kernel: checkpoint [3, 3, 64, 32], "
            "expected [3, 3, 32, 64]") in message
    np.testing.assert_array_equal(generator.conv3.kernel.numpy(), before)  # nothing assigned


def test_a_checkpoint_without_generator_variables_says_so(tmp_path):
    ref.save_tf1_checkpoint(tmp_path, {"discriminator/dout_local_fc/bias": np.zeros(1)})
    with pytest.raises(ValueError, match="no 'inpaint_net/' variables at all") as info:
        tf1_checkpoint.import_tf1_generator(str(tmp_path), build_generator())
    # one line: the 84 generator names it lacks would bury the reason
    assert "\n" not in str(info.value) and "missing" not in str(info.value)
    assert "A gi_tf checkpoint needs no import" in str(info.value)


def test_unreadable_files_give_a_value_error(tmp_path):
    (tmp_path / "snap-0.index").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Cannot read TF1 checkpoint"):
        tf1_checkpoint.read_tf1_checkpoint(str(tmp_path / "snap-0"))
