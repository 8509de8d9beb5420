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
"""

from keras import ops

HALO = 2
WRAP_ROWS = 4


def _shift_last(x, d):
    """``y[..., q] = x[..., q + d]``, zero outside (row-major shift of background axis)."""
    if d == 0:
        return x
    length = ops.shape(x)[-1]
    pad = [[0, 0]] * (len(x.shape) - 1)
    if d > 0:
        padded = ops.pad(x, pad + [[0, d]])
        return padded[..., d:]
    padded = ops.pad(x, pad + [[-d, 0]])
    return padded[..., :length]


def _shift_last_column_major(x, d, height, width):
    """Shift along the background axis in column-major order (see ``_shift_last``)."""
    if d == 0:
        return x
    shape = ops.shape(x)
    grid = ops.reshape(x, (shape[0], shape[1], height, width))
    cols = ops.reshape(ops.transpose(grid, (0, 1, 3, 2)), (shape[0], shape[1], width * height))
    cols = _shift_last(cols, d)
    grid = ops.transpose(ops.reshape(cols, (shape[0], shape[1], width, height)), (0, 1, 3, 2))
    return ops.reshape(grid, (shape[0], shape[1], height * width))


def _row_major_step(pos, ok, d, length):
    new = pos + d
    return new, ok & (new >= 0) & (new < length)


def _column_major_step(pos, ok, d, height, width):
    i, j = pos // width, pos % width
    c = j * height + i + d
    ok = ok & (c >= 0) & (c < height * width)
    c = ops.where(ok, c, 0)
    return (c % height) * width + c // height, ok


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


def chunked_attention(layer, f_patches, b_patches, valid, raw, height, width, rows):
    """Attention weights and pasted patches, ``rows`` foreground grid rows at a time.

    Args:
        layer: the calling ``ContextualAttention`` (``fuse``, ``fuse_k``, ``masked_softmax``).
        f_patches: float32 ``[B, L, D]`` foreground patch matrix (``L = height*width``).
        b_patches: float32 ``[B, L, D]`` normalised background patch matrix.
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
    b_t = ops.transpose(b_patches, (0, 2, 1))

    def body(c, state):
        pasted_all, best_all = state
        r0 = c * rows
        row_ids = _chunk_row_ids(r0, rows, height)
        local_pos = ops.reshape(row_ids[:, None] * width + ops.arange(width, dtype="int32"), (-1,))
        local_scores = ops.matmul(ops.take(f_patches, local_pos, axis=1), b_t)
        pos = r0 * width + ops.arange(chunk_len, dtype="int32")
        inside = pos < length
        scores = None
        for d2 in shifts:
            v_pos, v_ok = _column_major_step(pos, inside, d2, height, width)
            partial = None
            for d1 in shifts:
                h_pos, h_ok = _row_major_step(v_pos, v_ok, d1, length)
                slots = ops.where(h_ok, _local_slots(h_pos, r0, rows, height, width), 0)
                part = ops.take(local_scores, slots, axis=1)
                part = part * ops.cast(h_ok, part.dtype)[None, :, None]
                part = _shift_last(part, d1)
                partial = part if partial is None else partial + part
            partial = _shift_last_column_major(partial, d2, height, width)
            scores = partial if scores is None else scores + partial
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
    pasted_all, best_all = ops.fori_loop(0, n_chunks, body, init)
    pasted_all = ops.transpose(pasted_all, (1, 0, 2))
    return pasted_all[:, :length], ops.transpose(best_all, (1, 0))[:, :length]
