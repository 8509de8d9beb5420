"""Tests for gi_tf.app.logic: the page's request handling, without a browser.

Editor values are built here the way Gradio's ``gr.ImageEditor`` (``type="numpy"``,
``image_mode="RGBA"``) delivers them: an RGBA background and RGBA brush layers that are
transparent except where painted. Expected values come from closed forms (alpha
compositing on white, union of painted pixels). One module-scoped, freshly initialised
``Inpainter`` runs the real network on small images so the calls into
``gi_tf.inference.inpainter`` are checked too.
"""

import numpy as np
import pytest

from gi_tf.app import logic
from gi_tf.app.logic import AppConfig
from gi_tf.app.logic import InputError


def _rgba(rgb, alpha=255):
    alpha = np.broadcast_to(np.asarray(alpha, np.uint8), rgb.shape[:2])
    return np.concatenate([rgb, alpha[..., None]], axis=-1)


def _random_rgb(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _stroke_layer(height, width, rows, cols, alpha=255):
    layer = np.zeros((height, width, 4), np.uint8)
    layer[rows, cols] = (255, 0, 255, alpha)
    return layer


def _editor_value(rgb, layers):
    return {"background": _rgba(rgb), "layers": layers, "composite": None}


class FakeInpainter:
    """Records its calls; fills holes with 0 and returns a grey attention map."""

    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def inpaint(self, image, mask, **kwargs):
        self.calls.append((image, mask, kwargs))
        if self.error is not None:
            raise self.error
        result = np.where(mask[..., None], np.uint8(0), image)
        return result, np.full(image.shape, 128, np.uint8)


# -- editor value -> arrays ---------------------------------------------------------------


def test_opaque_background_is_kept_bit_exact():
    rgb = _random_rgb(24, 40)
    image, notes = logic.background_to_rgb(_rgba(rgb))
    np.testing.assert_array_equal(image, rgb)
    assert image.dtype == np.uint8 and notes == []


def test_transparent_background_is_composited_on_white():
    rgb = _random_rgb(4, 6)
    alpha = np.array([0, 64, 128, 200, 255, 1], np.uint8)[None, :].repeat(4, axis=0)
    image, notes = logic.background_to_rgb(_rgba(rgb, alpha))
    a = alpha[..., None] / 255.0
    expected = np.rint(rgb * a + 255.0 * (1.0 - a)).astype(np.uint8)
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_array_equal(image[:, 0], 255)  # fully transparent -> white
    assert len(notes) == 1 and "transparent" in notes[0]


@pytest.mark.parametrize("grey_shape", [(5, 7), (5, 7, 1)])
def test_grey_background_becomes_rgb(grey_shape):
    grey = np.arange(35, dtype=np.uint8).reshape(grey_shape)
    image, _ = logic.background_to_rgb(grey)
    assert image.shape == (5, 7, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], grey.reshape(5, 7))


@pytest.mark.parametrize("background, words", [
    (None, "No image yet"),
    (np.zeros((8, 8, 4), np.uint8), "No image yet"),  # transparent blank canvas
    (np.full((8, 8, 4), 255, np.uint8), "No image yet"),  # white canvas: painted, no upload
    (np.full((8, 8), 7, np.uint8), "No image yet"),  # one flat colour
    (np.zeros((4, 4, 3), np.float32), "unsupported pixel format"),
    (np.arange(32, dtype=np.uint8).reshape(4, 4, 2), "not an image"),
    (np.zeros((0, 4, 3), np.uint8), "not an image"),
])
def test_unusable_background_is_refused_with_a_message(background, words):
    with pytest.raises(InputError, match=words):
        logic.background_to_rgb(background)


def test_holes_are_the_union_of_painted_pixels_of_all_layers():
    first = _stroke_layer(10, 12, slice(2, 4), slice(1, 9))
    second = _stroke_layer(10, 12, slice(6, 9), slice(5, 6), alpha=1)  # faint edge counts
    holes = logic.layers_to_holes([first, None, second], (10, 12))
    expected = np.zeros((10, 12), bool)
    expected[2:4, 1:9] = True
    expected[6:9, 5:6] = True
    np.testing.assert_array_equal(holes, expected)


def test_colour_without_alpha_is_not_a_hole():
    layer = np.zeros((5, 5, 4), np.uint8)
    layer[..., :3] = 255  # the canvas exports RGB 0 under alpha 0, but only alpha counts
    assert not logic.layers_to_holes([layer], (5, 5)).any()
    assert not logic.layers_to_holes([], (5, 5)).any()


def test_layer_of_another_size_or_without_alpha_is_refused():
    with pytest.raises(InputError, match="is 6x5 but the image is 8x4"):
        logic.layers_to_holes([np.zeros((5, 6, 4), np.uint8)], (4, 8))
    with pytest.raises(InputError, match="no transparency"):
        logic.layers_to_holes([np.zeros((4, 8, 3), np.uint8)], (4, 8))


def test_editor_to_arrays_reads_background_and_brush():
    rgb = _random_rgb(16, 24)
    layer = _stroke_layer(16, 24, slice(5, 9), slice(3, 20))
    image, holes, notes = logic.editor_to_arrays(_editor_value(rgb, [layer]))
    np.testing.assert_array_equal(image, rgb)
    np.testing.assert_array_equal(holes, layer[..., 3] > 0)
    assert notes == []


@pytest.mark.parametrize("value", [None, {}, {"background": None, "layers": []}])
def test_editor_without_image_asks_for_one(value):
    with pytest.raises(InputError, match="No image yet"):
        logic.editor_to_arrays(value)


def test_editor_value_that_is_not_a_dict_is_refused():
    with pytest.raises(InputError, match="not an image"):
        logic.editor_to_arrays("not-an-editor-value.txt")


# -- checks --------------------------------------------------------------------------------


def test_request_checks_name_the_problem():
    image = np.zeros((30, 40, 3), np.uint8)
    holes = np.zeros((30, 40), bool)
    with pytest.raises(InputError, match="Nothing is painted"):
        logic.check_request(image, holes, AppConfig())
    with pytest.raises(InputError, match="whole image is painted"):
        logic.check_request(image, ~holes, AppConfig())
    holes[3, 4] = True
    with pytest.raises(InputError, match=r"too large .*40x30 = 0\.0 megapixels; the limit is"):
        logic.check_request(image, holes, AppConfig(max_pixels=30 * 40 - 1))
    logic.check_request(image, holes, AppConfig(max_pixels=30 * 40))  # exactly at the limit


@pytest.mark.parametrize("kwargs", [{"max_side": 4}, {"crop_to_hole": -1}, {"max_pixels": 0}])
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        AppConfig(**kwargs).validate()


def test_no_strategy_note_for_small_images():
    holes = np.zeros((60, 100), bool)
    holes[10:20, 10:20] = True
    assert logic.strategy_notes(holes, AppConfig(max_side=100)) == []
    assert logic.strategy_notes(holes, AppConfig(max_side=None)) == []


def test_strategy_notes_describe_window_and_working_size():
    holes = np.zeros((60, 100), bool)
    holes[20:30, 40:50] = True
    notes = logic.strategy_notes(holes, AppConfig(max_side=50))
    assert len(notes) == 1 and "50x30 copy" in notes[0]  # 100x60 scaled by 1/2
    notes = logic.strategy_notes(holes, AppConfig(max_side=20, crop_to_hole=5))
    # window rows 15..35, cols 35..55 -> 20x20, already within max_side 20
    assert len(notes) == 1 and "20x20 window" in notes[0] and "margin 5 px" in notes[0]


# -- running --------------------------------------------------------------------------------


def test_handle_request_passes_mask_and_strategy_and_reports():
    rgb = _random_rgb(32, 48)
    layer = _stroke_layer(32, 48, slice(8, 12), slice(4, 40))
    fake = FakeInpainter()
    outcome = logic.handle_request(fake, _editor_value(rgb, [layer]),
                                       AppConfig(max_side=640))
    (image, mask, kwargs), = fake.calls
    np.testing.assert_array_equal(image, rgb)
    np.testing.assert_array_equal(mask, layer[..., 3] > 0)
    assert kwargs == {"return_attention": True, "max_side": 640}  # crop_to_hole off: not passed
    np.testing.assert_array_equal(outcome.result, np.where(mask[..., None], 0, rgb))
    np.testing.assert_array_equal(outcome.attention, 128)
    np.testing.assert_array_equal(outcome.holes, mask)
    assert outcome.status.startswith("Filled 144 pixels (9.4 % of the 48x32 image) in ")


def test_crop_to_hole_is_passed_when_on():
    fake = FakeInpainter()
    holes = np.zeros((8, 8), bool)
    holes[2, 2] = True
    logic.run_inpaint(fake, np.zeros((8, 8, 3), np.uint8), holes,
                          AppConfig(max_side=None, crop_to_hole=32))
    assert fake.calls[0][2] == {"return_attention": True, "max_side": None, "crop_to_hole": 32}


def test_inpainter_value_error_becomes_a_page_message():
    fake = FakeInpainter(error=ValueError("mask covers the whole image: nothing to borrow"))
    holes = np.zeros((8, 8), bool)
    holes[2, 2] = True
    with pytest.raises(InputError, match="Could not inpaint: mask covers the whole image"):
        logic.run_inpaint(fake, np.zeros((8, 8, 3), np.uint8), holes, AppConfig())


def test_bad_requests_never_reach_the_network():
    fake = FakeInpainter()
    rgb = _random_rgb(16, 16)
    for value in (None, _editor_value(rgb, []), _editor_value(rgb, [_stroke_layer(
            16, 16, slice(None), slice(None))])):
        with pytest.raises(InputError):
            logic.handle_request(fake, value, AppConfig())
    assert fake.calls == []


# -- with the real (untrained) network -----------------------------------------------------


@pytest.fixture(scope="module")
def untrained_inpainter():
    from gi_tf.app.served_model import untrained_inpainter

    return untrained_inpainter()


def test_real_inpainter_changes_only_the_painted_pixels(untrained_inpainter):
    rgb = _random_rgb(40, 56, seed=3)  # not multiples of 8: the Inpainter pads
    layer = _stroke_layer(40, 56, slice(12, 20), slice(8, 44))
    outcome = logic.handle_request(untrained_inpainter, _editor_value(rgb, [layer]),
                                       AppConfig())
    holes = layer[..., 3] > 0
    assert outcome.result.shape == rgb.shape and outcome.result.dtype == np.uint8
    assert outcome.attention.shape == rgb.shape and outcome.attention.dtype == np.uint8
    np.testing.assert_array_equal(outcome.result[~holes], rgb[~holes])
    assert (outcome.result[holes] != rgb[holes]).any(axis=-1).mean() > 0.5


def test_real_inpainter_with_a_small_working_size(untrained_inpainter):
    rgb = _random_rgb(48, 64, seed=4)
    layer = _stroke_layer(48, 64, slice(20, 28), slice(16, 48))
    outcome = logic.handle_request(untrained_inpainter, _editor_value(rgb, [layer]),
                                       AppConfig(max_side=32))
    holes = layer[..., 3] > 0
    np.testing.assert_array_equal(outcome.result[~holes], rgb[~holes])
    assert "32x24 copy" in outcome.status


class PlanningInpainter(FakeInpainter):
    """A fake whose plan estimates ``peak_bytes`` for any request."""

    def __init__(self, peak_bytes):
        super().__init__()
        self.peak_bytes = peak_bytes

    def plan(self, shape, holes, window="auto"):
        return {"peak_bytes": self.peak_bytes, "windowed": True, "windows": 1}


@pytest.mark.parametrize("peak_gb,side", [(1.0, None), (9.0, logic.DEFAULT_MAX_SIDE)])
def test_default_max_side_comes_from_the_plan(peak_gb, side):
    # A 1200x2000 photo: full resolution when the plan fits the budget, else the 1024 copy
    # and a sentence saying why.
    image = np.zeros((1200, 2000, 3), np.uint8)
    holes = np.zeros((1200, 2000), bool)
    holes[100:200, 100:200] = True
    fake = PlanningInpainter(peak_gb * 1e9)
    config, notes = logic.resolve_max_side(fake, image, holes, AppConfig(max_request_gb=4.0))
    assert config.max_side == side
    if side is None:
        assert notes == []
    else:
        assert len(notes) == 1 and "1024x614" in notes[0] and "9.0 GB" in notes[0]
        assert "4 GB" in notes[0]
    small, notes = logic.resolve_max_side(fake, image[:500, :500], holes[:500, :500],
                                          AppConfig())
    assert small.max_side is None and notes == []  # small photos never ask the plan
