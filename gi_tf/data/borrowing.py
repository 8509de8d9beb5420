"""The borrowing task: images whose holes are best filled by copying from elsewhere.

Every image is a *wallpaper* (:func:`wallpaper`): a seamless random tile repeated with a
random period ``(py, px)`` (multiples of :data:`GRID`, the attention's 8 px cells, by
default) and phase, so the true content of a hole exists elsewhere in the same image;
:func:`copy_offsets` gives, per hole pixel, the nearest offset where it is known. An image
is a pure function of ``(seed, index, size)`` (:data:`TRAIN_SEED`, :data:`HELD_OUT_SEED`).
Images are uint8 RGB ``[size, size, 3]``; holes bool ``[H, W]`` (True = hole).

Example:
    >>> sample = wallpaper(0, 3, 64)
    >>> sample.image.shape, sample.image.dtype
    ((64, 64, 3), dtype('uint8'))
    >>> py, px = sample.period
    >>> bool((sample.image[py:] == sample.image[:-py]).all())
    True
"""

import collections

import numpy as np

from gi_tf.data.builtin_images import HELD_OUT_SEED
from gi_tf.data.builtin_images import TRAIN_SEED  # noqa: F401  (re-export)

GRID = 8
PERIOD_RANGE = (16, 48)
MIN_SHAPES, MAX_SHAPES = 3, 6
_TAG = 14  # third word of the NumPy seed: keeps these draws apart from other generators'

Wallpaper = collections.namedtuple("Wallpaper", ["image", "period"])
Wallpaper.__doc__ = """One sample of the borrowing task: ``image`` uint8 RGB [S, S, 3] and
``period`` ``(py, px)`` ints, the vertical and horizontal repeat in pixels."""


def _periods(rng, period_multiple, period_range):
    low, high = period_range
    if period_multiple < 1 or low < period_multiple or high < low:
        raise ValueError(f"periods {period_range} must satisfy period_multiple "
                         f"({period_multiple}) <= low <= high")
    choices = np.arange(-(-low // period_multiple), high // period_multiple + 1) * period_multiple
    if not len(choices):
        raise ValueError(f"no multiple of {period_multiple} in {period_range}")
    return (int(c) for c in rng.choice(choices, 2))


def _tile(rng, height, width):
    """A seamless random tile, float64 ``[height, width, 3]`` in [0, 255]."""
    tile = np.empty((height, width, 3))
    tile[:] = rng.uniform(0, 255, 3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    for _ in range(int(rng.integers(MIN_SHAPES, MAX_SHAPES + 1))):
        colour = rng.uniform(0, 255, 3)
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        ry, rx = rng.uniform(2, height / 2.5), rng.uniform(2, width / 2.5)
        # distances on the torus: a shape crossing the tile's edge continues on the other side
        dy = np.minimum(np.abs(yy - cy), height - np.abs(yy - cy))
        dx = np.minimum(np.abs(xx - cx), width - np.abs(xx - cx))
        if rng.uniform() < 0.5:
            inside = (dy < ry) & (dx < rx)
        else:
            inside = (dy / ry) ** 2 + (dx / rx) ** 2 < 1.0
        tile[inside] = colour
    return tile


def wallpaper(seed, index, size, period_multiple=GRID, period_range=PERIOD_RANGE):
    """Wallpaper ``index`` of dataset ``seed``: a random tile repeated with a random phase.

    Args:
        seed: int >= 0, names the dataset (:data:`TRAIN_SEED`, :data:`HELD_OUT_SEED`).
        index: int >= 0, the image within it.
        size: int >= 8, image side in pixels.
        period_multiple: int >= 1, periods are multiples of it (:data:`GRID` by default).
        period_range: ``(low, high)`` pixels, inclusive bounds of both periods.

    Returns:
        :data:`Wallpaper` ``(image, period)``; ``image`` uint8 RGB ``[size, size, 3]``.

    Raises:
        ValueError: ``size < 8`` or periods that cannot be drawn.
    """
    if int(size) < 8:
        raise ValueError(f"wallpaper size must be >= 8 pixels; got {size!r}")
    rng = np.random.default_rng([int(seed), int(index), _TAG])
    py, px = _periods(rng, int(period_multiple), tuple(period_range))
    tile = np.clip(np.round(_tile(rng, py, px)), 0, 255).astype(np.uint8)
    phase_y, phase_x = int(rng.integers(0, py)), int(rng.integers(0, px))
    rows = (np.arange(int(size)) + phase_y) % py
    cols = (np.arange(int(size)) + phase_x) % px
    return Wallpaper(tile[rows][:, cols], (py, px))


def wallpapers(seed, count, size, start=0, **kwargs):
    """Images ``start .. start + count - 1`` of ``seed``: uint8 ``[count, size, size, 3]``.

    ``kwargs`` go to :func:`wallpaper`.
    """
    if not count:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack([wallpaper(seed, start + i, size, **kwargs).image
                     for i in range(int(count))])


def held_out_wallpapers(count, size, seed=HELD_OUT_SEED, **kwargs):
    """Held-out images as ``(name, image, group)`` tuples, group ``"wallpapers"``.

    Names carry the index and the period, e.g. ``"wallpaper-003-24x40"`` (py x px).
    """
    out = []
    for index in range(int(count)):
        image, (py, px) = wallpaper(seed, index, size, **kwargs)
        out.append((f"wallpaper-{index:03d}-{py}x{px}", image, "wallpapers"))
    return out


def copy_offsets(holes, period):
    """For each hole pixel, the nearest period offset at which its true value is known.

    In a wallpaper of period ``(py, px)`` pixel ``(y, x)`` equals ``(y + k py, x + l px)``;
    this returns the ``(k py, l px)`` with the smallest ``|k| + |l|`` (then the first in
    ``k``, ``l`` order) whose target lies inside the image on a known pixel.

    Args:
        holes: bool ``[H, W]``, True = hole.
        period: ``(py, px)`` ints.

    Returns:
        ``(offsets, found)``: int ``[H, W, 2]`` offsets ``(dy, dx)`` (zero where none) and
        bool ``[H, W]``, True on the hole pixels that have a known copy.
    """
    holes = np.asarray(holes, bool)
    height, width = holes.shape
    py, px = (int(p) for p in period)
    offsets = np.zeros((height, width, 2), np.int64)
    todo = holes.copy()
    shifts = [(k, j) for k in range(-(height // py), height // py + 1)
              for j in range(-(width // px), width // px + 1) if (k, j) != (0, 0)]
    for k, j in sorted(shifts, key=lambda s: (abs(s[0]) + abs(s[1]), s)):
        if not todo.any():
            break
        dy, dx = k * py, j * px
        ys, xs = np.nonzero(todo)
        ty, tx = ys + dy, xs + dx
        ok = (ty >= 0) & (ty < height) & (tx >= 0) & (tx < width)
        ok[ok] = ~holes[ty[ok], tx[ok]]
        offsets[ys[ok], xs[ok]] = (dy, dx)
        todo[ys[ok], xs[ok]] = False
    return offsets, holes & ~todo
