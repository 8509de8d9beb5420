"""Contextual attention in chunks of foreground rows: bounded memory for large images.

The full score matrix has ``(H/8 * W/8)^2`` entries per image (4.2 GB in float32 for
1920x1080), which is why the released code needed ~24 GB there. Here the foreground
grid is processed ``rows`` grid rows at a time; only those rows' scores exist at once.

Attention propagation couples neighbouring foreground positions, in row-major order
(horizontal pass) and then column-major order (vertical pass), with wrap-around at
row/column ends. For ``fuse_k <= 3`` a chunk of grid rows ``[r0, r0 + rows)`` needs the
raw scores of rows ``r0 - 2 .. r0 + rows + 1`` (a two-row halo) plus rows ``0, 1,
h - 2, h - 1`` (the wrap-around of the vertical pass). Those ``rows + 8`` score rows
are computed, the propagated scores of the chunk are gathered from them exactly, and
the results are identical to the unchunked layer (tested). Cost: ``(rows + 8) / rows``
times the matching FLOPs.

The nine propagation taps are accumulated in a loop of index gathers, and both loops
run with :func:`sequential_fori_loop` (one tap's gathers, one chunk alive at a time):
unrolled or overlapped, TF's graph executor ran them concurrently and the chunked layer
peaked above the unchunked one. Peak memory is about eight chunk-sized float32 buffers
(``~8 * 4 B * chunk_elements``) plus the patch matrices (measured by ``gi-bench
--sections=memory``: 4.1 GB at 1024x1024 and 3.7 GB at 1920x1080 for ``2**27``).
"""

import keras
from keras import ops

from gi_tf.layers.attention_patches import match_scores

HALO = 2
WRAP_ROWS = 4


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


def _row_major_step(pos, ok, d, length):
    new = pos + d
    return new, ok & (new >= 0) & (new < length)


def _column_major_step(pos, ok, d, height, width):
    i, j = pos // width, pos % width
    c = j * height + i + d
    ok = ok & (c >= 0) & (c < height * width)
    c = ops.where(ok, c, 0)
    return (c % height) * width + c // height, ok


def _background_shift(d1, d2, height, width):
    """Index and validity ``[L]`` of the background entry feeding position ``q``.

    The full propagation reads ``scores[f', q']`` with ``q'`` = the column-major step
    ``d2`` of ``q`` followed by the row-major step ``d1`` (zero outside the matrix),
    mirroring the foreground steps.
    """
    length = height * width
    q = ops.arange(length, dtype="int32")
    pos, ok = _column_major_step(q, ops.ones((length,), "bool"), d2, height, width)
    pos, ok = _row_major_step(pos, ok, d1, length)
    return ops.where(ok, pos, 0), ok


def _local_slots(pos, r0, rows, height, width):
    """Index of global position ``pos`` in the chunk's local score rows."""
    k, col = pos // width, pos % width
    in_halo = (k >= r0 - HALO) & (k < r0 + rows + HALO)
    halo_slot = k - (r0 - HALO)
    top_slot = rows + 2 * HALO + k  # rows 0, 1
    bottom_slot = rows + 2 * HALO + 2 + (k - (height - 2))  # rows h-2, h-1
    slot = ops.where(in_halo, halo_slot, ops.where(k < 2, top_slot, bottom_slot))
    return slot * width + col


def _chunk_row_ids(r0, rows, height):
    halo = r0 - HALO + ops.arange(rows + 2 * HALO, dtype="int32")
    wrap = ops.convert_to_tensor([0, 1], "int32")
    ids = ops.concatenate([halo, wrap, height - 2 + wrap], axis=0)
    return ops.clip(ids, 0, height - 1)


def chunked_attention(layer, f_patches, kernels, valid, raw, height, width, rows):
    """Attention weights and pasted patches, ``rows`` foreground grid rows at a time.

    Args:
        layer: the calling ``ContextualAttention`` (``fuse``, ``fuse_k``, ``masked_softmax``).
        f_patches: float32 ``[B, L, D]`` foreground patch matrix (``L = height*width``).
        kernels: float32 ``[B, D, L]`` normalised background patches
            (:func:`gi_tf.layers.attention_patches.background_kernels`).
        valid: float32 ``[B, L]`` background validity.
        raw: float32 ``[B, L, P]`` raw patches for the reconstruction.
        height, width: the attention grid.
        rows: int, grid rows per chunk.

    Returns:
        ``(pasted [B, L, P], best [B, L] int32)``.
    """
    if layer.fuse and layer.fuse_k > 3:
        raise ValueError("chunked attention supports fuse_k <= 3")
    # The identity kernel's taps under TF SAME padding: d = i - (k - 1) // 2.
    shifts = tuple(i - (layer.fuse_k - 1) // 2 for i in range(layer.fuse_k)) if layer.fuse else (0,)
    shape = ops.shape(raw)
    batch, length, patch = shape[0], shape[1], shape[2]
    n_chunks = (height + rows - 1) // rows
    chunk_len = rows * width
    shift_values = ops.convert_to_tensor(shifts, "int32")

    def body(c, state):
        pasted_all, best_all = state
        r0 = c * rows
        row_ids = _chunk_row_ids(r0, rows, height)
        local_pos = ops.reshape(row_ids[:, None] * width + ops.arange(width, dtype="int32"), (-1,))
        local_scores = match_scores(ops.take(f_patches, local_pos, axis=1), kernels)
        pos = r0 * width + ops.arange(chunk_len, dtype="int32")
        inside = pos < length

        def add_shift(i, scores):
            # One (d1, d2) tap of both propagation passes. A sequential loop (not a
            # Python unrolling) so that only one tap's gathers are alive at a time:
            # unrolled, the graph executor ran all taps' gathers concurrently (~20
            # chunk-sized buffers; more than the unchunked layer at 1024x1024).
            d2 = ops.take(shift_values, i // len(shifts))
            d1 = ops.take(shift_values, i % len(shifts))
            v_pos, v_ok = _column_major_step(pos, inside, d2, height, width)
            h_pos, h_ok = _row_major_step(v_pos, v_ok, d1, length)
            slots = ops.where(h_ok, _local_slots(h_pos, r0, rows, height, width), 0)
            part = ops.take(local_scores, slots, axis=1)
            b_index, b_ok = _background_shift(d1, d2, height, width)
            part = ops.take(part, b_index, axis=2)
            # Two broadcast multiplies: no [chunk, L] mask buffer of its own.
            part = part * ops.cast(h_ok, part.dtype)[None, :, None]
            return scores + part * ops.cast(b_ok, part.dtype)[None, None, :]

        zeros = ops.zeros((batch, chunk_len, length), local_scores.dtype)
        scores = sequential_fori_loop(0, len(shifts) ** 2, add_shift, zeros)
        weights = layer.masked_softmax(scores, valid)
        best = ops.cast(ops.argmax(weights, axis=-1), "int32")
        pasted = ops.matmul(weights, raw)
        # Position-major state and scatter_update: TF has no gradient for slice_update
        # (XlaDynamicUpdateSlice), which made the chunked layer untrainable.
        slots = ops.expand_dims(c * chunk_len + ops.arange(chunk_len, dtype="int32"), -1)
        pasted_all = ops.scatter_update(pasted_all, slots, ops.transpose(pasted, (1, 0, 2)))
        best_all = ops.scatter_update(best_all, slots, ops.transpose(best, (1, 0)))
        return pasted_all, best_all

    padded_len = n_chunks * chunk_len
    init = (
        ops.zeros((padded_len, batch, patch), raw.dtype),
        ops.zeros((padded_len, batch), "int32"),
    )
    pasted_all, best_all = sequential_fori_loop(0, n_chunks, body, init)
    pasted_all = ops.transpose(pasted_all, (1, 0, 2))
    return pasted_all[:, :length], ops.transpose(best_all, (1, 0))[:, :length]
