"""Contextual attention in chunks of foreground rows: bounded memory for large images.

The full score matrix has ``(H/8 * W/8)^2`` entries per image (4.2 GB in float32 for
1920x1080), which is why the released code needed ~24 GB there. Here each sample's
foreground grid is processed ``rows`` grid rows at a time; only those rows' scores exist
at once.

Attention propagation couples neighbouring foreground positions, in row-major order
(horizontal pass) and then column-major order (vertical pass), with wrap-around at
row/column ends. For ``fuse_k <= 3`` a chunk of grid rows ``[r0, r0 + rows)`` needs the
raw scores of ``rows + 2`` rows, ``r0 - 1 .. r0 + rows`` taken modulo ``h`` (the wrap of
the vertical pass: the first chunk's row ``-1`` is row ``h - 1``, the last chunk's row
``h`` is row 0), plus two single positions (the last of row ``r0 - 2`` and the first of
row ``r0 + rows + 1``, reached by the horizontal wrap). The passes are computed one after
the other (horizontal on those rows, vertical on the chunk) with row gathers on the
foreground side and shifted slices on the background side, so the result is identical to
the unchunked layer (tested). Cost: ``(rows + 2) / rows`` times the matching FLOPs; rows
per chunk come from the bound with a minimum of :data:`MIN_CHUNK_ROWS` (:func:`chunk_rows`).

Background patches that touch a hole get zero weight: on the TensorFlow backend their
columns are left out of the softmax and of the paste matmul (they still count in the
softmax denominator, as in the released code: ``exp(0 - max)`` each).

Samples are processed one after another, and both loops run with
:func:`sequential_fori_loop` (one chunk alive at a time): overlapped, TF's graph executor
ran iterations concurrently and the chunked layer peaked above the unchunked one. Peak
memory is about eight chunk-sized float32 buffers (``~8 * 4 B * (rows + 2) * w * L``) plus
the patch matrices (``gi-bench --sections=memory``).
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
# row-major). One implementation for the chunked layer and the windowed attention
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


def _slot_rows(r0, rows, height, width):
    """Flat positions of a chunk's score rows: ``rows + 2`` grid rows modulo ``height``,
    then the two single positions, then ``L`` (the zero row)."""
    row_ids = (r0 - 1 + ops.arange(rows + HALO_ROWS, dtype="int32")) % height
    grid = ops.reshape(row_ids[:, None] * width + ops.arange(width, dtype="int32"), (-1,))
    singles = ops.stack([((r0 - 2) % height) * width + width - 1,
                         ((r0 + rows + 1) % height) * width])
    length = ops.convert_to_tensor([height * width], "int32")
    return ops.concatenate([grid, ops.cast(singles, "int32"), length], axis=0)


def _slot_of(pos, ok, r0, rows, height, width):
    """Index of global position ``pos`` among :func:`_slot_rows` (the zero row if absent)."""
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
    """Propagated scores ``[rows*width, L]`` of one sample's foreground rows ``[r0, r0+rows)``.

    Args:
        layer: the calling ``ContextualAttention`` (``fuse``, ``fuse_k``).
        f_patches: float32 ``[L + 1, D]``: the sample's foreground patches and a zero row.
        kernels: float32 ``[D, L]``: its normalised background patches.
        r0, rows: the chunk (rows past ``height`` give zero-padded garbage rows).
    """
    length = height * width
    chunk = r0 * width + ops.arange(rows * width, dtype="int32")
    inside = chunk < length
    if not layer.fuse:
        return ops.matmul(ops.take(f_patches, ops.where(inside, chunk, length), axis=0),
                          kernels)
    shifts = tuple(i - (layer.fuse_k - 1) // 2 for i in range(layer.fuse_k))
    slots = _slot_rows(r0, rows, height, width)
    scores = ops.matmul(ops.take(f_patches, slots, axis=0), kernels)  # [T + 1, L]
    real = slots < length
    parts = []
    for d in shifts:  # horizontal pass, on every slot row
        pos, ok = row_major_step(slots, d, length, ok=real)
        parts.append(shift_columns(
            ops.take(scores, _slot_of(pos, ok, r0, rows, height, width), axis=0), d))
    out1 = _sum(parts)
    parts = []
    for d in shifts:  # vertical pass, on the chunk's rows
        pos, ok = column_major_step(chunk, d, height, width, ok=inside)
        part = ops.take(out1, _slot_of(pos, ok, r0, rows, height, width), axis=0)
        parts.append(shift_columns_vertically(part, d, height, width))
    return _sum(parts)


def _sum(parts):
    """Sum of same-shaped tensors; one pass over memory on TensorFlow (``add_n``)."""
    if keras.backend.backend() == "tensorflow" and len(parts) > 1:
        import tensorflow as tf

        return tf.add_n(parts)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _softmax_paste_masked(layer, scores, valid, raw):
    """Masked softmax over every background column, argmax, paste (any backend)."""
    weights = layer.masked_softmax(scores[None], valid[None])[0]
    best = ops.cast(ops.argmax(weights, axis=-1), "int32")
    return ops.matmul(weights, raw), best


def _softmax_paste_valid(layer, scores, columns, invalid, raw_valid):
    """The same on the valid columns only (TensorFlow): invalid ones only count in the sum.

    ``columns`` int32 ``[Lv]`` valid column indices, ``invalid`` their complement's size,
    ``raw_valid`` ``[Lv, P]``. Identical to :func:`_softmax_paste_masked`: a masked score
    is 0 before the softmax (``exp(0 - max)`` in the denominator) and its weight 0 after.
    """
    import tensorflow as tf

    x = tf.gather(scores, columns, axis=1) * layer.softmax_scale
    top = tf.reduce_max(x, axis=1, keepdims=True)  # -inf when no column is valid
    top = tf.where(invalid > 0, tf.maximum(top, 0.0), top)
    e = tf.exp(x - top)
    denominator = tf.reduce_sum(e, axis=1, keepdims=True) + tf.cast(invalid, e.dtype) * tf.exp(-top)
    weights = e / denominator

    def best_valid():
        arg = tf.argmax(weights, axis=1, output_type=tf.int32)
        best_weight = tf.gather(weights, arg, axis=1, batch_dims=1)
        # argmax over all weights picks index 0 when every weight is 0 (underflow).
        return tf.where(best_weight > 0, tf.gather(columns, arg), 0)

    best = tf.cond(tf.size(columns) > 0, best_valid,
                   lambda: tf.zeros(tf.shape(x)[:1], tf.int32))
    return tf.matmul(weights, raw_valid), best


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
        rows: int, grid rows per chunk (:func:`chunk_rows`).

    Returns:
        ``(pasted [B, L, P], best [B, L] int32)``.
    """
    if layer.fuse and layer.fuse_k > 3:
        raise ValueError("chunked attention supports fuse_k <= 3")
    tensorflow = keras.backend.backend() == "tensorflow"
    shape = ops.shape(raw)
    batch, length, patch = shape[0], shape[1], shape[2]
    n_chunks = (height + rows - 1) // rows
    chunk_len = rows * width
    padded_len = n_chunks * chunk_len
    zero_row = ops.zeros_like(f_patches[0, :1])

    def sample(b, state):
        pasted_all, best_all = state
        f_b = ops.concatenate([f_patches[b], zero_row], axis=0)
        kernels_b, valid_b, raw_b = kernels[b], valid[b], raw[b]
        if tensorflow:
            import tensorflow as tf

            columns = tf.cast(tf.reshape(tf.where(valid_b > 0), (-1,)), tf.int32)
            invalid = length - tf.size(columns)
            raw_valid = tf.gather(raw_b, columns)

        def chunk(c, chunk_state):
            pasted_b, best_b = chunk_state
            scores = propagated_chunk(layer, f_b, kernels_b, c * rows, rows, height, width)
            if tensorflow:
                pasted, best = _softmax_paste_valid(layer, scores, columns, invalid, raw_valid)
            else:
                pasted, best = _softmax_paste_masked(layer, scores, valid_b, raw_b)
            # scatter_update: TF has no gradient for slice_update (XlaDynamicUpdateSlice),
            # which made the chunked layer untrainable.
            slots = ops.expand_dims(c * chunk_len + ops.arange(chunk_len, dtype="int32"), -1)
            return (ops.scatter_update(pasted_b, slots, pasted),
                    ops.scatter_update(best_b, slots, best))

        init = (ops.zeros((padded_len, patch), raw.dtype), ops.zeros((padded_len,), "int32"))
        pasted_b, best_b = sequential_fori_loop(0, n_chunks, chunk, init)
        index = ops.reshape(b, (1, 1))
        return (ops.scatter_update(pasted_all, index, pasted_b[None, :length]),
                ops.scatter_update(best_all, index, best_b[None, :length]))

    init = (ops.zeros((batch, length, patch), raw.dtype), ops.zeros((batch, length), "int32"))
    return sequential_fori_loop(0, batch, sample, init)
