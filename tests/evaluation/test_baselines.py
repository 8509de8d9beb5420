"""Baselines of gi_tf.evaluation.baselines (OpenCV, PatchMatch): known pixels untouched,
sensible fills; PatchMatch skipped with a reason when pypatchmatch is missing."""

import sys

import numpy as np
import pytest

from gi_tf.evaluation import baselines

PATCHMATCH_EXPECTED = sys.version_info >= (3, 11)  # as the [test] extra's marker


def _constant_image_with_hole():
    image = np.full((32, 32, 3), 90, np.uint8)
    image[:, :, 1] = 30
    holes = np.zeros((32, 32), bool)
    holes[10:20, 12:22] = True
    return image, holes


@pytest.mark.smoke
def test_baselines_keep_known_pixels_and_fill_constant_images():
    image, holes = _constant_image_with_hole()
    corrupted = image.copy()
    corrupted[holes] = 255  # whatever is in the hole must not leak into the result
    methods = baselines.baseline_methods()
    # pypatchmatch is in the [test] extra (Python 3.11+, its wheels): PatchMatch must be
    # there, never skipped for a missing package.
    assert list(methods) == [baselines.TELEA, baselines.NAVIER_STOKES] + (
        [baselines.PATCHMATCH] if PATCHMATCH_EXPECTED else [])
    for name, method in methods.items():
        out = method(corrupted, holes)
        assert out.dtype == np.uint8 and out.shape == image.shape, name
        np.testing.assert_array_equal(out[~holes], image[~holes])
        # Both propagate the constant border inward, up to rounding of their weights.
        assert int(np.abs(out.astype(int) - image).max()) <= 3, name


def test_baselines_continue_a_vertical_edge_through_the_hole():
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, 16:] = 200
    holes = np.zeros((32, 32), bool)
    holes[12:20, 8:24] = True
    for name, method in baselines.baseline_methods().items():
        out = method(image, holes).astype(int)
        # Diffusion blurs the edge, but each side of the hole stays on its side's level.
        assert out[12:20, 8:12].mean() < 50 and out[12:20, 20:24].mean() > 150, name
        assert out[12:20, 8:12].max() < out[12:20, 20:24].min(), name


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="algorithm"):
        baselines.opencv_inpaint("patchmatch")
    with pytest.raises(ValueError, match="radius"):
        baselines.opencv_inpaint("ns", radius=0)
    with pytest.raises(ValueError, match="patch_size"):
        baselines.patchmatch_inpaint(patch_size=0)


@pytest.mark.smoke
def test_patchmatch_repeats_and_copies_texture():
    if not PATCHMATCH_EXPECTED:  # Python 3.10: no pypatchmatch 2.x wheel; said so
        with pytest.raises(ImportError, match="needs Python 3.11"):
            baselines.patchmatch_inpaint()
        return
    # Vertical stripes of period 4: a patch-based fill continues them; diffusion cannot.
    stripes = np.zeros((48, 48, 3), np.uint8)
    stripes[:, ::4] = stripes[:, 1::4] = 220
    holes = np.zeros((48, 48), bool)
    holes[16:32, 16:32] = True
    corrupted = stripes.copy()
    corrupted[holes] = 128
    method = baselines.baseline_methods()[baselines.PATCHMATCH]
    out = method(corrupted, holes)
    np.testing.assert_array_equal(out, method(corrupted, holes))  # seeded: same result
    np.testing.assert_array_equal(out[~holes], stripes[~holes])
    error = np.abs(out.astype(int) - stripes)[holes].mean()
    telea = baselines.baseline_methods(patchmatch=False)[baselines.TELEA](corrupted, holes)
    assert error < 0.5 * np.abs(telea.astype(int) - stripes)[holes].mean()
    empty = np.zeros((48, 48), bool)
    np.testing.assert_array_equal(method(stripes, empty), stripes)


@pytest.mark.smoke
def test_patchmatch_missing_is_skipped_with_a_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "patchmatch", None)  # makes the import fail
    monkeypatch.delitem(sys.modules, "patchmatch.patch_match", raising=False)
    said = []
    methods = baselines.baseline_methods(log=said.append)
    assert list(methods) == [baselines.TELEA, baselines.NAVIER_STOKES]
    assert len(said) == 1 and "PatchMatch baseline skipped" in said[0]
    assert ('pip install "gi_tf[patchmatch]"' if PATCHMATCH_EXPECTED else "3.11") in said[0]
    with pytest.raises(ImportError, match="PatchMatch baseline skipped"):
        baselines.patchmatch_inpaint()
    said.clear()
    assert list(baselines.baseline_methods(patchmatch=False, log=said.append)) == [
        baselines.TELEA, baselines.NAVIER_STOKES] and not said
