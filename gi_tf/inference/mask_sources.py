"""Holes without a mask file: boxes in pixels, or a colour painted on the image itself.

gi-inpaint's ``--box`` and ``--mask_color`` (alternatives to ``--mask``). A *mask source*
turns the uint8 RGB input image ``[H, W, 3]`` into the bool hole map ``[H, W]`` (True =
hole) that a mask file would give:

* :class:`BoxMask`: the union of rectangles ``TOP,LEFT,HEIGHT,WIDTH`` (pixels, rows from the
  top, columns from the left; the order of ``tf.image.crop_to_bounding_box``). A box that
  does not lie wholly inside the image is an error naming it.
* :class:`ColorMask`: every pixel whose R, G and B each differ from the colour by at most
  ``tolerance`` levels (0 = exact). JPEG blurs a painted colour: use PNG, or a tolerance.
  A colour found nowhere is an error naming the closest colour in the image.

Example:
    >>> image = np.zeros((8, 8, 3), np.uint8)
    >>> int(BoxMask((parse_box("1,2,3,4"),)).holes(image).sum())
    12
    >>> image[0, 0] = (255, 0, 255)
    >>> ColorMask(parse_color("#FF00FF")).holes(image)[0, :2].tolist()
    [True, False]
"""

import collections
import dataclasses
import re

import numpy as np

Box = collections.namedtuple("Box", ["top", "left", "height", "width"])
Box.__doc__ = "A rectangle in pixels: first row, first column, number of rows, of columns."

_COLOR = re.compile(r"#?([0-9A-Fa-f]{6})")


def parse_box(text):
    """``Box`` from ``"TOP,LEFT,HEIGHT,WIDTH"`` (integers; HEIGHT, WIDTH > 0; TOP, LEFT >= 0).

    Raises:
        ValueError: naming ``text`` and the expected form.
    """
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        raise ValueError(f"box {text!r}: expected TOP,LEFT,HEIGHT,WIDTH, four integers in "
                         "pixels (e.g. 64,32,100,80)")
    box = Box(*values)
    if box.top < 0 or box.left < 0 or box.height < 1 or box.width < 1:
        raise ValueError(f"box {text!r}: TOP and LEFT must be >= 0 and HEIGHT and WIDTH >= 1")
    return box


def parse_color(text):
    """``(r, g, b)`` ints from ``"#RRGGBB"`` (hex, any case; the ``#`` may be left out).

    Raises:
        ValueError: naming ``text`` and the expected form.
    """
    match = _COLOR.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"colour {text!r}: expected #RRGGBB in hexadecimal (e.g. #FF00FF)")
    digits = match.group(1)
    return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))


def format_color(color):
    """``"#rrggbb"`` of an ``(r, g, b)`` triple."""
    return "#" + "".join(f"{int(c):02x}" for c in color)


def _check_image(image):
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected a uint8 RGB image [H, W, 3]; got {image.dtype} "
                         f"{list(image.shape)}")
    return image


@dataclasses.dataclass(frozen=True)
class BoxMask:
    """Holes = the union of ``boxes`` (a tuple of :class:`Box`)."""

    boxes: tuple

    def holes(self, image):
        """bool ``[H, W]`` for the uint8 RGB ``image`` (only its size is used).

        Raises:
            ValueError: a box reaches outside the image (naming the box and the size).
        """
        height, width = _check_image(image).shape[:2]
        holes = np.zeros((height, width), bool)
        for box in self.boxes:
            bottom, right = box.top + box.height, box.left + box.width
            if bottom > height or right > width:
                raise ValueError(
                    f"box {_box_text(box)} (TOP,LEFT,HEIGHT,WIDTH) reaches row {bottom - 1} "
                    f"and column {right - 1}, outside the {width}x{height} image (width x "
                    f"height; rows 0..{height - 1}, columns 0..{width - 1})")
            holes[box.top:bottom, box.left:right] = True
        return holes

    def __str__(self):
        return ("box " if len(self.boxes) == 1 else "boxes ") + " + ".join(
            _box_text(b) for b in self.boxes)


@dataclasses.dataclass(frozen=True)
class ColorMask:
    """Holes = pixels within ``tolerance`` levels of ``color`` in every channel."""

    color: tuple
    tolerance: int = 0

    def __post_init__(self):
        if not 0 <= self.tolerance <= 255:
            raise ValueError(f"colour tolerance must be 0..255 levels; got {self.tolerance}")

    def distance(self, image):
        """int ``[H, W]``: the largest per-channel difference of each pixel to the colour."""
        diff = _check_image(image).astype(np.int16) - np.asarray(self.color, np.int16)
        return np.abs(diff).max(axis=-1)

    def holes(self, image):
        """bool ``[H, W]`` for the uint8 RGB ``image``.

        Raises:
            ValueError: no pixel matches (naming the closest colour present and its
                distance, so the tolerance it would need is plain).
        """
        distance = self.distance(image)
        holes = distance <= self.tolerance
        if not holes.any():
            index = np.unravel_index(np.argmin(distance), distance.shape)
            closest = np.asarray(image)[index]
            raise ValueError(
                f"no pixel of colour {format_color(self.color)} (tolerance {self.tolerance}) "
                f"in the image; the closest is {format_color(closest)} at row {index[0]}, "
                f"column {index[1]}, {int(distance[index])} level(s) off in some channel "
                "(paint the hole in exactly this colour, save as PNG, or raise the tolerance)")
        return holes

    def __str__(self):
        return f"colour {format_color(self.color)}" + (
            f" (tolerance {self.tolerance})" if self.tolerance else "")


def _box_text(box):
    return ",".join(str(v) for v in box)


def box_mask(texts):
    """:class:`BoxMask` from ``"TOP,LEFT,HEIGHT,WIDTH"`` strings (at least one)."""
    if not texts:
        raise ValueError("give at least one box TOP,LEFT,HEIGHT,WIDTH")
    return BoxMask(tuple(parse_box(t) for t in texts))


def color_mask(text, tolerance=0):
    """:class:`ColorMask` from ``"#RRGGBB"`` and a tolerance in levels (0 = exact)."""
    return ColorMask(parse_color(text), int(tolerance))
