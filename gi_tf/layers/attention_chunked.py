"""The geometry of the chunked attention: which foreground rows a chunk needs.

With ``chunk_elements``, :class:`gi_tf.layers.ContextualAttention` takes each sample's
foreground grid a few rows at a time, so only those rows' scores exist at once (the full
matrix is ``(H/8 * W/8)^2`` per image). This module says which rows and columns, no
arithmetic of the attention: propagation couples neighbours row-major then column-major
with wrap-around, so a chunk of rows ``[r0, r0 + rows)`` needs ``rows + 2`` rows of raw
scores (modulo ``h``) plus two single positions (:func:`slot_rows`); the passes gather on
the foreground side (:func:`row_major_step`, :func:`column_major_step`) and shift columns
on the background side (:func:`shift_columns`), so the result is the unchunked layer's
(tested). Rows per chunk: :func:`chunk_rows` (at least :data:`MIN_CHUNK_ROWS`).
"""

import keras
from keras import ops

# Extra score rows each chunk computes: one row before it and one after it (modulo h).
HALO_ROWS = 2
# Fewest grid rows per chunk, whatever the bound says: the halo rows cost (rows + 2) / rows
# times the matching work, so a landscape photo whose row of scores alone nearly fills the
# bound (1920x1080 at 2**26: 6 rows fit) does not fall to one-row chunks (3x the work).
MIN_CHUNK_ROWS = 4


def chunk_rows(chunk_elements, height, width):
    """Grid rows per chunk for a ``height x width`` attention grid (int or scalar tensor).

    As many as fit the bound with their halo (``(rows + 2) * width * height * width <=
    chunk_elements``), at least :data:`MIN_CHUNK_ROWS`.
    """
    row_elements = width * height * width
    if isinstance(row_elements, int):
        return max(chunk_elements // max(row_elements, 1) - HALO_ROWS, MIN_CHUNK_ROWS)
    return ops.maximum(chunk_elements // ops.maximum(row_elements, 1) - HALO_ROWS,
                       MIN_CHUNK_ROWS)


def sequential_fori_loop(lower, upper, body, init):
    """``keras.ops.fori_loop`` whose iterations never overlap.

    TensorFlow's ``while_loop`` runs up to 10 iterations concurrently when their
    inputs allow it (``parallel_iterations=10``); a chunk's scores depend only on the
    loop counter, so several chunk-sized buffers were alive at once and the chunked
    layer used *more* memory than the unchunked one (7.8 vs 6.0 GB at 1024x1024).
    Other backends run loop iterations one after another already.
    """
    if keras.backend.backend() != "tensorflow":
        return ops.fori_loop(lower, upper, body, init)
    import tensorflow as tf  # only reached on the TensorFlow backend

    _, result = tf.while_loop(
        lambda i, _: i < upper,
        lambda i, state: (i + 1, body(i, state)),
        (lower, init),
        parallel_iterations=1,
    )
    return result


# The neighbour steps of attention propagation on a flattened h x w grid (int32 positions,
# row-major), for the chunks and for the windowed attention's cells
# (gi_tf.inference.windowed.attention).


def row_major_step(pos, d, length, ok=None):
    """One step ``d`` along the row-major order (wrapping rows): ``(pos + d, ok')``.

    ``ok'``: the step stays inside the ``length`` positions (and ``ok``, when given).
    """
    new = pos + d
    if ok is None:
        return new, (new >= 0) & (new < length)
    return new, ok & (new >= 0) & (new < length)


def column_major_step(pos, d, height, width, ok=None):
    """One step ``d`` along the column-major order (wrapping columns): ``(pos', ok')``.

    ``ok'``: the step stays inside the grid (and ``ok``, when given); ``pos'`` is 0
    where not ``ok'``.
    """
    i, j = pos // width, pos % width
    c = j * height + i + d
    if ok is None:
        ok = (c >= 0) & (c < height * width)
    else:
        ok = ok & (c >= 0) & (c < height * width)
    c = ops.where(ok, c, 0)
    return (c % height) * width + c // height, ok


def shift_columns(x, d):
    """``x[:, q + d]`` with zeros outside: the background side of a horizontal tap."""
    if d == 0:
        return x
    zero = ops.zeros_like(x[:, :1])
    if d > 0:
        return ops.concatenate([x[:, d:], ops.repeat(zero, d, axis=1)], axis=1)
    return ops.concatenate([ops.repeat(zero, -d, axis=1), x[:, :d]], axis=1)


def shift_columns_vertically(x, d, height, width):
    """``x[:, q']`` with ``q'`` = the column-major step ``d`` of ``q`` (zero outside).

    The background side of a vertical tap on row-major columns: one row down/up, and the
    last (first) image row wraps to row 0 (the last row) one column on (back).
    """
    if d == 0:
        return x
    zero = ops.zeros_like(x[:, :1])
    length = height * width
    if d == 1:
        return ops.concatenate([x[:, width:], x[:, 1:width], zero], axis=1)
    if d == -1:
        return ops.concatenate([zero, x[:, length - width:length - 1], x[:, :length - width]],
                               axis=1)
    raise ValueError(f"vertical taps of +-1 only (fuse_k <= 3), got {d}")


def slot_rows(r0, rows, height, width):
    """Flat positions of a chunk's score rows: ``rows + 2`` grid rows modulo ``height``,
    then the two single positions, then ``L`` (the zero row)."""
    row_ids = (r0 - 1 + ops.arange(rows + HALO_ROWS, dtype="int32")) % height
    grid = ops.reshape(row_ids[:, None] * width + ops.arange(width, dtype="int32"), (-1,))
    singles = ops.stack([((r0 - 2) % height) * width + width - 1,
                         ((r0 + rows + 1) % height) * width])
    length = ops.convert_to_tensor([height * width], "int32")
    return ops.concatenate([grid, ops.cast(singles, "int32"), length], axis=0)


def slot_of(pos, ok, r0, rows, height, width):
    """Index of global position ``pos`` among :func:`slot_rows` (the zero row if absent)."""
    k, col = pos // width, pos % width
    t = (k - r0 + 1) % height
    grid_rows = (rows + HALO_ROWS) * width
    first_single = ((r0 - 2) % height) * width + width - 1
    second_single = ((r0 + rows + 1) % height) * width
    slot = ops.where(t <= rows + 1, t * width + col,
                     ops.where(pos == first_single, grid_rows,
                               ops.where(pos == second_single, grid_rows + 1, grid_rows + 2)))
    return ops.where(ok, slot, grid_rows + 2)


def propagated_chunk(layer, f_patches, kernels, r0, rows, height, width):
    """Kept name: ``layer.propagate_rows(f_patches, kernels, r0, rows, height, width)``."""
    return layer.propagate_rows(f_patches, kernels, r0, rows, height, width)
