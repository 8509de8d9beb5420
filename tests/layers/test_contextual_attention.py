"""ContextualAttention ("batched" and "literal") against the NumPy reference, and its contract.

Expected numbers come from tests/references/np_contextual_attention.py (written from the
spec, float64); shapes are tiny so that the reference stays fast.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.layers import ContextualAttention
from gi_tf.layers import attention_chunked

import layer_checks
from references import np_contextual_attention as ref

IMPLEMENTATIONS = ["batched", "literal"]
# Layer variants: the two implementations, and "batched" forced to run in chunks of
# MIN_CHUNK_ROWS grid rows (chunk_elements=1 never fits the full score matrix).
VARIANTS = {
    "batched": dict(implementation="batched"),
    "literal": dict(implementation="literal"),
    "chunked": dict(implementation="batched", chunk_elements=1),
}


def make_layer(variant, **kwargs):
    return ContextualAttention(**VARIANTS[variant], **kwargs)


def random_inputs(batch, height, width, channels, same=False):
    f = np.random.uniform(-1.0, 1.0, (batch, height, width, channels)).astype("float32")
    b = f if same else np.random.uniform(-1.0, 1.0, f.shape).astype("float32")
    return f, b


def per_sample_holes(batch, height, width):
    """A different rectangle per sample (sample 0 of 3 has no hole at all)."""
    holes = np.zeros((batch, height, width, 1), "float32")
    for n in range(batch):
        if n % 3 == 0:
            continue
        top, left = np.random.randint(0, height // 2), np.random.randint(0, width // 2)
        holes[n, top:top + height // 2, left:left + width // 3 + n] = 1.0
    return holes


def assert_matches_reference(layer, f, b, holes, **ref_kwargs):
    y, offsets = layer(f, b, holes)
    y_ref, offsets_ref = ref.contextual_attention(f, b, holes, **ref_kwargs)
    y, offsets = np.asarray(y), np.asarray(offsets)
    assert y.shape == f.shape and y.dtype == np.float32
    assert offsets.shape == offsets_ref.shape and offsets.dtype == np.int32
    scale = max(1.0, float(np.abs(y_ref).max()))
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_array_equal(offsets, offsets_ref)
    return y, offsets


# -- numerics against the reference ------------------------------------------------------

CASES = [
    # (rate, height, width, fuse, fuse_k, ksize, softmax_scale)
    (1, 8, 10, True, 3, 3, 10.0),
    (1, 9, 6, False, 3, 3, 10.0),
    (2, 16, 12, True, 3, 3, 10.0),
    (2, 12, 20, False, 3, 3, 10.0),
    (2, 16, 16, True, 2, 3, 4.0),
    (3, 18, 24, True, 3, 3, 10.0),
    (3, 21, 12, False, 3, 3, 10.0),
    (2, 14, 16, True, 3, 5, 10.0),
]


@pytest.mark.smoke
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("rate,height,width,fuse,fuse_k,ksize,softmax_scale", CASES)
def test_matches_reference(variant, rate, height, width, fuse, fuse_k, ksize, softmax_scale):
    f, b = random_inputs(3, height, width, 3)
    holes = per_sample_holes(3, height, width)
    kwargs = dict(rate=rate, fuse=fuse, fuse_k=fuse_k, ksize=ksize, softmax_scale=softmax_scale)
    assert_matches_reference(make_layer(variant, **kwargs), f, b, holes, **kwargs)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("same", [True, False])
def test_matches_reference_without_holes(variant, same):
    f, b = random_inputs(2, 12, 8, 4, same=same)
    layer = make_layer(variant, rate=2)
    _, offsets = assert_matches_reference(layer, f, b, None, rate=2)
    if same:  # without holes a patch's best match is (almost always) itself
        assert np.mean(np.all(offsets == 0, axis=-1)) > 0.9


@pytest.mark.parametrize("rate", [1, 2])
def test_generator_style_call_same_tensor(rate):
    # The generator passes one tensor as foreground and background, holes per sample.
    f, _ = random_inputs(2, 16, 16, 4)
    holes = per_sample_holes(2, 16, 16)
    layer = ContextualAttention(rate=rate)
    assert_matches_reference(layer, f, f, holes, rate=rate)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_sample_uses_its_own_mask(variant):
    f, b = random_inputs(2, 12, 12, 3)
    holes = np.zeros((2, 12, 12, 1), "float32")
    holes[0, 2:6, 2:8] = 1.0
    holes[1, 6:12, 0:5] = 1.0
    layer = make_layer(variant, rate=2)
    y, offsets = layer(f, b, holes)
    for n in range(2):
        y_n, offsets_n = layer(f[n:n + 1], b[n:n + 1], holes[n:n + 1])
        np.testing.assert_allclose(np.asarray(y)[n], np.asarray(y_n)[0], atol=1e-6)
        np.testing.assert_array_equal(np.asarray(offsets)[n], np.asarray(offsets_n)[0])
    swapped_y, _ = layer(f, b, holes[::-1])
    assert not np.allclose(np.asarray(swapped_y), np.asarray(y), atol=1e-3)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_single_mask_is_shared_by_the_batch(variant):
    # The released code's calling convention: one [1, H, W, 1] mask for the whole batch.
    f, b = random_inputs(3, 12, 8, 3)
    hole = np.zeros((1, 12, 8, 1), "float32")
    hole[:, 3:9, 2:6] = 1.0
    layer = make_layer(variant, rate=2)
    y, offsets = layer(f, b, hole)
    y_full, offsets_full = layer(f, b, np.repeat(hole, 3, axis=0))
    np.testing.assert_array_equal(np.asarray(y), np.asarray(y_full))
    np.testing.assert_array_equal(np.asarray(offsets), np.asarray(offsets_full))


@pytest.mark.parametrize("rate,fuse", [(1, True), (2, False), (3, True)])
def test_variants_agree(rate, fuse):
    f, b = random_inputs(2, 6 * rate, 4 * rate, 5)
    holes = per_sample_holes(2, 6 * rate, 4 * rate)
    y0, offsets0 = make_layer("batched", rate=rate, fuse=fuse)(f, b, holes)
    for variant in ("literal", "chunked"):
        y, offsets = make_layer(variant, rate=rate, fuse=fuse)(f, b, holes)
        np.testing.assert_allclose(np.asarray(y), np.asarray(y0), atol=1e-5)
        np.testing.assert_array_equal(np.asarray(offsets), np.asarray(offsets0))


def chunk_elements_for(rows, grid_w, length):
    """The ``chunk_elements`` giving ``rows`` grid rows per chunk (see attention_chunked)."""
    return (rows + attention_chunked.HALO_ROWS) * grid_w * length


@pytest.fixture
def one_row_chunks(monkeypatch):
    """Let the bound alone set the rows per chunk (down to one row)."""
    monkeypatch.setattr(attention_chunked, "MIN_CHUNK_ROWS", 1)


@pytest.mark.smoke
@pytest.mark.parametrize("fuse,fuse_k", [(True, 3), (True, 2), (True, 1), (False, 3)])
@pytest.mark.parametrize("rows", [1, 2, 3, 5])
def test_chunked_matches_reference(rows, fuse, fuse_k, one_row_chunks):
    # Rate 1, a 14 x 3 grid: chunks of 1, 2, 3, 5 rows (the last one partial for 3 and 5),
    # halos and the wrap-around rows of the vertical propagation at both ends.
    grid_h, grid_w = 14, 3
    f, b = random_inputs(2, grid_h, grid_w, 3)
    holes = per_sample_holes(2, grid_h, grid_w)
    chunk = chunk_elements_for(rows, grid_w, grid_h * grid_w)
    assert grid_h * grid_w * grid_h * grid_w > chunk  # really chunked
    kwargs = dict(rate=1, fuse=fuse, fuse_k=fuse_k)
    layer = ContextualAttention(chunk_elements=chunk, **kwargs)
    assert_matches_reference(layer, f, b, holes, **kwargs)


@pytest.mark.parametrize("grid_h", [1, 2, 3, 4])
def test_chunked_matches_reference_on_short_grids(grid_h, one_row_chunks):
    f, b = random_inputs(2, 2 * grid_h, 10, 3)
    holes = per_sample_holes(2, 2 * grid_h, 10)
    layer = ContextualAttention(rate=2, chunk_elements=1)
    assert_matches_reference(layer, f, b, holes, rate=2)


def test_chunked_that_fits_equals_unchunked():
    f, b = random_inputs(2, 12, 8, 3)
    holes = per_sample_holes(2, 12, 8)
    y0, offsets0 = ContextualAttention(rate=2)(f, b, holes)
    y, offsets = ContextualAttention(rate=2, chunk_elements=10**6)(f, b, holes)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(y0))
    np.testing.assert_array_equal(np.asarray(offsets), np.asarray(offsets0))


def test_chunked_rejects_wide_fuse_kernels():
    f, b = random_inputs(1, 8, 8, 3)
    with pytest.raises(ValueError, match="fuse_k"):
        ContextualAttention(rate=1, fuse_k=5, chunk_elements=1)(f, b)


# -- behaviour that follows from the released code ---------------------------------------


def copy_scene(rate, channels=4):
    """A 16x16-grid feature map whose lower-right 8x8 block copies the upper-left one.

    Features are constant over ``rate x rate`` blocks, so the align-corners downsampling
    picks exactly one pixel of each block (see ``ref.align_corners_indices``). The hole is
    the grid square rows/cols 10..13, two grid cells inside the copied block, so every
    foreground patch of the hole and all its propagation neighbours (rows/cols 9..14,
    windows 8..15) equal the background patches 8 cells up-left (windows 0..7), which are
    hole-free. Returns ``(features [1, 16r, 16r, C], holes [1, 16r, 16r, 1])``.
    """
    grid = np.random.randn(16, 16, channels).astype("float32")
    grid[8:16, 8:16] = grid[0:8, 0:8]
    hole_grid = np.zeros((16, 16, 1), "float32")
    hole_grid[10:14, 10:14] = 1.0
    full = np.repeat(np.repeat(grid, rate, axis=0), rate, axis=1)
    holes = np.repeat(np.repeat(hole_grid, rate, axis=0), rate, axis=1)
    return full[None], holes[None]


def pixels_covered_only_by(positions, rate, size):
    """Full-resolution indices whose 2*rate pasted patches all come from ``positions``."""
    top = rate // 2  # TF SAME padding of the 2r-kernel, step-r transposed convolution
    covered = []
    for x in range(size):
        sources = [i for i in range(size // rate) if 0 <= x + top - i * rate < 2 * rate]
        if len(sources) == 2 and all(i in positions for i in sources):
            covered.append(x)
    return np.array(covered)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("rate,fuse", [(1, False), (1, True), (2, False), (2, True)])
def test_copies_the_duplicated_region_into_the_hole(variant, rate, fuse):
    features, holes = copy_scene(rate)
    layer = make_layer(variant, rate=rate, fuse=fuse, softmax_scale=50.0)
    y, offsets = layer(features, features, holes)
    y, offsets = np.asarray(y)[0], np.asarray(offsets)[0]
    # Every hole position attends 8 grid cells up and 8 left (its exact copy).
    np.testing.assert_array_equal(offsets[10:14, 10:14], np.full((4, 4, 2), -8))
    # Pixels pasted only from hole positions: four one-hot pastes of the shifted background,
    # divided by 4, give the background 8*rate pixels up-left back.
    pix = pixels_covered_only_by(range(10, 14), rate, 16 * rate)
    assert len(pix) >= 2
    got = y[np.ix_(pix, pix)]
    want = features[0][np.ix_(pix - 8 * rate, pix - 8 * rate)]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_masked_scores_still_count_in_the_softmax_denominator():
    # Zero foreground -> all scores 0 -> weight 1/L on each valid patch (not 1/#valid),
    # and the top-left pixel gets one pasted patch, divided by the constant 4.
    height = width = 8
    f = np.zeros((1, height, width, 2), "float32")
    b = np.ones((1, height, width, 2), "float32")
    holes = np.zeros((1, height, width, 1), "float32")
    holes[:, 4:6, 4:6] = 1.0  # one hole pixel at rate 1 kills a 3x3 block of patches... x4
    y, _ = ContextualAttention(rate=1, fuse=False)(f, b, holes)
    num, num_valid = height * width, height * width - 4 * 4
    np.testing.assert_allclose(np.asarray(y)[0, 0, 0], num_valid / (4.0 * num), rtol=1e-6)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fully_masked_background_gives_zero_and_finite_offsets(variant):
    f, b = random_inputs(2, 8, 12, 3)
    holes = np.ones((2, 8, 12, 1), "float32")
    y, offsets = make_layer(variant, rate=2)(f, b, holes)
    y, offsets = np.asarray(y), np.asarray(offsets)
    assert np.all(y == 0.0)
    # All weights tie at 0: argmax takes index 0, so offsets = -(own position).
    rows, cols = np.meshgrid(np.arange(4), np.arange(6), indexing="ij")
    np.testing.assert_array_equal(offsets, np.broadcast_to(np.stack([-rows, -cols], -1),
                                                           offsets.shape))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gradients_reach_foreground_and_background(variant):
    f, b = random_inputs(2, 8, 8, 3)
    holes = per_sample_holes(2, 8, 8)
    weights = np.random.randn(*f.shape).astype("float32")
    f, b = tf.Variable(f), tf.Variable(b)
    layer = make_layer(variant, rate=2)
    with tf.GradientTape() as tape:
        y, _ = layer(f, b, holes)
        loss = tf.reduce_sum(y * weights)
    grad_f, grad_b = tape.gradient(loss, [f, b])
    for grad in (grad_f, grad_b):
        assert grad is not None
        grad = grad.numpy()
        assert np.all(np.isfinite(grad))
        assert np.abs(grad).max() > 1e-6


def test_chunked_gradients_equal_unchunked_gradients():
    f, b = random_inputs(2, 16, 8, 3)
    holes = per_sample_holes(2, 16, 8)
    weights = np.random.randn(*f.shape).astype("float32")
    grads = []
    for variant in ("batched", "chunked"):
        fv, bv = tf.Variable(f), tf.Variable(b)
        with tf.GradientTape() as tape:
            y, _ = make_layer(variant, rate=2)(fv, bv, holes)
            loss = tf.reduce_sum(y * weights)
        grads.append([g.numpy() for g in tape.gradient(loss, [fv, bv])])
    for got, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())


def test_gradients_are_finite_when_everything_is_masked():
    f, b = random_inputs(1, 8, 8, 3)
    f, b = tf.Variable(f), tf.Variable(b)
    with tf.GradientTape() as tape:
        y, _ = ContextualAttention(rate=2)(f, b, np.ones((1, 8, 8, 1), "float32"))
        loss = tf.reduce_sum(y)
    for grad in tape.gradient(loss, [f, b]):
        assert grad is None or np.all(np.isfinite(grad.numpy()))


# -- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("stride", [2, 3])
def test_stride_other_than_one_raises(stride):
    with pytest.raises(ValueError, match="stride"):
        ContextualAttention(stride=stride)


def test_unknown_implementation_raises():
    with pytest.raises(ValueError):
        ContextualAttention(implementation="fast")


@pytest.mark.parametrize("f_shape,b_shape,holes_shape,message", [
    ((1, 10, 8, 3), (1, 10, 8, 3), None, "height .* multiple of rate"),
    ((1, 8, 9, 3), (1, 8, 9, 3), None, "width .* multiple of rate"),
    ((1, 8, 8, 3), (1, 8, 12, 3), None, "background"),
    ((2, 8, 8, 3), (2, 8, 8, 3), (2, 8, 8, 3), "holes"),
    ((2, 8, 8, 3), (2, 8, 8, 3), (2, 4, 4, 1), "holes"),
    ((3, 8, 8, 3), (3, 8, 8, 3), (2, 8, 8, 1), "holes"),
])
def test_bad_shapes_raise_clear_errors(f_shape, b_shape, holes_shape, message):
    layer = ContextualAttention(rate=4 if f_shape[1] == 10 else 2)
    holes = None if holes_shape is None else np.zeros(holes_shape, "float32")
    with pytest.raises(ValueError, match=message):
        layer(np.zeros(f_shape, "float32"), np.zeros(b_shape, "float32"), holes)


# -- Keras contract ----------------------------------------------------------------------


@pytest.mark.parametrize("implementation,chunk_elements", [("batched", 1), ("literal", None)])
def test_config_round_trip_and_keras_saving(implementation, chunk_elements, tmp_path):
    f, b = random_inputs(2, 8, 8, 3)
    holes = per_sample_holes(2, 8, 8)
    init_kwargs = dict(ksize=5, stride=1, rate=1, fuse_k=2, softmax_scale=7.5, fuse=False,
                       implementation=implementation, chunk_elements=chunk_elements)
    assert set(init_kwargs) == set(layer_checks.init_parameter_names(ContextualAttention))
    layer_checks.run_layer_contract(ContextualAttention, init_kwargs, [f, b, holes], tmp_path)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_symbolic_and_eager_shapes_agree(variant):
    layer = make_layer(variant, rate=2)
    x = keras.Input((None, None, 3))
    m = keras.Input((None, None, 1))
    y_sym, offsets_sym = layer(x, x, m)
    expected = layer.compute_output_shape(x.shape, x.shape, m.shape)
    assert (tuple(y_sym.shape), tuple(offsets_sym.shape)) == expected
    f, _ = random_inputs(2, 12, 8, 3)
    y, offsets = layer(f, f, per_sample_holes(2, 12, 8))
    assert (tuple(y.shape), tuple(offsets.shape)) == layer.compute_output_shape(f.shape)
    assert y.shape == (2, 12, 8, 3) and offsets.shape == (2, 6, 4, 2)
    assert y_sym.dtype == y.dtype.name
    assert offsets_sym.dtype == offsets.dtype.name  # int32 both symbolically and eagerly
    y_none, _ = layer(x, x)
    assert tuple(y_none.shape) == (None, None, None, 3)


@pytest.mark.smoke
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_saved_model_with_dynamic_shapes(variant, tmp_path):
    kwargs = dict(VARIANTS[variant], rate=2)
    if variant == "chunked":
        # With unknown sizes "fits or chunk" is a graph cond: 600 entries fit the 6x4 grid
        # (576 scores) but not the 4x8 one (1024), so both branches run below.
        kwargs["chunk_elements"] = 600
    layer = ContextualAttention(**kwargs)

    class Exported(tf.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                                      tf.TensorSpec([None, None, None, 1], tf.float32)])
        def serve(self, features, holes):
            y, offsets = self.layer(features, features, holes)
            return {"y": y, "offsets": offsets}

    path = str(tmp_path / "saved_model")
    tf.saved_model.save(Exported(layer), path)
    loaded = tf.saved_model.load(path)
    for batch, height, width in [(2, 12, 8), (1, 8, 16)]:
        f, _ = random_inputs(batch, height, width, 3)
        holes = per_sample_holes(batch, height, width)
        out = loaded.serve(tf.constant(f), tf.constant(holes))
        y, offsets = layer(f, f, holes)
        np.testing.assert_allclose(out["y"].numpy(), np.asarray(y), atol=1e-6)
        np.testing.assert_array_equal(out["offsets"].numpy(), np.asarray(offsets))


# -- mixed precision ---------------------------------------------------------------------


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype,tol", [("float16", 1e-3), ("bfloat16", 8e-3)])
def test_low_precision_inputs(implementation, dtype, tol):
    f, b = random_inputs(2, 8, 12, 3)
    holes = per_sample_holes(2, 8, 12)
    f_low, b_low = tf.cast(f, dtype), tf.cast(b, dtype)
    # Same values in float32: the attention itself runs in float32 in every case.
    f32, b32 = tf.cast(f_low, "float32").numpy(), tf.cast(b_low, "float32").numpy()
    y32, offsets32 = ContextualAttention(rate=2, implementation=implementation)(f32, b32, holes)
    y32 = np.asarray(y32)
    scale = float(np.abs(y32).max())

    # Low-precision tensors into a float32 layer: autocast to float32, identical numbers.
    y, offsets = ContextualAttention(rate=2, implementation=implementation)(f_low, b_low, holes)
    assert y.dtype == tf.float32
    np.testing.assert_allclose(np.asarray(y), y32, atol=1e-6 * scale)
    np.testing.assert_array_equal(np.asarray(offsets), np.asarray(offsets32))

    # A mixed-precision layer: compute dtype `dtype`, only the output is rounded.
    layer = ContextualAttention(rate=2, implementation=implementation, dtype=f"mixed_{dtype}")
    y, offsets = layer(f_low, b_low, holes)
    assert y.dtype == dtype and offsets.dtype == tf.int32
    np.testing.assert_allclose(tf.cast(y, "float32").numpy(), y32, rtol=tol, atol=tol * scale)
    np.testing.assert_array_equal(np.asarray(offsets), np.asarray(offsets32))
