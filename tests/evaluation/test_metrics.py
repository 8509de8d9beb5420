"""gi_tf.evaluation.metrics against closed forms, a brute-force SSIM and tf.image.ssim."""

import math

import numpy as np
import pytest

from gi_tf.evaluation import metrics

C1, C2 = 0.01 ** 2, 0.03 ** 2


def _const(value, shape=(32, 32, 3)):
    return np.full(shape, value, np.float64)


def test_identical_images_give_zero_error_infinite_psnr_unit_ssim():
    image = np.random.default_rng(0).integers(0, 256, (32, 40, 3)).astype(np.uint8)
    holes = np.zeros((32, 40), bool)
    holes[8:20, 10:30] = True
    m = metrics.image_metrics(image, image, holes)
    for key in ("l1", "l1_hole", "l2", "l2_hole"):
        assert m[key] == 0.0
    assert m["psnr"] == math.inf and m["psnr_hole"] == math.inf
    assert m["ssim"] == pytest.approx(1.0, abs=1e-9)
    assert m["ssim_hole"] == pytest.approx(1.0, abs=1e-9)
    assert m["tv"] == pytest.approx(metrics.total_variation(image))


@pytest.mark.parametrize("a,b", [(0.2, 0.5), (0.9, 0.1), (0.0, 1.0)])
def test_constant_images_match_closed_forms(a, b):
    holes = np.zeros((32, 32), bool)
    holes[4:12, 4:12] = True
    m = metrics.image_metrics(_const(a), _const(b), holes)
    d = abs(a - b)
    assert m["l1"] == pytest.approx(100 * d) and m["l1_hole"] == pytest.approx(100 * d)
    assert m["l2"] == pytest.approx(100 * d * d) and m["l2_hole"] == pytest.approx(100 * d * d)
    assert m["psnr"] == pytest.approx(-20 * math.log10(d))
    # Constant images have zero variances: SSIM is the luminance term alone.
    expected = (2 * a * b + C1) / (a * a + b * b + C1)
    assert m["ssim"] == pytest.approx(expected, rel=1e-9)
    assert m["ssim_hole"] == pytest.approx(expected, rel=1e-9)
    assert m["tv"] == 0.0 and m["tv_hole"] == 0.0


def test_uint8_inputs_are_scaled_by_255():
    m = metrics.image_metrics(np.full((16, 16, 3), 51, np.uint8),
                              np.full((16, 16, 3), 102, np.uint8), np.ones((16, 16), bool))
    assert m["l1"] == pytest.approx(20.0)  # 51/255 = 0.2
    assert m["l2"] == pytest.approx(4.0)
    assert m["psnr"] == pytest.approx(-20 * math.log10(0.2))


def test_hole_metrics_count_only_hole_pixels():
    target = _const(0.5)
    holes = np.zeros((32, 32), bool)
    holes[:8, :16] = True  # 1/8 of the image
    outside = target.copy()
    outside[~holes] = 0.9
    m = metrics.image_metrics(target, outside, holes)
    assert m["l1_hole"] == 0.0 and m["l2_hole"] == 0.0 and m["psnr_hole"] == math.inf
    assert m["l1"] == pytest.approx(100 * 0.4 * 7 / 8)
    inside = target.copy()
    inside[holes] = 0.7
    m = metrics.image_metrics(target, inside, holes)
    assert m["l1_hole"] == pytest.approx(20.0) and m["l2_hole"] == pytest.approx(4.0)
    assert m["l1"] == pytest.approx(20.0 / 8) and m["l2"] == pytest.approx(4.0 / 8)
    assert m["psnr_hole"] == pytest.approx(-20 * math.log10(0.2))
    assert m["psnr"] == pytest.approx(-10 * math.log10(0.04 / 8))


def test_empty_hole_gives_nan_hole_metrics():
    m = metrics.image_metrics(_const(0.2), _const(0.3), np.zeros((32, 32), bool))
    for key in ("l1_hole", "l2_hole", "psnr_hole", "ssim_hole"):
        assert math.isnan(m[key]), key
    assert m["tv_hole"] == 0.0


def test_one_pixel_shift_of_a_step_edge():
    h, w, k = 16, 20, 7
    step = np.zeros((h, w, 3))
    step[:, k + 1:] = 1.0
    shifted = np.zeros((h, w, 3))
    shifted[:, k + 2:] = 1.0
    # One jump of 1 per row: H of the H*(W-1) horizontal pairs; no vertical change.
    assert metrics.total_variation(step) == pytest.approx(100.0 / (w - 1))
    assert metrics.total_variation(shifted) == pytest.approx(100.0 / (w - 1))
    # The shifted edge differs from the original in exactly one column.
    m = metrics.image_metrics(step, shifted, np.ones((h, w), bool))
    assert m["l1"] == pytest.approx(100.0 / w) and m["l2"] == pytest.approx(100.0 / w)
    assert m["psnr"] == pytest.approx(10 * math.log10(w))


def test_tv_is_the_mean_l1_against_one_pixel_shifts():
    x = np.random.default_rng(1).random((12, 15, 3))
    expected = 100 * (np.abs(x[1:] - x[:-1]).mean() + np.abs(x[:, 1:] - x[:, :-1]).mean())
    assert metrics.total_variation(x) == pytest.approx(expected)
    stripes = np.zeros((10, 10, 3))
    stripes[:, ::2] = 1.0  # every horizontal pair differs by 1, vertical pairs by 0
    assert metrics.total_variation(stripes) == pytest.approx(100.0)


def test_tv_hole_counts_pairs_touching_the_hole():
    image = np.zeros((8, 8, 3))
    image[:, 4:] = 1.0  # edge between columns 3 and 4
    holes = np.zeros((8, 8), bool)
    holes[0:2, 0:2] = True  # far from the edge
    assert metrics.total_variation(image, holes) == 0.0
    holes[:] = False
    holes[0, 4] = True  # pairs (0,3)-(0,4), (0,4)-(0,5) horizontal, (0,4)-(1,4) vertical
    assert metrics.total_variation(image, holes) == pytest.approx(100 * (0.0 + 1 / 2))


def _brute_force_ssim_map(a, b):
    """Wang et al. at interior pixels with an explicit normalised Gaussian window."""
    r = 5
    g = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * 1.5 ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    out = np.full(a.shape[:2], np.nan)
    for i in range(r, a.shape[0] - r):
        for j in range(r, a.shape[1] - r):
            values = []
            for c in range(a.shape[2]):
                pa = a[i - r:i + r + 1, j - r:j + r + 1, c]
                pb = b[i - r:i + r + 1, j - r:j + r + 1, c]
                ma, mb = (window * pa).sum(), (window * pb).sum()
                va, vb = (window * (pa - ma) ** 2).sum(), (window * (pb - mb) ** 2).sum()
                cab = (window * (pa - ma) * (pb - mb)).sum()
                values.append((2 * ma * mb + C1) * (2 * cab + C2)
                              / ((ma * ma + mb * mb + C1) * (va + vb + C2)))
            out[i, j] = np.mean(values)
    return out


def _noisy_pair(seed, shape=(20, 22, 3), noise=0.1):
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    return a, np.clip(a + rng.normal(0, noise, shape), 0, 1)


def test_ssim_matches_brute_force_reference_in_the_interior():
    a, b = _noisy_pair(2)
    expected = _brute_force_ssim_map(a, b)
    got = metrics.ssim_map(a, b)
    inner = ~np.isnan(expected)
    np.testing.assert_allclose(got[inner], expected[inner], rtol=1e-6, atol=1e-9)
    assert metrics.ssim(a, b) == pytest.approx(expected[inner].mean(), rel=1e-6)


def test_ssim_of_a_brightness_shift_is_the_luminance_term_alone():
    # b = a + c leaves variances and covariance equal (contrast-structure term = 1), so
    # SSIM = (2 mu (mu + c) + C1) / (mu^2 + (mu + c)^2 + C1) with mu the window mean of a.
    a = np.random.default_rng(6).random((24, 26, 3)) * 0.5
    c = 0.3
    g = np.exp(-np.arange(-5, 6) ** 2 / (2 * 1.5 ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    mu = np.array([[[(window * a[i - 5:i + 6, j - 5:j + 6, ch]).sum() for ch in range(3)]
                    for j in range(5, 21)] for i in range(5, 19)])
    expected = ((2 * mu * (mu + c) + C1) / (mu ** 2 + (mu + c) ** 2 + C1)).mean(axis=-1)
    np.testing.assert_allclose(metrics.ssim_map(a, a + c)[5:-5, 5:-5], expected, rtol=1e-7)


def test_ssim_agrees_with_tf_image_ssim():
    tf = pytest.importorskip("tensorflow")
    a, b = _noisy_pair(3, shape=(48, 40, 3), noise=0.2)
    reference = float(tf.image.ssim(tf.constant(a, tf.float32), tf.constant(b, tf.float32),
                                    max_val=1.0, filter_size=11, filter_sigma=1.5))
    assert metrics.ssim(a, b) == pytest.approx(reference, abs=2e-5)


def test_ssim_agrees_with_scikit_image_when_installed():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    a, b = _noisy_pair(4, shape=(40, 36, 3), noise=0.15)
    reference = skimage_metrics.structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0,
        channel_axis=-1)
    assert metrics.ssim(a, b) == pytest.approx(reference, rel=1e-7)


def test_ssim_hole_averages_the_map_over_hole_pixels():
    a, b = _noisy_pair(5)
    holes = np.zeros(a.shape[:2], bool)
    holes[3:9, 4:15] = True
    assert metrics.ssim(a, b, holes) == pytest.approx(metrics.ssim_map(a, b)[holes].mean())


def test_mismatched_shapes_are_rejected_with_the_shapes_named():
    with pytest.raises(ValueError, match=r"\(8, 8, 3\).*\(8, 9, 3\)"):
        metrics.image_metrics(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)), np.zeros((8, 8), bool))
    with pytest.raises(ValueError, match="holes shape"):
        metrics.image_metrics(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), np.zeros((4, 8), bool))
