"""Strategies for big photos: a window around the hole, and/or a smaller working size.

The generator's cost grows with the image area (the attention's with its square: a
1920x1080 photo has 32,400 attention positions at 1/8 scale, 1.05e9 scores). gi_tf
offers three ways to inpaint a large image, combinable:

* **full resolution** (default): the whole image goes through the network; the
  attention is computed in chunks of rows (``attention_chunk_elements``), so memory
  stays bounded while time grows with the area squared;
* **crop to the hole** (``margin``): only the hole's bounding box grown by ``margin``
  pixels of context is inpainted, then pasted back (the attention can only borrow from
  that window);
* **resize to a maximum side** (``max_side``): the (windowed) image is downscaled (area
  interpolation) so its longer side is ``max_side``, inpainted, the result upscaled
  (bilinear) and only its hole pixels pasted into the full-resolution image (fine detail
  in the hole is lost; known pixels stay untouched).

The functions here work on NumPy arrays of one sample and call ``run`` for the network:
``run(images uint8 [N, h, w, 3], holes bool [N, h, w]) -> (result uint8 [N, h, w, 3],
attention uint8 [N, h, w, 3])`` (e.g. the ``serving_default`` pipeline).
"""

import collections

import cv2
import numpy as np

from gi_tf.inference.preprocessing import FULL_MASK_MESSAGE
from gi_tf.inference.preprocessing import SIZE_MULTIPLE

DEFAULT_MARGIN = 128

Window = collections.namedtuple("Window", ["top", "bottom", "left", "right"])
Window.__doc__ = "Rows ``top:bottom`` and columns ``left:right`` of an image (ints)."


def validate_strategy(max_side=None, margin=None):
    """Check the strategy arguments; returns ``(max_side, margin)`` as ints or None.

    Raises:
        ValueError: ``max_side < 8`` or ``margin < 1`` (naming the value).
    """
    if max_side is not None:
        if isinstance(max_side, bool) or int(max_side) != max_side or max_side < SIZE_MULTIPLE:
            raise ValueError(f"max_side must be an integer >= {SIZE_MULTIPLE}; got {max_side!r}")
        max_side = int(max_side)
    if margin is not None:
        if isinstance(margin, bool) or int(margin) != margin or margin < 1:
            raise ValueError(f"crop margin must be an integer >= 1 pixel; got {margin!r}")
        margin = int(margin)
    return max_side, margin


def hole_window(holes, margin):
    """The hole's bounding box grown by ``margin`` on each side, clipped to the image.

    Args:
        holes: bool ``[H, W]`` with at least one True.
        margin: context pixels kept around the hole.

    Returns:
        :class:`Window`. Example: a hole at rows 10..19, cols 30..39 of a 100 x 100
        image with margin 5 gives ``Window(5, 25, 25, 45)``.
    """
    rows = np.flatnonzero(holes.any(axis=1))
    cols = np.flatnonzero(holes.any(axis=0))
    height, width = holes.shape
    return Window(int(max(rows[0] - margin, 0)), int(min(rows[-1] + 1 + margin, height)),
                  int(max(cols[0] - margin, 0)), int(min(cols[-1] + 1 + margin, width)))


def working_size(height, width, max_side):
    """``(h, w)`` with the longer side at most ``max_side``, aspect kept (each >= 1)."""
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def _resize(array, size, interpolation):
    height, width = size
    return cv2.resize(array, (width, height), interpolation=interpolation)


def downscale(image, holes, size):
    """Area-downscale ``image`` and ``holes`` to ``size``; any hole coverage stays a hole."""
    small_image = _resize(image, size, cv2.INTER_AREA)
    small_holes = _resize(holes.astype(np.float32), size, cv2.INTER_AREA) > 0
    return small_image, small_holes


def _inpaint_resized(run, image, holes, max_side):
    """Run at the working size of ``max_side`` and paste the upscaled hole back."""
    height, width = holes.shape
    size = working_size(height, width, max_side)
    if size == (height, width):
        result, attention = run(image[None], holes[None])
        return result[0], attention[0]
    small_image, small_holes = downscale(image, holes, size)
    if small_holes.all():
        raise ValueError(FULL_MASK_MESSAGE + f" (after resizing to max_side={max_side})")
    result, attention = run(small_image[None], small_holes[None])
    result = _resize(result[0], (height, width), cv2.INTER_LINEAR)
    attention = _resize(attention[0], (height, width), cv2.INTER_NEAREST)
    return np.where(holes[..., None], result, image), attention


def inpaint_large(run, image, holes, max_side=None, margin=None):
    """Inpaint one image with the strategies of this module.

    Args:
        run: the network (see the module docstring).
        image: uint8 ``[H, W, 3]`` RGB.
        holes: bool ``[H, W]`` with at least one hole and one known pixel.
        max_side: None (full resolution) or the longest side the network sees.
        margin: None (whole image) or the context kept around the hole's bounding box.

    Returns:
        ``(result, attention)``, uint8 ``[H, W, 3]`` each; known pixels of ``result`` are
        the input's; ``attention`` is white outside the window.

    Raises:
        ValueError: the window (or its downscaled version) is all hole.
    """
    max_side, margin = validate_strategy(max_side, margin)
    height, width = holes.shape
    window = Window(0, height, 0, width) if margin is None else hole_window(holes, margin)
    rows, cols = slice(window.top, window.bottom), slice(window.left, window.right)
    win_image, win_holes = image[rows, cols], holes[rows, cols]
    if win_holes.all():
        raise ValueError(FULL_MASK_MESSAGE + f" (the window of margin {margin} around the "
                         "hole is all hole; use a larger margin)")
    side = max(win_holes.shape) if max_side is None else max_side
    out, att = _inpaint_resized(run, win_image, win_holes, side)
    result = image.copy()
    attention = np.full(image.shape, 255, np.uint8)
    result[rows, cols] = out
    attention[rows, cols] = att
    return result, attention
