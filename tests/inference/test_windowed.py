"""Exact windowed inference: receptive fields vs brute force, windowed == full generator.

The windowed path must give the full generator's refined output on every hole pixel
(float32 within 1e-4; through the uint8 pipeline within one level, known pixels exact).
It runs in the graph (planned from the mask inside it); the tests call it through one
``tf.function`` per generator, as the SavedModel and ``Inpainter`` do.
Images are small but wider than the receptive fields where a test needs real windows.
"""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.inference.inpainter import Inpainter
from gi_tf.inference.preprocessing import make_uint8_function
from gi_tf.inference.windowed import attention as attention_lib
from gi_tf.inference.windowed import geometry
from gi_tf.inference.windowed import plan as plan_lib
from gi_tf.inference.windowed import run
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


_WINDOWED = {}


def windowed_network(generator, block_elements=None):
    """One traced ``(image, holes) -> (refined, offsets)`` per generator and band size.

    Height and width are dynamic (``None``), as in the SavedModel: one trace serves
    every image size.
    """
    key = (id(generator), block_elements)
    if key not in _WINDOWED:
        _WINDOWED[key] = tf.function(
            lambda image, holes: run.run_network(generator, image, holes, "on",
                                                 block_elements=block_elements),
            input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32),
                             tf.TensorSpec([1, None, None, 1], tf.float32)])
    return _WINDOWED[key]


def make_plan(generator, holes):
    return plan_lib.make_plan(generator, tf.constant(holes))


def assert_windowed_equals_full(generator, height, width, boxes, block_elements=None,
                                windows=None):
    image, holes = _image(height, width), _holes(height, width, boxes)
    _, full, full_offsets = generator(image, holes)
    plan = make_plan(generator, holes[0, :, :, 0] > 0.5)
    if windows is not None:
        assert int(tf.shape(plan.windows.hole)[0]) == windows
    refined, offsets = windowed_network(generator, block_elements)(image, holes)
    inside = holes[0, :, :, 0] > 0.5
    np.testing.assert_allclose(np.asarray(refined)[0][inside], np.asarray(full)[0][inside],
                               atol=1e-4)
    positions = plan.positions.numpy()
    if generator.use_attention:
        assert len(positions)
        grid_w = width // 8
        rows, cols = positions // grid_w, positions % grid_w
        np.testing.assert_array_equal(np.asarray(offsets)[0, rows, cols],
                                      np.asarray(full_offsets)[0, rows, cols])
    return plan


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
    specs = geometry.STACKS[name]
    layers = _positive_float64_stack(specs, channels, seed=len(name))
    ops = geometry.stack_ops(specs)
    rows = 8
    x = np.random.default_rng(0).uniform(0.0, 1.0, (1, rows, columns, channels))

    def run(inputs):
        for layer in layers:
            inputs = layer(inputs)
        return np.asarray(inputs)

    base = run(x)
    out_columns = base.shape[2]
    assert out_columns == geometry.stack_sizes(ops, columns)[-1]
    for col in sorted({0, 1, 2, 3, 5, 7, columns // 2 - 1, columns // 2, columns // 2 + 3,
                       columns - 2, columns - 1}):
        bumped = x.copy()
        bumped[:, :, col] += 1.0
        changed = np.flatnonzero((run(bumped) != base).any(axis=(0, 1, 3)))
        predicted = [o for o in range(out_columns)
                     if geometry.stack_ranges(ops, columns, o, o + 1)[0][0] <= col
                     < geometry.stack_ranges(ops, columns, o, o + 1)[0][1]]
        np.testing.assert_array_equal(changed, predicted, err_msg=f"{name}, column {col}")


def test_receptive_field_summary():
    fields = geometry.generator_receptive_fields()
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
            first, stop = geometry.fold_cells(lo, hi, rate, cells)
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
    plan = make_plan(generator, _holes(48, 512, [(8, 16, 20, 30),
                                                  (8, 16, 60, 70)])[0, :, :, 0] > 0)
    # One window: the bounding box of both holes on the 8-px cell grid.
    np.testing.assert_array_equal(plan.windows.hole.numpy(), [[[8, 16], [16, 72]]])


def test_many_components_become_one_window(generator):
    holes = np.zeros((64, 64), bool)
    holes[4::16, 4::16] = True  # 16 one-pixel holes, in cells that do not touch
    rects = plan_lib.window_rects(tf.constant(holes), reach=0, max_components=10)
    np.testing.assert_array_equal(rects.numpy(), [[0, 56, 0, 56]])
    rects = plan_lib.window_rects(tf.constant(holes), reach=0).numpy()
    assert len(rects) == 16 and ((rects[:, 1] - rects[:, 0]) == 8).all()
    # Grown by a reach of 8 px (one cell each way), the cells touch: one window.
    assert plan_lib.window_rects(tf.constant(holes), reach=8).shape[0] == 1


def _components_reference(grid):
    """Largest id (1 + row * w + col) of each cell's 8-connected component (flood fill)."""
    h, w = grid.shape
    labels = np.zeros((h, w), int)
    for start in zip(*np.nonzero(grid)):
        if labels[start]:
            continue
        seen, todo = {start}, [start]
        while todo:
            i, j = todo.pop()
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    q = (i + di, j + dj)
                    if 0 <= q[0] < h and 0 <= q[1] < w and grid[q] and q not in seen:
                        seen.add(q)
                        todo.append(q)
        largest = max(1 + i * w + j for i, j in seen)
        for q in seen:
            labels[q] = largest
    return labels


def _spiral(size):
    """A one-cell-wide spiral path: the longest way from a cell to its component's end."""
    grid = np.zeros((size, size), bool)
    top, bottom, left, right = 0, size - 1, 0, size - 1
    while top <= bottom and left <= right:
        grid[top, left:right + 1] = grid[top:bottom + 1, right] = True
        grid[bottom, left:right + 1] = True
        grid[top + 2:bottom + 1, left] = True
        top, bottom, left, right = top + 2, bottom - 2, left + 2, right - 2
    return grid


@pytest.mark.parametrize("shape,density,seed", [
    ((1, 1), 1.0, 0), ((1, 40), 0.6, 1), ((30, 1), 0.6, 2), ((17, 23), 0.3, 3),
    ((32, 32), 0.45, 4), ((25, 40), 0.6, 5), ((32, 32), 0.0, 6)])
def test_component_labels_equal_a_flood_fill(shape, density, seed):
    grid = np.random.default_rng(seed).uniform(size=shape) < density
    np.testing.assert_array_equal(plan_lib.component_labels(tf.constant(grid)).numpy(),
                                  _components_reference(grid))


def test_component_labels_follow_a_spiral():
    grid = _spiral(31)
    np.testing.assert_array_equal(plan_lib.component_labels(tf.constant(grid)).numpy(),
                                  _components_reference(grid))


@pytest.mark.parametrize("shape,reach,seed", [((64, 96), 8, 0), ((96, 64), 20, 1),
                                              ((128, 128), 151, 2), ((40, 200), 0, 3)])
def test_window_rects_are_the_grown_components_bounding_boxes(shape, reach, seed):
    # Reference: the hole cells dilated by the reach (a square), flood-filled, each
    # component's hole cells boxed, in the order of their first cell (row-major).
    rng = np.random.default_rng(seed)
    holes = np.zeros(shape, bool)
    for _ in range(4):
        top, left = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 4)
        holes[top:top + rng.integers(1, 12), left:left + rng.integers(1, 12)] = True
    cells = holes.reshape(shape[0] // 8, 8, shape[1] // 8, 8).any(axis=(1, 3))
    grow = -(-reach // 8)
    grown = np.zeros_like(cells)
    for i, j in zip(*np.nonzero(cells)):
        grown[max(i - grow, 0):i + grow + 1, max(j - grow, 0):j + grow + 1] = True
    labels = _components_reference(grown)
    want = []
    for label in dict.fromkeys(labels[cells]):  # first appearance, row-major
        rows, cols = np.nonzero(cells & (labels == label))
        want.append([rows.min() * 8, (rows.max() + 1) * 8, cols.min() * 8, (cols.max() + 1) * 8])
    got = plan_lib.window_rects(tf.constant(holes), reach).numpy()
    np.testing.assert_array_equal(got, np.array(want).reshape(-1, 4))


def test_no_hole_no_window(generator):
    plan = make_plan(generator, np.zeros((32, 48), bool))
    assert plan.windows.hole.shape[0] == 0 and plan.positions.shape[0] == 0


@pytest.mark.parametrize("block_elements", [1, 3000])
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


@pytest.mark.parametrize("height,width,block_elements,fuse", [
    (12, 10, None, True), (12, 10, 1, True), (2, 16, 7, True), (16, 12, 40, True),
    (12, 10, 50, False)])
def test_attend_positions_matches_the_layer(height, width, block_elements, fuse):
    # Feature maps of 2*height x 2*width (rate 2); positions = a rectangle of grid cells.
    rng = np.random.default_rng(height)
    features = rng.uniform(0, 1, (1, 2 * height, 2 * width, 4)).astype("float32")
    holes = np.zeros((1, 2 * height, 2 * width, 1), "float32")
    holes[0, height // 2:height + 1, 3:2 * width - 3] = 1.0
    layer = ContextualAttention(rate=2, fuse=fuse)
    y_full, offsets = layer(features, features, holes)
    from gi_tf.layers.resizing import resize_nearest_align_corners

    b_small = resize_nearest_align_corners(tf.constant(features), height, width)
    holes_small = resize_nearest_align_corners(tf.constant(holes), height, width)
    valid = patches_lib.hole_free_patches(holes_small, 3)[0] > 0.5
    cells = ((0, height), (1, width - 1))
    positions = (np.arange(*cells[0])[:, None] * width + np.arange(*cells[1])).ravel()
    pasted, best = attention_lib.attend_positions(
        layer, b_small[0], tf.constant(features[0]), valid,
        tf.constant(positions, tf.int32), block_elements)
    best = best.numpy()
    got_offsets = np.stack([best // width - positions // width,
                            best % width - positions % width], -1)
    np.testing.assert_array_equal(got_offsets,
                                  np.asarray(offsets)[0].reshape(-1, 2)[positions])
    # Fold the pasted patches of the cells: feature columns pasted only by them.
    ni, nj = height, width - 2
    y = patches_lib.fold_patches(tf.reshape(pasted, (1, ni * nj, -1)), ni * 2, nj * 2, 4, 2)
    y = np.asarray(y)[0] / 4.0
    want = y[:, 3 - 2:2 * width - 3 - 2]  # the fold starts at the cells' first column, 2
    np.testing.assert_allclose(want, np.asarray(y_full)[0, :, 3:2 * width - 3], atol=1e-5)


def test_attention_index_neighbours(generator):
    # A 3x4 grid, one position in the middle: the column-major pass needs the cells above
    # and below (rows_v), the row-major pass their left and right neighbours (rows_h).
    index = attention_lib.attention_index(tf.constant([5]), 3, 4)
    assert index.rows_v.numpy().tolist() == [1, 5, 9]
    assert index.rows_h.numpy().tolist() == [0, 1, 2, 4, 5, 6, 8, 9, 10]


# -- the plan, the auto rule and the Inpainter -------------------------------------------------


def test_auto_uses_the_window_only_when_it_saves_work(generator):
    small = np.zeros((512, 2048), bool)
    small[200:240, 1000:1040] = True
    assert bool(plan_lib.saves_work(make_plan(generator, small)))
    strokes = np.zeros((512, 2048), bool)
    strokes[::32, :] = True  # lines across the whole image
    plan = make_plan(generator, strokes)
    assert not bool(plan_lib.saves_work(plan))
    holes = tf.constant(strokes[..., None], tf.float32)
    assert not bool(run.plan_sample(generator, holes, run.WINDOW_CODES["auto"])[1])
    assert bool(run.plan_sample(generator, holes, run.WINDOW_CODES["on"])[1])
    holes = tf.constant(small[..., None], tf.float32)
    assert not bool(run.plan_sample(generator, holes, run.WINDOW_CODES["off"])[1])


def test_inpainter_path_choice_is_the_plans(generator):
    # Inpainter.from_generator decides "auto" with a graph that computes only the path
    # choice: the same decision as the full plan, on samples that take either path.
    inpainter = Inpainter.from_generator(generator)
    masks = []
    for height, width, boxes in [(256, 256, [(0, 8, 0, 8)]), (256, 256, [(64, 192, 64, 192)]),
                                 (64, 512, [(8, 24, 20, 40)]), (64, 512, [(0, 64, 0, 512)]),
                                 (45, 330, [(0, 12, 0, 20), (30, 45, 300, 330)]),
                                 (13, 9, [(2, 5, 3, 6)])]:
        masks.append(_holes(height, width, boxes).astype(np.uint8) * 255)
    masks.append(np.concatenate([masks[0], masks[1], masks[0]]))  # a batch, mixed paths
    choices = []
    for mask in masks:
        plan = inpainter.plan(mask.shape[1:3], mask[0, ..., 0])
        chosen = inpainter.backend.function("choice")(tf.constant(mask)).numpy()
        full = inpainter.backend.function("plan")(tf.constant(mask), tf.constant("auto"))
        full = full["windowed"]
        np.testing.assert_array_equal(chosen, full.numpy())
        assert chosen[0] == plan["windowed"]
        choices.extend(chosen.tolist())
    assert any(choices) and not all(choices)


def test_plan_costs_grow_with_the_hole(generator):
    def cost(size):
        holes = np.zeros((512, 768), bool)
        holes[200:200 + size, 300:300 + size] = True
        plan = make_plan(generator, holes)
        return float(plan.windowed_flops), float(plan.windowed_bytes)

    small, large = cost(16), cost(160)
    assert small[0] < large[0] and small[1] <= large[1]
    plan = make_plan(generator, np.pad(np.ones((8, 8), bool), ((0, 504), (0, 760))))
    assert float(plan.windowed_flops) < float(plan.full_flops)


def test_inpainter_batch_with_different_holes(generator):
    # Two samples, different holes (corners, borders, two far-apart holes), odd sizes
    # (mirror padding): windowed within one level of the full path, known pixels exact.
    inpainter = Inpainter.from_generator(generator)
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
    # A sample's result does not depend on its batch.
    np.testing.assert_array_equal(inpainter.inpaint(image[1], holes[1], window="on"), win[1])
    with pytest.raises(ValueError, match="window must be one of"):
        inpainter.inpaint(image, holes, window="sometimes")


def test_request_bound_refuses_before_running(generator):
    fn = make_uint8_function(generator, max_request_bytes=1000.0)
    image = np.zeros((1, 16, 16, 3), np.uint8)
    mask = np.zeros((1, 16, 16, 1), np.uint8)
    mask[:, 4:8, 4:8] = 255
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        fn(image, mask)
    text = str(raised.value)
    assert "this request needs an estimated 0.00 GB of working memory" in text
    assert "more than the bound of this model, 0.00 GB" in text
    assert "max_request_gb" in text


def test_window_on_needs_a_float32_inpaint_generator():
    with pytest.raises(ValueError, match="window='on'"):
        run.run_network(lambda image, holes, training=False: None, tf.zeros((1, 8, 8, 3)),
                        tf.zeros((1, 8, 8, 1)), "on")


# -- a variant network: the windowed path and the cost model follow its table -----------------


def _independent_conv_flops(spec, height, width, use_attention=True):
    """``(nominal, computed)`` conv FLOPs of every stage of ``spec`` on the whole image,
    counted here from the table's rows alone: channels chained from row to row (5 at the
    network input, the merge's sources added), sizes from the strides and x2 upsamplings;
    ``computed`` counts an upsampling row at 4/9 (its phase convolution)."""
    outputs = {}
    nominal, computed = {}, {}
    for stage in spec.stages:
        if stage.attention and not use_attention:
            continue
        source = stage.sources[0]
        if source in ("incomplete", "pasted"):
            h, w, c = height, width, 5
        elif source == "attention":
            h, w, c = outputs["attention_encoder"]
        else:
            h, w = outputs[source][:2]
            c = sum(outputs[s][2] for s in stage.sources if s in outputs)
        total = fraction = 0.0
        for row in stage.layers:
            up = 2 if row.upsample else 1
            h, w = h * up // row.stride, w * up // row.stride
            f = 2.0 * row.kernel**2 * c * row.filters * h * w
            total += f
            fraction += f * (4.0 / 9.0 if row.upsample else 1.0)
            c = row.filters
        outputs[stage.name] = (h, w, c)
        nominal[stage.name], computed[stage.name] = total, fraction
    return nominal, computed


def test_a_variant_network_runs_windowed_and_costs_follow_its_table():
    import keras

    from tests.models.test_generator_spec import variant_spec

    keras.utils.set_random_seed(4)
    spec = variant_spec()
    generator = build_generator(spec=spec)
    # No edit anywhere but the table: the windowed path equals the whole generator.
    assert_windowed_equals_full(generator, 48, 512, [(8, 24, 20, 40), (20, 40, 450, 500)],
                                windows=2)
    # The plan's FLOPs: one window covering the whole 64x96 image computes every stack
    # but the attention encoder on the whole image (nominal convolutions); the whole-image
    # cost counts the phase convolutions at 4/9, plus the attention.
    height, width = 64, 96
    plan = make_plan(generator, np.ones((height, width), bool))
    nominal, computed = _independent_conv_flops(spec, height, width)
    window = sum(v for k, v in nominal.items() if k != "attention_encoder")
    np.testing.assert_allclose(float(plan.windows.flops[0]), window, rtol=1e-6)
    length = (height // 8) * (width // 8)
    attention = length * length * (2 * 9 * 128 + 2 * 16 * 128 + 13)
    np.testing.assert_allclose(float(plan.full_flops), sum(computed.values()) + attention,
                               rtol=1e-4)
    # The geometry too: the extra dilated conv widens the coarse network's receptive field.
    fields = geometry.generator_receptive_fields(spec)
    default = geometry.generator_receptive_fields()
    assert fields["coarse"]["before"] == default["coarse"]["before"] + 2 * 4
