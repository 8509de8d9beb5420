"""Exact windowed inference: receptive fields vs brute force, windowed == full generator.

The windowed path must give the full generator's refined output on every hole pixel
(float32 within 1e-4; through the uint8 pipeline within one level, known pixels exact).
Images are small but wider than the receptive fields where a test needs real windows.
"""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.inference import windowed
from gi_tf.inference.inpainter import Inpainter
from gi_tf.inference.preprocessing import make_uint8_function
from gi_tf.layers import ContextualAttention
from gi_tf.layers import attention_patches as patches_lib
from gi_tf.models import build_generator
from gi_tf.models import generator as generator_lib


@pytest.fixture(scope="module")
def generator():
    import keras

    keras.utils.set_random_seed(1)
    return build_generator()


def _image(height, width, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (1, height, width, 3)).astype("float32")


def _holes(height, width, boxes):
    holes = np.zeros((1, height, width, 1), "float32")
    for top, bottom, left, right in boxes:
        holes[0, top:bottom, left:right] = 1.0
    return holes


def assert_windowed_equals_full(generator, height, width, boxes, block_elements=None,
                                windows=None):
    image, holes = _image(height, width), _holes(height, width, boxes)
    _, full, full_offsets = generator(image, holes)
    the_plan = windowed.plan(generator, holes[0, :, :, 0] > 0.5)
    if windows is not None:
        assert len(the_plan.windows) == windows
    refined, offsets = windowed.refine(generator, image, holes, the_plan, block_elements)
    inside = holes[0, :, :, 0] > 0.5
    np.testing.assert_allclose(refined[0][inside], np.asarray(full)[0][inside], atol=1e-4)
    if the_plan.positions is not None:
        grid_w = width // 8
        rows, cols = the_plan.positions // grid_w, the_plan.positions % grid_w
        np.testing.assert_array_equal(offsets[0, rows, cols],
                                      np.asarray(full_offsets)[0, rows, cols])
    return the_plan


# -- receptive fields -----------------------------------------------------------------------


def _positive_float64_stack(specs, in_channels, seed):
    """The stack's Keras layers in float64 with positive weights (nothing cancels)."""
    import keras

    rng = np.random.default_rng(seed)
    layers = [generator_lib.make_block(spec, "float64") for spec in specs]
    shape = (None, None, None, in_channels)
    for layer in layers:
        layer.build(shape)
        shape = layer.compute_output_shape(shape)
        conv = getattr(layer, "conv", layer)
        k = conv.kernel.shape
        conv.kernel.assign(rng.uniform(0.5, 1.5, k) / (k[0] * k[1] * k[2]))
        conv.bias.assign(rng.uniform(0.1, 0.2, k[3]))
    assert isinstance(layers[0], keras.layers.Layer)
    return layers


STACK_CASES = [
    # (stack, input channels, input columns)
    ("coarse", 5, 512),
    ("hallucination", 5, 384),
    ("attention_encoder", 5, 96),
    ("attention_decoder", 128, 40),
    ("merge", 256, 64),
]


@pytest.mark.parametrize("name,channels,columns", STACK_CASES)
def test_receptive_fields_match_brute_force(name, channels, columns):
    # Perturb one input column of a thin image and see which output columns change;
    # the derived ranges (stack_ranges, from the layer table) must name exactly those.
    specs = windowed.STACKS[name]
    layers = _positive_float64_stack(specs, channels, seed=len(name))
    ops = windowed.stack_ops(specs)
    rows = 8
    x = np.random.default_rng(0).uniform(0.0, 1.0, (1, rows, columns, channels))

    def run(inputs):
        for layer in layers:
            inputs = layer(inputs)
        return np.asarray(inputs)

    base = run(x)
    out_columns = base.shape[2]
    assert out_columns == windowed.stack_sizes(ops, columns)[-1]
    for col in sorted({0, 1, 2, 3, 5, 7, columns // 2 - 1, columns // 2, columns // 2 + 3,
                       columns - 2, columns - 1}):
        bumped = x.copy()
        bumped[:, :, col] += 1.0
        changed = np.flatnonzero((run(bumped) != base).any(axis=(0, 1, 3)))
        predicted = [o for o in range(out_columns)
                     if windowed.stack_ranges(ops, columns, o, o + 1)[0][0] <= col
                     < windowed.stack_ranges(ops, columns, o, o + 1)[0][1]]
        np.testing.assert_array_equal(changed, predicted, err_msg=f"{name}, column {col}")


def test_receptive_field_summary():
    fields = windowed.generator_receptive_fields()
    # The coarse network's dilated convolutions reach about 150 px each way.
    assert fields["coarse"]["scale"] == 1.0
    assert 140 <= fields["coarse"]["before"] <= 160
    assert fields["hallucination"]["scale"] == 4.0
    assert fields["merge"]["scale"] == 0.25
    for field in fields.values():
        assert field["width"] >= field["before"] + field["after"]


def test_fold_cells_cover_exactly_the_pasting_cells():
    rate, cells = 2, 10
    for lo in range(2 * cells):
        for hi in range(lo + 1, min(lo + 5, 2 * cells) + 1):
            first, stop = windowed.fold_cells(lo, hi, rate, cells)
            # Cell i pastes onto feature rows 2i-1 .. 2i+2 (SAME transposed convolution).
            want = [i for i in range(cells) if any(2 * i - 1 <= r <= 2 * i + 2
                                                   for r in range(lo, hi))]
            assert list(range(first, stop)) == want


# -- the windowed generator equals the full one ----------------------------------------------


@pytest.mark.parametrize("height,width,boxes", [
    (64, 96, [(8, 24, 16, 40)]),            # window = the whole (small) image
    (64, 96, [(0, 16, 0, 16)]),             # hole in the top-left corner
    (64, 96, [(40, 64, 70, 96)]),           # hole in the bottom-right corner
    (40, 24, [(30, 40, 0, 24)]),            # hole touching three borders
    (8, 64, [(0, 8, 10, 20)]),              # one attention grid row (wrap-around)
])
def test_windowed_equals_full(generator, height, width, boxes):
    assert_windowed_equals_full(generator, height, width, boxes)


def test_two_holes_far_apart_get_two_windows(generator):
    # Wider than the receptive fields: each hole has its own window, and the windows of
    # the coarse network hit the left and right borders.
    assert_windowed_equals_full(generator, 48, 512, [(8, 24, 20, 40), (20, 40, 450, 500)],
                                windows=2)


def test_close_holes_share_a_window(generator):
    the_plan = windowed.plan(generator, _holes(48, 512, [(8, 16, 20, 30),
                                                         (8, 16, 60, 70)])[0, :, :, 0] > 0)
    assert len(the_plan.windows) == 1
    assert the_plan.windows[0].hole == ((8, 16), (20, 70))


@pytest.mark.parametrize("block_elements", [1, 300, 3000])
def test_background_bands_give_the_same_result(generator, block_elements):
    # Bands of 1..n background rows, with the first/last band's wrap-around rows, and
    # (block_elements=1) bands whose patches all touch the hole, skipped.
    assert_windowed_equals_full(generator, 64, 64, [(0, 40, 0, 64)], block_elements)
    assert_windowed_equals_full(generator, 40, 48, [(10, 20, 0, 48), (30, 36, 5, 10)],
                                block_elements)


def test_generator_without_attention():
    import keras

    keras.utils.set_random_seed(2)
    assert_windowed_equals_full(build_generator(use_attention=False), 32, 320,
                                [(4, 12, 280, 300)])


# -- the attention at some positions --------------------------------------------------------


@pytest.mark.parametrize("height,width,block_elements", [(12, 10, None), (12, 10, 1),
                                                         (2, 16, 7), (16, 12, 40)])
def test_attend_positions_matches_the_layer(height, width, block_elements):
    # Feature maps of 2*height x 2*width (rate 2); positions = a rectangle of grid cells.
    rng = np.random.default_rng(height)
    features = rng.uniform(0, 1, (1, 2 * height, 2 * width, 4)).astype("float32")
    holes = np.zeros((1, 2 * height, 2 * width, 1), "float32")
    holes[0, height // 2:height + 1, 3:2 * width - 3] = 1.0
    layer = ContextualAttention(rate=2)
    y_full, offsets = layer(features, features, holes)
    from gi_tf.layers.resizing import resize_nearest_align_corners

    b_small = resize_nearest_align_corners(tf.constant(features), height, width)
    holes_small = resize_nearest_align_corners(tf.constant(holes), height, width)
    valid = patches_lib.hole_free_patches(holes_small, 3).numpy()[0] > 0.5
    cells = ((0, height), (1, width - 1))
    positions = (np.arange(*cells[0])[:, None] * width + np.arange(*cells[1])).ravel()
    plan, pasted, best = windowed.attend_positions(layer, b_small, features, valid, positions,
                                                   block_elements)
    np.testing.assert_array_equal(plan.positions, positions)
    got_offsets = np.stack([best // width - positions // width,
                            best % width - positions % width], -1)
    np.testing.assert_array_equal(got_offsets,
                                  np.asarray(offsets)[0].reshape(-1, 2)[positions])
    want = ((0, 2 * height), (3, 2 * width - 3))  # feature columns pasted only by the cells
    y = windowed._fold(layer, tf.reshape(pasted, (height, width - 2, -1)), cells, want)
    np.testing.assert_allclose(np.asarray(y)[0],
                               np.asarray(y_full)[0, :, want[1][0]:want[1][1]], atol=1e-5)


# -- the plan and the Inpainter ----------------------------------------------------------------


def test_auto_uses_the_window_only_when_it_saves_work(generator):
    small = np.zeros((256, 1024), bool)
    small[100:140, 500:540] = True
    assert windowed.plan(generator, small).saves_work
    strokes = np.zeros((256, 1024), bool)
    strokes[::32, :] = True  # lines across the whole image
    assert not windowed.plan(generator, strokes).saves_work
    assert windowed.choose_plan(generator, strokes, "auto") is None
    assert windowed.choose_plan(generator, strokes, "on") is not None
    assert windowed.choose_plan(generator, small, "off") is None


def test_inpainter_batch_with_different_holes(generator):
    # Two samples, different holes (corners, borders, two far-apart holes), odd sizes
    # (mirror padding): windowed within one level of the full path, known pixels exact.
    inpainter = Inpainter(make_uint8_function(generator), generator=generator)
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (2, 45, 330, 3), dtype=np.uint8)
    holes = np.zeros((2, 45, 330), bool)
    holes[0, 0:12, 0:20] = True
    holes[0, 30:45, 300:330] = True
    holes[1, 20:30, 150:170] = True
    full, full_attention = inpainter.inpaint(image, holes, return_attention=True, window="off")
    win, attention = inpainter.inpaint(image, holes, return_attention=True, window="on")
    assert np.abs(win.astype(int) - full).max() <= 1
    np.testing.assert_array_equal(win[~holes], image[~holes])
    assert attention.shape == full_attention.shape and attention.dtype == np.uint8


def test_window_on_needs_a_checkpoint_model(generator):
    inpainter = Inpainter(make_uint8_function(generator))  # as a SavedModel: no generator
    image = np.zeros((16, 16, 3), np.uint8)
    holes = np.zeros((16, 16), bool)
    holes[4:8, 4:8] = True
    with pytest.raises(ValueError, match="from_checkpoint"):
        inpainter.inpaint(image, holes, window="on")
    assert inpainter.inpaint(image, holes, window="auto").shape == image.shape
    with pytest.raises(ValueError, match="window must be one of"):
        inpainter.inpaint(image, holes, window="sometimes")
