"""Chunked attention: the rows-per-chunk rule, the halo, and the skipped background columns.

(Its agreement with the NumPy reference, gradients and SavedModel use are in
test_contextual_attention.py.)
"""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.layers import ContextualAttention
from gi_tf.layers import attention_chunked
from gi_tf.layers.attention_propagation import AttentionPropagation


def test_chunk_rows_fill_the_bound_with_a_minimum():
    # 1920x1080: a 135 x 240 grid, L = 32,400; one row of scores is 7.8 M entries, so
    # 2**26 holds 8 rows: 6 rows + the 2 halo rows (the old rule gave 1 row + 8).
    assert attention_chunked.chunk_rows(2**26, 135, 240) == 6
    assert attention_chunked.chunk_rows(2**26, 240, 135) == 13  # portrait
    # Too small a bound: the minimum, not one-row chunks.
    assert attention_chunked.chunk_rows(1, 135, 240) == attention_chunked.MIN_CHUNK_ROWS
    # As a graph computation (unknown sizes) the same numbers.
    rows = attention_chunked.chunk_rows(2**26, tf.constant(135), tf.constant(240))
    assert int(rows) == 6


def _full_propagation(scores, height, width):
    grid = tf.reshape(scores, (1, height, width, height, width))
    return tf.reshape(AttentionPropagation(3)(grid), (height * width, height * width))


@pytest.mark.parametrize("height,width,rows", [(7, 5, 1), (7, 5, 2), (7, 5, 3), (7, 5, 7),
                                               (6, 4, 4), (2, 6, 1), (1, 9, 4), (3, 1, 2)])
def test_propagated_chunk_equals_the_full_propagation(height, width, rows):
    # Modular halo rows (first and last chunk), the two single positions, aliasing when
    # a chunk covers the whole grid, and one-row / one-column grids.
    rng = np.random.default_rng(height * 10 + width)
    length, depth = height * width, 3
    f = rng.standard_normal((length, depth)).astype("float32")
    k = rng.standard_normal((depth, length)).astype("float32")
    want = _full_propagation(tf.constant(f @ k), height, width).numpy()
    layer = ContextualAttention(rate=1)
    f_rows = tf.constant(np.concatenate([f, np.zeros((1, depth), "float32")]))
    for r0 in range(0, height, rows):
        got = layer.propagate_rows(f_rows, tf.constant(k), r0, rows, height, width).numpy()
        stop = min(r0 + rows, height)
        np.testing.assert_allclose(got[:(stop - r0) * width], want[r0 * width:stop * width],
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("valid_fraction", [0.0, 0.3, 1.0])
def test_skipped_columns_equal_the_masked_softmax(valid_fraction):
    rng = np.random.default_rng(7)
    rows, length, patch = 6, 40, 5
    scores = tf.constant(rng.standard_normal((rows, length)).astype("float32") * 3)
    valid = (rng.uniform(size=length) < valid_fraction).astype("float32")
    raw = tf.constant(rng.standard_normal((length, patch)).astype("float32"))
    layer = ContextualAttention()
    want_pasted, want_best = layer._paste_chunk(scores, tf.constant(valid), raw)
    columns = tf.constant(np.flatnonzero(valid), tf.int32)
    got_pasted, got_best = layer._paste_chunk_valid(
        scores, columns, length - len(np.flatnonzero(valid)), tf.gather(raw, columns))
    np.testing.assert_allclose(got_pasted.numpy(), want_pasted.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got_best.numpy(), want_best.numpy())


@pytest.mark.parametrize("height,width,rate", [(6, 4, 1), (10, 14, 2), (9, 12, 3)])
def test_cells_are_rows_of_the_dense_patches(height, width, rate):
    # The windowed attention's patches at some cells are rows of the batched layer's.
    rng = np.random.default_rng(height)
    layer = ContextualAttention(rate=rate)
    grid = rng.uniform(-1, 1, (1, height, width, 3)).astype("float32")
    full = rng.uniform(-1, 1, (1, height * rate, width * rate, 3)).astype("float32")
    cells = tf.constant([0, width - 1, width, height * width - 1], tf.int32)
    np.testing.assert_array_equal(layer.foreground_patches(grid[0], cells).numpy(),
                                  tf.gather(layer.foreground_patches(grid)[0], cells).numpy())
    kernels = tf.transpose(layer.background_kernels(grid)[0])
    np.testing.assert_array_equal(layer.background_kernels(grid[0], cells).numpy(),
                                  tf.gather(kernels, cells).numpy())
    np.testing.assert_array_equal(layer.raw_patches(full[0], cells).numpy(),
                                  tf.gather(layer.raw_patches(full)[0], cells).numpy())


def test_propagated_chunk_is_the_layers_propagate_rows():
    rng = np.random.default_rng(3)
    f = tf.constant(rng.standard_normal((13, 2)).astype("float32"))  # 4 x 3 grid + zero row
    k = tf.constant(rng.standard_normal((2, 12)).astype("float32"))
    layer = ContextualAttention(rate=1)
    np.testing.assert_array_equal(attention_chunked.propagated_chunk(layer, f, k, 1, 2, 4, 3),
                                  layer.propagate_rows(f, k, 1, 2, 4, 3))
