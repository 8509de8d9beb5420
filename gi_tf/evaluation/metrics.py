"""Image-quality metrics of an inpainting result, whole image and hole only (NumPy).

Both images map to [0, 1] (uint8 / 255; float taken as is); ``l1`` = 100 * mean|p - t|,
``l2`` = 100 * mean (p - t)^2, ``psnr`` with peak 1 (``inf`` when identical), ``ssim`` as
Wang et al. 2004 (11x11 Gaussian, sigma 1.5, population covariances, 5 px border cropped as
``tf.image.ssim``), ``tv`` of the result in percent (compare with the ground truth's; lower
is smoother, not better). The paper never published its formulas (the authors' issue #146),
so these definitions are ours and not comparable with its Table 1.

Example:
    >>> a = np.zeros((16, 16, 3), np.uint8); b = np.full((16, 16, 3), 51, np.uint8)
    >>> round(image_metrics(a, b, np.ones((16, 16), bool))["l1"], 6)  # 51/255 = 20 %
    20.0
"""

import math

import cv2
import numpy as np

METRICS = ("l1", "l1_hole", "l2", "l2_hole", "psnr", "psnr_hole", "ssim", "ssim_hole",
           "tv", "tv_hole")
HIGHER_IS_BETTER = ("psnr", "psnr_hole", "ssim", "ssim_hole")
TV_METRICS = ("tv", "tv_hole")  # neither higher nor lower is better: closest to the truth
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def as_unit(image):
    """float64 ``[H, W, C]`` in [0, 1]: uint8 divided by 255, float kept as is."""
    image = np.asarray(image)
    out = image.astype(np.float64)
    if image.dtype == np.uint8:
        out /= 255.0
    return out[..., None] if out.ndim == 2 else out


def holes_2d(holes, shape):
    """bool ``[H, W]`` from a hole mask ``[H, W]`` or ``[H, W, 1]`` matching ``shape[:2]``."""
    holes = np.asarray(holes, bool)
    if holes.ndim == 3 and holes.shape[-1] == 1:
        holes = holes[..., 0]
    if holes.shape != tuple(shape[:2]):
        raise ValueError(f"holes shape {holes.shape} does not match image shape {tuple(shape)}")
    return holes


def psnr_from_mse(mse):
    """PSNR in dB for peak 1.0; ``inf`` when ``mse`` is 0, ``nan`` when it is nan."""
    if math.isnan(mse):
        return math.nan
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def _mean_or_nan(values):
    return float(np.mean(values)) if np.size(values) else math.nan


def _gaussian_blur(x):
    return cv2.GaussianBlur(x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA,
                            borderType=cv2.BORDER_REFLECT)


def ssim_map(target, prediction):
    """Per-pixel SSIM ``[H, W]`` (mean over channels) with reflected borders; see module doc."""
    a, b = as_unit(target), as_unit(prediction)
    if a.shape != b.shape:
        raise ValueError(f"target {a.shape} and prediction {b.shape} shapes differ")
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2
    maps = []
    for channel in range(a.shape[-1]):
        x = np.ascontiguousarray(a[..., channel])
        y = np.ascontiguousarray(b[..., channel])
        mean_x, mean_y = _gaussian_blur(x), _gaussian_blur(y)
        var_x = _gaussian_blur(x * x) - mean_x * mean_x
        var_y = _gaussian_blur(y * y) - mean_y * mean_y
        cov = _gaussian_blur(x * y) - mean_x * mean_y
        maps.append((2 * mean_x * mean_y + c1) * (2 * cov + c2)
                    / ((mean_x ** 2 + mean_y ** 2 + c1) * (var_x + var_y + c2)))
    return np.mean(maps, axis=0)


def _interior(values):
    """``values`` without the SSIM window's half-width border (all of it if too small)."""
    crop = (SSIM_WINDOW - 1) // 2
    if min(values.shape[:2]) > 2 * crop:
        return values[crop:-crop, crop:-crop]
    return values


def ssim(target, prediction, holes=None):
    """Mean SSIM over the interior (``holes=None``) or over the hole pixels."""
    values = ssim_map(target, prediction)
    if holes is None:
        return float(_interior(values).mean())
    return _mean_or_nan(values[holes_2d(holes, values.shape)])


def total_variation(image, holes=None):
    """TV of ``image`` in percent (module doc); with ``holes``, pairs touching the hole."""
    x = as_unit(image)
    vertical = np.abs(np.diff(x, axis=0)).mean(axis=-1)  # [H-1, W]
    horizontal = np.abs(np.diff(x, axis=1)).mean(axis=-1)  # [H, W-1]
    if holes is not None:
        h = holes_2d(holes, x.shape)
        vertical = vertical[h[1:] | h[:-1]]
        horizontal = horizontal[h[:, 1:] | h[:, :-1]]
    mean_v = float(vertical.mean()) if vertical.size else 0.0
    mean_h = float(horizontal.mean()) if horizontal.size else 0.0
    return 100.0 * (mean_v + mean_h)


def image_metrics(target, prediction, holes):
    """All :data:`METRICS` of one result, as a dict of floats (see the module doc).

    Args:
        target: ground truth, uint8 (or float in [0, 1]) ``[H, W, C]``.
        prediction: the result, same shape.
        holes: bool ``[H, W]`` or ``[H, W, 1]``, True = hole. Without hole pixels the
            hole metrics are ``nan``.
    """
    t, p = as_unit(target), as_unit(prediction)
    if t.shape != p.shape:
        raise ValueError(f"target {t.shape} and prediction {p.shape} shapes differ")
    h = holes_2d(holes, t.shape)
    diff = p - t
    hole_diff = diff[h]  # [n_hole, C]
    mse = float(np.mean(diff ** 2))
    mse_hole = _mean_or_nan(hole_diff ** 2)
    values = ssim_map(t, p)
    return {
        "l1": 100.0 * float(np.mean(np.abs(diff))),
        "l1_hole": 100.0 * _mean_or_nan(np.abs(hole_diff)),
        "l2": 100.0 * mse,
        "l2_hole": 100.0 * mse_hole,
        "psnr": psnr_from_mse(mse),
        "psnr_hole": psnr_from_mse(mse_hole),
        "ssim": float(_interior(values).mean()),
        "ssim_hole": _mean_or_nan(values[h]),
        "tv": total_variation(p),
        "tv_hole": total_variation(p, h),
    }
