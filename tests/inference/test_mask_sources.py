"""Holes from boxes and from a colour painted on the image (gi-inpaint --box / --mask_color)."""

import numpy as np
import pytest

from gi_tf.inference import mask_sources


def _box_reference(height, width, boxes):
    """Pixel by pixel: inside any box (rows top..top+h-1, columns left..left+w-1)."""
    holes = np.zeros((height, width), bool)
    for y in range(height):
        for x in range(width):
            holes[y, x] = any(t <= y < t + h and le <= x < le + w for t, le, h, w in boxes)
    return holes


def test_boxes_are_the_union_of_their_rectangles():
    image = np.zeros((20, 30, 3), np.uint8)
    boxes = [(0, 0, 1, 1), (3, 4, 5, 6), (6, 8, 14, 22), (19, 29, 1, 1)]
    source = mask_sources.box_mask([",".join(map(str, b)) for b in boxes])
    np.testing.assert_array_equal(source.holes(image), _box_reference(20, 30, boxes))
    assert str(source) == "boxes 0,0,1,1 + 3,4,5,6 + 6,8,14,22 + 19,29,1,1"
    assert mask_sources.parse_box(" 1, 2 ,3,4") == mask_sources.Box(1, 2, 3, 4)


@pytest.mark.parametrize("text,match", [
    ("1,2,3", "four integers"), ("1,2,3,4,5", "four integers"), ("a,b,c,d", "four integers"),
    ("1.5,2,3,4", "four integers"), ("-1,0,4,4", ">= 0"), ("0,0,0,4", ">= 1"),
])
def test_malformed_boxes_are_named(text, match):
    with pytest.raises(ValueError, match=match) as info:
        mask_sources.parse_box(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("box,match", [
    ("10,0,11,5", "reaches row 20 and column 4, outside the 30x20 image"),
    ("0,25,4,6", "reaches row 3 and column 30, outside the 30x20 image"),
    ("20,30,1,1", "outside"),
])
def test_a_box_outside_the_image_is_an_error(box, match):
    with pytest.raises(ValueError, match=match):
        mask_sources.box_mask([box]).holes(np.zeros((20, 30, 3), np.uint8))


def test_colour_exact_and_with_tolerance():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    color = (250, 3, 128)
    for tolerance in (0, 2, 40):
        expected = np.zeros(image.shape[:2], bool)
        for y in range(16):
            for x in range(24):
                expected[y, x] = all(abs(int(image[y, x, c]) - color[c]) <= tolerance
                                     for c in range(3))
        image[5, 7] = color  # at least one match
        expected[5, 7] = True
        source = mask_sources.color_mask("#FA0380", tolerance)
        np.testing.assert_array_equal(source.holes(image), expected)
    assert mask_sources.parse_color("fa0380") == mask_sources.parse_color("#Fa0380") == color
    assert mask_sources.format_color(color) == "#fa0380"
    assert str(mask_sources.color_mask("#FA0380", 3)) == "colour #fa0380 (tolerance 3)"


def test_absent_colour_names_the_closest():
    image = np.zeros((4, 5, 3), np.uint8)
    image[2, 3] = (253, 0, 255)
    with pytest.raises(ValueError, match=r"no pixel of colour #ff00ff \(tolerance 1\).*"
                                         r"closest is #fd00ff at row 2, column 3, 2 level"):
        mask_sources.color_mask("#FF00FF", 1).holes(image)
    assert mask_sources.color_mask("#FF00FF", 2).holes(image).sum() == 1


@pytest.mark.parametrize("text", ["#FF00F", "#GG0000", "red", "#FF00FF00", ""])
def test_malformed_colours_are_named(text):
    with pytest.raises(ValueError, match="expected #RRGGBB"):
        mask_sources.parse_color(text)


def test_bad_tolerance_and_images():
    with pytest.raises(ValueError, match="0..255"):
        mask_sources.color_mask("#000000", 256)
    with pytest.raises(ValueError, match="uint8 RGB"):
        mask_sources.color_mask("#000000").holes(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="at least one box"):
        mask_sources.box_mask([])
