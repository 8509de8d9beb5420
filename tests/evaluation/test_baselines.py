"""OpenCV baselines of gi_tf.evaluation.baselines: known pixels untouched, sensible fills."""

import numpy as np
import pytest

from gi_tf.evaluation import baselines


def _constant_image_with_hole():
    image = np.full((32, 32, 3), 90, np.uint8)
    image[:, :, 1] = 30
    holes = np.zeros((32, 32), bool)
    holes[10:20, 12:22] = True
    return image, holes


def test_baselines_keep_known_pixels_and_fill_constant_images():
    image, holes = _constant_image_with_hole()
    corrupted = image.copy()
    corrupted[holes] = 255  # whatever is in the hole must not leak into the result
    methods = baselines.baseline_methods()
    assert list(methods) == [baselines.TELEA, baselines.NAVIER_STOKES]
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
