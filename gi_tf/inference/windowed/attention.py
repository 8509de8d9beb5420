"""The contextual attention at some foreground positions only (graph code, one sample).

:func:`attend_positions` is one more way to tile :class:`gi_tf.layers.ContextualAttention`
(``foreground = background``): the layer's own patches, kernels, raw patches, scores,
propagation taps and softmax blocks, on the foreground cells asked for (their
propagation neighbours from :func:`attention_index`) against bands of background grid
rows, combined by the online softmax (:meth:`~gi_tf.layers.ContextualAttention.softmax_block`),
so nothing of size ``L x 9C`` or ``L x (2r)^2 C`` is ever built; bands whose patches all
touch the hole are not matched (only their count enters the softmax denominator, as in
the full layer). It equals the batched layer on those cells to float noise (tested).

The propagation in bands. A background position ``t = (k, j)`` of the grid (h x w) steps
to ``(k + d, j)`` in the column-major pass, where row ``h`` means ``(0, j + 1)`` and row
``-1`` means ``(h - 1, j - 1)`` (the flattened column-major order wraps into the next
column). Each band therefore needs the row-major pass on its rows plus one "extended" row
above and below; the extended rows of band ``b`` are carried to band ``b + 1`` (no score
row is computed twice). The row-major pass of an extended row reads the raw scores of its
``w`` positions and one more on each side (flattened order: the neighbours may sit in the
adjacent rows), so every extended row computes ``w + 2`` score columns.
"""

import collections

import tensorflow as tf

from gi_tf.layers.attention_chunked import column_major_step
from gi_tf.layers.attention_chunked import row_major_step

# Score entries of one background band (per buffer; a band holds ~6 such buffers).
DEFAULT_BLOCK_ELEMENTS = 2**23
# Buffers of block size alive at once during a band (raw scores, row-major pass, taps,
# column-major pass, softmax numerators): what the memory estimate counts.
BAND_BUFFERS = 6

AttentionIndex = collections.namedtuple(
    "AttentionIndex", ["positions", "rows_h", "rows_v", "h_maps", "v_maps", "shifts"])
AttentionIndex.__doc__ = """Which score rows the attention of foreground ``positions`` needs.

Fields (int32 tensors):
    positions: ``[n]`` sorted flat grid indices of the foreground positions.
    rows_h: positions whose raw scores are computed (``positions`` grown by both
        propagation passes; sorted).
    rows_v: positions whose row-major-propagated scores are needed (sorted).
    h_maps: per tap, ``[len(rows_v) + 1]``: row of ``rows_h`` (or the zero row
        ``len(rows_h)``) feeding each ``rows_v`` entry, then the zero row's own.
    v_maps: per tap, ``[n]``: row of ``rows_v`` (or the zero row ``len(rows_v)``).
    shifts: the taps' steps, a Python tuple: ``(-1, 0, 1)`` with fuse, ``(0,)`` without.
"""


def _sorted_unique(x):
    return tf.sort(tf.unique(x).y)


def _index_of(targets, ok, table, missing):
    """Index of each target in the sorted ``table`` (``missing`` where not ok / absent)."""
    idx = tf.searchsorted(table, targets, out_type=tf.int32)
    idx = tf.minimum(idx, tf.shape(table)[0] - 1)
    found = ok & tf.equal(tf.gather(table, idx), targets)
    return tf.where(found, idx, missing)


def attention_index(positions, height, width, fuse=True):
    """The :class:`AttentionIndex` of sorted unique ``positions`` (int32 ``[n]``, n >= 1)."""
    length = height * width
    shifts = (-1, 0, 1) if fuse else (0,)
    v_targets = [column_major_step(positions, d, height, width) for d in shifts]
    rows_v = _sorted_unique(tf.concat([tf.boolean_mask(t, ok) for t, ok in v_targets]
                                      + [positions], 0))
    h_targets = [row_major_step(rows_v, d, length) for d in shifts]
    rows_h = _sorted_unique(tf.concat([tf.boolean_mask(t, ok) for t, ok in h_targets]
                                      + [rows_v], 0))
    zero_h, zero_v = tf.shape(rows_h)[0], tf.shape(rows_v)[0]
    h_maps = tuple(tf.concat([_index_of(t, ok, rows_h, zero_h), [zero_h]], 0)
                   for t, ok in h_targets)
    v_maps = tuple(_index_of(t, ok, rows_v, zero_v) for t, ok in v_targets)
    return AttentionIndex(positions, rows_h, rows_v, h_maps, v_maps, shifts)


def band_rows(block_elements, score_rows, width):
    """Background grid rows per band: ``block_elements`` scores of ``score_rows`` rows."""
    return tf.maximum(1, block_elements // tf.maximum(score_rows * (width + 2), 1))


def attend_positions(attention, b_small, features, valid, positions, block_elements=None):
    """The generator's contextual attention at some foreground positions only.

    Args:
        attention: the generator's ``ContextualAttention``, whose steps this runs
            (``fuse_k`` 3 when fusing).
        b_small: float32 ``[h, w, C]``: the features downsampled by ``rate`` (TF1
            align-corners nearest; foreground and background alike).
        features: float32 ``[H, W, C]`` full-resolution background (raw patches).
        valid: bool ``[h*w]``: background patches free of holes.
        positions: int32 ``[n]`` sorted unique flat foreground grid indices, n >= 1.
        block_elements: score entries per band buffer (default
            :data:`DEFAULT_BLOCK_ELEMENTS`).

    Returns:
        ``(pasted, best)``: float32 ``[n, (2r)^2 C]`` softmax-weighted raw patches (before
        the fold and the /4), and int32 ``[n]`` flat index of the best background patch
        (0 where every weight is 0), in ``positions`` order.
    """
    if attention.fuse and attention.fuse_k != 3:
        raise ValueError(f"the windowed attention supports fuse_k=3, got {attention.fuse_k}")
    block_elements = block_elements or DEFAULT_BLOCK_ELEMENTS
    ksize, rate = attention.ksize, attention.rate
    shape = tf.shape(b_small)
    h, w = shape[0], shape[1]
    channels = b_small.shape[-1]
    length = h * w
    index = attention_index(positions, h, w, attention.fuse)

    def scores_against(flat, ok):  # scores of f_rows against background cells, 0 where not ok
        return attention.match(f_rows, attention.background_kernels(b_small, flat, ok),
                               kernels_as_rows=True)

    f_rows = tf.concat([attention.foreground_patches(b_small, index.rows_h),
                        tf.zeros((1, ksize * ksize * channels))], 0)

    def row_major_pass(k0, k1):
        """Row-major-propagated scores of extended rows ``[k0, k1)``: ``[nv+1, k1-k0, w]``."""
        rows = tf.range(k0, k1)
        first = tf.where(rows >= h, 1, tf.where(rows < 0, length - w - 1, rows * w))
        flat = first[:, None] - 1 + tf.range(w + 2)[None]
        ok = (flat >= 0) & (flat < length)
        flat = tf.reshape(tf.clip_by_value(flat, 0, length - 1), [-1])
        raw_scores = scores_against(flat, tf.reshape(ok, [-1]))
        raw_scores = tf.reshape(raw_scores, (-1, k1 - k0, w + 2))
        return attention.sum_taps([tf.gather(raw_scores, m)[:, :, 1 + d:1 + d + w]
                                   for d, m in zip(index.shifts, index.h_maps)])

    def band_scores_fused(k0, k1, carry):
        """Propagated scores ``[n, (k1-k0)*w]`` of band rows ``[k0, k1)`` and the new carry."""
        ext = tf.concat([carry, row_major_pass(k0 + 1, k1 + 1)], 1)  # rows k0-1 .. k1
        rows = tf.range(k0, k1)
        cols = tf.range(w)
        parts = []
        for d, m in zip(index.shifts, index.v_maps):
            g = tf.gather(ext, m)[:, 1 + d:1 + d + (k1 - k0)]
            target = rows[:, None] + d
            ok = tf.where(target >= h, cols[None] <= w - 2,
                          tf.where(target < 0, cols[None] >= 1, tf.ones_like(target, tf.bool)))
            parts.append(g * tf.cast(ok, g.dtype)[None])
        scores = tf.reshape(attention.sum_taps(parts), (-1, (k1 - k0) * w))
        carry = ext[:, -2:]
        carry.set_shape([None, 2, None])
        return scores, carry

    def band_scores_plain(k0, k1, carry):
        flat = tf.range(k0 * w, k1 * w)
        scores = scores_against(flat, tf.ones_like(flat, tf.bool))
        return tf.gather(scores, index.v_maps[0]), carry

    n = tf.shape(positions)[0]
    if attention.fuse:
        band_scores = band_scores_fused
        carry = row_major_pass(-1, 1)
        band = band_rows(block_elements, tf.shape(index.rows_h)[0] + 1, w)
    else:
        band_scores = band_scores_plain
        carry = tf.zeros((0,))
        band = band_rows(block_elements, n, w)
    patch = (2 * rate) ** 2 * channels

    def step(k0, carry, m, total, acc, best_value, best_index):
        k1 = tf.minimum(k0 + band, h)
        valid_cols = tf.cast(tf.where(valid[k0 * w:k1 * w])[:, 0], tf.int32)
        invalid = tf.cast((k1 - k0) * w - tf.shape(valid_cols)[0], tf.float32)
        scores, carry = band_scores(k0, k1, carry)

        def matched():
            block = attention.softmax_block(tf.gather(scores, valid_cols, axis=1), invalid,
                                            (m, total))
            arg = tf.argmax(block.x, axis=1, output_type=tf.int32)
            better = block.block_max[:, 0] > best_value
            new_best_value = tf.where(better, block.block_max[:, 0], best_value)
            new_best_index = tf.where(better, tf.gather(valid_cols, arg) + k0 * w, best_index)
            pasted = tf.matmul(block.e, attention.raw_patches(features, valid_cols + k0 * w))
            new_acc = acc * block.alpha + pasted
            return block.m, block.total, new_acc, new_best_value, new_best_index

        def skipped():  # every patch here touches a hole: only their count matters
            block = attention.softmax_block(tf.zeros((n, 0)), invalid, (m, total))
            return block.m, block.total, acc * block.alpha, best_value, best_index

        m, total, acc, best_value, best_index = tf.cond(
            tf.shape(valid_cols)[0] > 0, matched, skipped)
        return k1, carry, m, total, acc, best_value, best_index

    state = (tf.constant(0), carry, tf.fill((n, 1), -float("inf")), tf.zeros((n, 1)),
             tf.zeros((n, patch)), tf.fill((n,), -float("inf")), tf.zeros((n,), tf.int32))
    _, _, m, total, acc, best_value, best_index = tf.while_loop(
        lambda k0, *_: k0 < h, step, state, parallel_iterations=1)
    pasted = acc / total
    # argmax of the full weights: the best valid patch, or index 0 when all weights are 0.
    top = tf.exp(best_value - m[:, 0]) / total[:, 0]
    return pasted, tf.where(top > 0, best_index, 0)
