"""Exact windowed inference: the generator's result in the hole at the cost of the hole.

Only hole pixels of the refined image are used (known pixels are copied from the input),
and a hole pixel depends on

* the coarse network within its receptive field (the hole's coarse values are pasted
  into the refinement input);
* the dilated refinement branch (``xconv*``) and the decoder (``allconv*``) within theirs;
* the contextual attention at the foreground grid positions whose pasted patches reach it,
  with the attention propagation's neighbours (and its wrap-around) — and, through them,
  on the *whole* image: every hole-free background patch competes in the softmax.

So :func:`refine` computes exactly the full generator's refined output on the hole
pixels, with

1. the coarse network only on the windows that reach the hole pixels;
2. the attention encoder (``pmconv1``…``pmconv6``) over the whole image, in row strips
   (bounded memory), for the background;
3. the attention only for the foreground positions that reach the hole, against all
   background positions, in bands of background rows with an online softmax (bounded
   memory; nothing of size ``L x 9C`` or ``L x (2r)^2 C`` is built); bands whose patches
   all touch the hole are not matched at all (their weight is zero; only their count
   enters the softmax denominator, as in the full computation);
4. the refinement branches and the decoder only on the windows.

Exactness. Every convolution runs on the exact input range its outputs read (computed
from the layer table: kernel, stride, dilation, x2 resizes), zero-padded only where the
full computation pads (at the image border), as a VALID convolution; the align-corners
resizes gather with the whole image's index map. The result equals the full computation
up to float32 summation order (tests: ≤ 1e-4 on [-1, 1] outputs; uint8 within one level).

The window plan (:func:`plan`) groups the hole's connected components into windows
(components whose computations would overlap share one), and compares the analytic cost
of the windowed computation with the full one; :class:`gi_tf.inference.inpainter.Inpainter`
uses the windowed path when it saves work (``window="auto"``).

Conventions: images float32 ``[1, H, W, 3]`` in [-1, 1] RGB, H and W multiples of 8;
holes float32 ``[1, H, W, 1]``, 1 = hole (as :class:`gi_tf.models.InpaintGenerator`).
Rectangles are ``((row0, row1), (col0, col1))`` half-open, in the coordinates of the
resolution they belong to.
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from gi_tf.inference import WINDOW_MODES
from gi_tf.layers import attention_patches as patches_lib
from gi_tf.layers.resizing import align_corners_indices
from gi_tf.models import generator as generator_lib

# Auto mode runs the windowed path when its analytic cost is below this share of the full
# computation's (the windowed path runs more, smaller operations; a window that saves
# little is not worth them).
AUTO_MAX_FRACTION = 0.8
# More hole components than this are planned as one window (the bounding box of all).
MAX_COMPONENTS = 64
# Bytes of the largest feature map of one attention-encoder strip (pmconv1's output).
STRIP_BYTES = 2**28
# Score entries of one background band of the windowed attention (per buffer).
DEFAULT_BLOCK_ELEMENTS = 2**25


# -- the layer table, one axis at a time -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AxisOp:
    """One generator layer along one image axis (its kernels are square).

    Attributes:
        name: the layer (TF1 scope).
        kernel, stride, dilation: of its convolution (zero "SAME" padding).
        upsample: 2 for ``gen_deconv`` (nearest x2 resize before the convolution), else 1.
    """

    name: str
    kernel: int
    stride: int = 1
    dilation: int = 1
    upsample: int = 1


def stack_ops(specs):
    """The :class:`AxisOp` rows of a tuple of :class:`gi_tf.layers.conv_blocks.ConvSpec`."""
    return tuple(AxisOp(s.name, s.kernel, s.stride, s.dilation, 2 if s.upsample else 1)
                 for s in specs)


# The generator's stacks: (name, specs) in computation order.
STACKS = {
    "coarse": generator_lib.COARSE,
    "hallucination": generator_lib.HALLUCINATION,
    "attention_encoder": generator_lib.ATTENTION_ENCODER,
    "attention_decoder": generator_lib.ATTENTION_DECODER,
    "merge": generator_lib.MERGE_DECODER,
}


def _geometry(op, size):
    """``(upsampled input size, output size, kernel span, SAME padding before)``."""
    n_up = size * op.upsample
    out = -(-n_up // op.stride)
    span = (op.kernel - 1) * op.dilation + 1
    total = max((out - 1) * op.stride + span - n_up, 0)
    return n_up, out, span, total // 2


def output_size(op, size):
    """Output length of ``op`` on an input of length ``size`` (TF "SAME")."""
    return _geometry(op, size)[1]


def stack_sizes(ops, size):
    """Input length of every op and the stack's output length: ``[n0, n1, ..., n_out]``."""
    sizes = [size]
    for op in ops:
        sizes.append(output_size(op, sizes[-1]))
    return sizes


def input_range(op, size, lo, hi):
    """Input pixels ``[a, b)`` that the outputs ``[lo, hi)`` of ``op`` read (clipped).

    ``size`` is the input length; the range excludes the zero padding.
    """
    n_up, _, span, before = _geometry(op, size)
    a = max(lo * op.stride - before, 0)
    b = min((hi - 1) * op.stride - before + span, n_up)
    if op.upsample > 1:
        a, b = a // op.upsample, (b - 1) // op.upsample + 1
    return a, b


def stack_ranges(ops, size, lo, hi):
    """Ranges needed at every op's input for the outputs ``[lo, hi)`` of the stack.

    Returns ``[(a0, b0), ..., (lo, hi)]``: entry ``i`` is what op ``i`` reads, the last
    entry the stack's output range.
    """
    sizes = stack_sizes(ops, size)
    ranges = [(lo, hi)]
    for op, n in zip(reversed(ops), reversed(sizes[:-1])):
        ranges.append(input_range(op, n, *ranges[-1]))
    return ranges[::-1]


def receptive_field(ops, size=4096):
    """Receptive field of one output pixel of a stack, far from the image border.

    Args:
        ops: :func:`stack_ops` rows.
        size: an input length large enough to have an interior (the result does not
            depend on it once it does).

    Returns:
        dict: ``scale`` (input pixels per output pixel), ``before`` / ``after`` (how far
        the field reaches before the first / after the last input pixel of the output
        pixel's own footprint ``[o*scale, (o+1)*scale)``, the largest over the stride
        phases) and ``width`` (the largest field, in input pixels).
    """
    out = stack_sizes(ops, size)[-1]
    scale = size / out
    before = after = width = 0
    middle = out // 2
    for o in range(middle, middle + 16):
        a, b = stack_ranges(ops, size, o, o + 1)[0]
        start, stop = math.floor(o * scale), math.ceil((o + 1) * scale)
        before, after = max(before, start - a), max(after, b - stop)
        width = max(width, b - a)
    return {"scale": scale, "before": before, "after": after, "width": width}


def generator_receptive_fields():
    """:func:`receptive_field` of each of the generator's stacks (:data:`STACKS`)."""
    return {name: receptive_field(stack_ops(specs)) for name, specs in STACKS.items()}


def fold_cells(lo, hi, rate, cells):
    """Attention grid cells whose pasted ``2*rate`` patches reach feature rows ``[lo, hi)``.

    Cell ``i`` pastes onto padded rows ``[i*rate, i*rate + 2*rate)``, padded row = row +
    ``rate // 2`` (TF SAME of the transposed convolution). Clipped to ``[0, cells)``.
    """
    before = patches_lib.same_padding(2 * rate, rate)[0]
    first = -((-(lo + before - 2 * rate + 1)) // rate)  # ceil
    last = (hi - 1 + before) // rate
    return max(first, 0), min(last + 1, cells)


# -- exact windowed layers ------------------------------------------------------------------


def _conv_of(layer):
    return getattr(layer, "conv", layer)


def apply_layer(layer, op, x, have, sizes, want):
    """One generator layer on a window, exactly as on the whole input.

    Args:
        layer: the Keras layer (``Conv2D`` or ``GenDeconv``) whose weights to use.
        op: its :class:`AxisOp`.
        x: float tensor ``[N, h, w, C]``: the layer's input on the rectangle ``have``.
        have: ``((r0, r1), (c0, c1))`` that ``x`` covers, in input coordinates.
        sizes: ``(H, W)`` of the whole input.
        want: the output rectangle to compute (output coordinates).

    Returns:
        float tensor ``[N, want rows, want cols, filters]``.
    """
    conv = _conv_of(layer)
    slices, pads = [], []
    for axis in (0, 1):
        n_up, _, span, before = _geometry(op, sizes[axis])
        lo, hi = want[axis]
        a, b = lo * op.stride - before, (hi - 1) * op.stride - before + span
        a_in, b_in = max(a, 0), min(b, n_up)
        u = op.upsample
        src = (a_in // u, (b_in - 1) // u + 1)
        if src[0] < have[axis][0] or src[1] > have[axis][1]:
            raise ValueError(f"{op.name}: input rows/cols {src} needed, window has {have[axis]}")
        slices.append((src[0] - have[axis][0], src[1] - have[axis][0], a_in - src[0] * u))
        pads.append((a_in - a, b - b_in, b_in - a_in))
    x = x[:, slices[0][0]:slices[0][1], slices[1][0]:slices[1][1]]
    if op.upsample > 1:
        x = tf.repeat(tf.repeat(x, op.upsample, axis=1), op.upsample, axis=2)
        x = x[:, slices[0][2]:slices[0][2] + pads[0][2], slices[1][2]:slices[1][2] + pads[1][2]]
    if any(p[0] or p[1] for p in pads):
        x = tf.pad(x, [[0, 0], pads[0][:2], pads[1][:2], [0, 0]])
    kernel = tf.cast(conv.kernel, x.dtype)
    y = tf.nn.convolution(x, kernel, strides=op.stride, padding="VALID",
                          dilations=op.dilation)
    if conv.use_bias:
        y = y + tf.cast(conv.bias, y.dtype)
    return conv.activation(y) if conv.activation is not None else y


def run_stack(layers, ops, x, have, size, want):
    """A stack of layers on a window: the stack's exact output on ``want``.

    ``x`` covers ``have`` of an input of ``size`` = ``(H, W)`` and must contain the range
    :func:`stack_ranges` asks for (a ``ValueError`` says which layer lacked input).
    """
    sizes = [stack_sizes(ops, n) for n in size]
    ranges = [stack_ranges(ops, n, *rng) for n, rng in zip(size, want)]
    for i, (layer, op) in enumerate(zip(layers, ops)):
        out = (ranges[0][i + 1], ranges[1][i + 1])
        x = apply_layer(layer, op, x, have, (sizes[0][i], sizes[1][i]), out)
        have = out
    return x


def stack_input_rect(ops, size, want):
    """The input rectangle a stack reads for the output rectangle ``want``."""
    return tuple(stack_ranges(ops, n, *rng)[0] for n, rng in zip(size, want))


def stack_flops(layers, ops, size, want):
    """Convolution FLOPs (multiply-add = 2) of :func:`run_stack` for ``want``."""
    ranges = [stack_ranges(ops, n, *rng) for n, rng in zip(size, want)]
    total = 0
    for i, layer in enumerate(layers):
        k = _conv_of(layer).kernel.shape
        rows, cols = (ranges[a][i + 1][1] - ranges[a][i + 1][0] for a in (0, 1))
        total += 2 * k[0] * k[1] * k[2] * k[3] * rows * cols
    return total


# -- the attention for some foreground positions --------------------------------------------


def row_major_step(pos, d, length):
    """``(pos + d, ok)``: the propagation's horizontal neighbour (flattened, wrapping rows)."""
    new = pos + d
    return new, (new >= 0) & (new < length)


def column_major_step(pos, d, height, width):
    """``(neighbour, ok)`` one step along the column-major order (wrapping columns)."""
    c = (pos % width) * height + pos // width + d
    ok = (c >= 0) & (c < height * width)
    c = np.where(ok, c, 0)
    return (c % height) * width + c // height, ok


def _index_of(targets, ok, table, missing):
    """Index of each target in the sorted ``table`` (``missing`` where not ok)."""
    idx = np.searchsorted(table, targets)
    idx = np.minimum(idx, len(table) - 1)
    found = ok & (table[idx] == targets)
    return np.where(found, idx, missing).astype(np.int32)


@dataclasses.dataclass(frozen=True)
class AttentionPlan:
    """Which score rows the attention of foreground ``positions`` needs.

    Attributes:
        positions: int64 ``[n]`` sorted flat grid indices of the foreground positions.
        rows_h: positions whose raw scores are computed (``positions`` grown by both
            propagation passes; sorted).
        rows_v: positions whose horizontally propagated scores are needed (sorted).
        h_maps: per horizontal tap, int32 ``[len(rows_v) + 1]``: row of ``rows_h`` (or
            the zero row ``len(rows_h)``) feeding each ``rows_v`` entry (+ the zero row).
        v_maps: per vertical tap, int32 ``[n]``: row of ``rows_v`` (or the zero row).
        shifts: the taps' steps (``(-1, 0, 1)`` for ``fuse_k = 3``; ``(0,)`` without fuse).
    """

    positions: np.ndarray
    rows_h: np.ndarray
    rows_v: np.ndarray
    h_maps: tuple
    v_maps: tuple
    shifts: tuple


def attention_plan(positions, height, width, fuse_k=3, fuse=True):
    """The :class:`AttentionPlan` of foreground ``positions`` on a ``height x width`` grid."""
    length = height * width
    shifts = tuple(i - (fuse_k - 1) // 2 for i in range(fuse_k)) if fuse else (0,)
    positions = np.unique(np.asarray(positions, np.int64))
    v_targets = [column_major_step(positions, d, height, width) for d in shifts]
    rows_v = np.unique(np.concatenate([t[ok] for t, ok in v_targets] + [positions]))
    h_targets = [row_major_step(rows_v, d, length) for d in shifts]
    rows_h = np.unique(np.concatenate([t[ok] for t, ok in h_targets] + [rows_v]))
    zero_h, zero_v = len(rows_h), len(rows_v)
    h_maps = tuple(np.append(_index_of(t, ok, rows_h, zero_h), zero_h) for t, ok in h_targets)
    v_maps = tuple(_index_of(t, ok, rows_v, zero_v) for t, ok in v_targets)
    return AttentionPlan(positions, rows_h, rows_v, h_maps, v_maps, shifts)


def _gather_patches(source, rows, cols, size):
    """``[n, size*size*C]`` patches of ``source`` [H, W, C], zero outside it.

    Patch ``i`` has its top-left corner at (``rows[i]``, ``cols[i]``) (may be negative);
    values in (row, col, channel) order, as :func:`gi_tf.layers.attention_patches.dense_patches`.
    """
    height, width = source.shape[0], source.shape[1]
    parts = []
    for di in range(size):
        for dj in range(size):
            r, c = rows + di, cols + dj
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            index = np.stack([np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)], axis=-1)
            part = tf.gather_nd(source, index)
            if not inside.all():
                part = part * inside[:, None].astype(np.float32)
            parts.append(part)
    return tf.reshape(tf.stack(parts, axis=1), (len(rows), -1))


def _shift_columns(x, d):
    """``x[:, c + d]`` with zeros outside (d in -1, 0, 1)."""
    if d == 0:
        return x
    zero = tf.zeros_like(x[:, :1])
    return tf.concat([x[:, 1:], zero], 1) if d > 0 else tf.concat([zero, x[:, :-1]], 1)


class _Background:
    """The background side of the windowed attention: patches of the whole image."""

    def __init__(self, attention, b_small, features):
        self.ksize, self.rate = attention.ksize, attention.rate
        _, self.height, self.width, self.channels = b_small.shape
        self.b_small, self.features = b_small[0], features[0]
        self.before = patches_lib.same_padding(self.ksize)[0]
        self.raw_before = patches_lib.same_padding(2 * self.rate, self.rate)[0]

    def patches(self, positions):
        """Dense ``ksize`` patches ``[n, k*k*C]`` at flat grid ``positions``."""
        return _gather_patches(self.b_small, positions // self.width - self.before,
                               positions % self.width - self.before, self.ksize)

    def kernels(self, lo, hi):
        """Normalised background patches of positions ``[lo, hi)`` as ``[k*k*C, n]``."""
        positions = np.arange(lo, hi)
        return tf.transpose(patches_lib.l2_normalise(self.patches(positions), -1))

    def raw(self, positions):
        """Raw ``2*rate`` patches ``[n, (2r)^2 C]`` of ``positions`` (reconstruction)."""
        r = self.rate
        return _gather_patches(self.features, positions // self.width * r - self.raw_before,
                               positions % self.width * r - self.raw_before, 2 * r)


def _propagated_band(attention, plan, f_rows, background, k0, k1):
    """Propagated scores ``[n, (k1-k0)*w]`` of the plan's positions vs background rows."""
    h, w = background.height, background.width
    length = h * w

    def horizontal(lo, hi):  # h-pass over background positions [lo, hi)
        scores = tf.matmul(f_rows, background.kernels(lo, hi))
        if not attention.fuse:
            return scores
        return tf.add_n([_shift_columns(tf.gather(scores, index), d)
                         for d, index in zip(plan.shifts, plan.h_maps)])

    reach = 1 if attention.fuse else 0
    lo = max((k0 - reach) * w - reach, 0)
    hi = min((k1 + reach) * w + reach, length)
    out1 = horizontal(lo, hi)
    if not attention.fuse:
        return tf.gather(out1, np.arange(len(plan.positions)))
    parts_by_tap = []
    for d, index in zip(plan.shifts, plan.v_maps):
        g = tf.gather(out1, index)
        if d == 0:
            part = g[:, k0 * w - lo:k1 * w - lo]
        elif d > 0:  # row k -> k + 1; the last image row wraps to row 0, one column on
            last = min(k1, h - 1)
            parts = [g[:, (k0 + 1) * w - lo:(last + 1) * w - lo]] if last > k0 else []
            if k1 == h:
                row0 = g[:, 0:w] if lo == 0 else tf.gather(horizontal(0, w + 1), index)
                parts += [row0[:, 1:w], tf.zeros_like(g[:, :1])]
            part = tf.concat(parts, 1)
        else:  # row k -> k - 1; image row 0 wraps to the last row, one column back
            first = max(k0, 1)
            parts = []
            if k0 == 0:
                if hi == length:
                    row_last = g[:, length - w - lo:length - lo]
                else:
                    row_last = tf.gather(horizontal(length - w - 1, length), index)[:, 1:]
                parts += [tf.zeros_like(g[:, :1]), row_last[:, :w - 1]]
            if k1 > first:
                parts.append(g[:, (first - 1) * w - lo:(k1 - 1) * w - lo])
            part = tf.concat(parts, 1)
        parts_by_tap.append(part)
    return tf.add_n(parts_by_tap)  # one pass (two adds would be two)


def attend_positions(attention, b_small, features, valid, positions, block_elements=None):
    """The generator's contextual attention at some foreground positions only.

    Equals :class:`gi_tf.layers.ContextualAttention` (batched) called with ``foreground =
    background = features`` on those positions (same softmax over every background
    patch), one sample, in bands of background rows with an online softmax.

    Args:
        attention: the generator's ``ContextualAttention`` (ksize, rate, fuse, fuse_k,
            softmax_scale).
        b_small: float32 ``[1, h, w, C]``: ``features`` downsampled by ``rate`` (TF1
            align-corners nearest; both foreground and background).
        features: float32 ``[1, H, W, C]`` full-resolution background (raw patches).
        valid: bool NumPy ``[h*w]``: background patches free of holes.
        positions: int NumPy ``[n]`` flat foreground grid indices (any order, unique).
        block_elements: score entries per band (per buffer); default
            :data:`DEFAULT_BLOCK_ELEMENTS`.

    Returns:
        ``(plan, pasted, best)``: the :class:`AttentionPlan` (its ``positions`` sorted),
        ``pasted`` float32 ``[n, (2r)^2 C]`` (the softmax-weighted raw patches, before the
        fold and the /4) and ``best`` int NumPy ``[n]`` (flat index of the best background
        patch, 0 where every weight is 0), both in ``plan.positions`` order.
    """
    block_elements = block_elements or DEFAULT_BLOCK_ELEMENTS
    _, h, w, _ = b_small.shape
    plan = attention_plan(positions, h, w, attention.fuse_k, attention.fuse)
    background = _Background(attention, b_small, features)
    f_rows = tf.concat([background.patches(plan.rows_h),
                        tf.zeros((1, attention.ksize**2 * background.channels))], 0)
    n = len(plan.positions)
    band = max(1, block_elements // max(len(plan.rows_h) * w, 1) - 2)
    scale = attention.softmax_scale
    m = tf.fill((n, 1), -np.inf)
    total = tf.zeros((n, 1))
    acc = tf.zeros((n, (2 * attention.rate) ** 2 * background.channels))
    best_value = np.full(n, -np.inf, np.float32)
    best_index = np.zeros(n, np.int64)
    for k0 in range(0, h, band):
        k1 = min(k0 + band, h)
        valid_cols = np.flatnonzero(valid[k0 * w:k1 * w])
        invalid = (k1 - k0) * w - len(valid_cols)
        if not len(valid_cols):  # every patch here touches a hole: only their count matters
            m_new = tf.maximum(m, 0.0)
            total = total * tf.exp(m - m_new) + invalid * tf.exp(-m_new)
            acc, m = acc * tf.exp(m - m_new), m_new
            continue
        scores = _propagated_band(attention, plan, f_rows, background, k0, k1)
        x = tf.gather(scores, valid_cols, axis=1) * scale
        block_max = tf.reduce_max(x, axis=1, keepdims=True)
        arg = tf.argmax(x, axis=1).numpy()
        better = block_max[:, 0].numpy() > best_value
        best_value = np.where(better, block_max[:, 0].numpy(), best_value)
        best_index = np.where(better, valid_cols[arg] + k0 * w, best_index)
        if invalid:
            block_max = tf.maximum(block_max, 0.0)
        m_new = tf.maximum(m, block_max)
        alpha = tf.exp(m - m_new)
        e = tf.exp(x - m_new)
        total = total * alpha + tf.reduce_sum(e, axis=1, keepdims=True) + invalid * tf.exp(-m_new)
        acc = acc * alpha + tf.matmul(e, background.raw(valid_cols + k0 * w))
        m = m_new
    pasted = acc / total
    # argmax of the full weights: the best valid patch, or index 0 when all weights are 0.
    top = np.exp(best_value - m[:, 0].numpy()) / total[:, 0].numpy()
    best = np.where(top > 0, best_index, 0)
    return plan, pasted, best


# -- the plan ---------------------------------------------------------------------------------


def _union(a, b):
    return tuple((min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(a, b))


def _intersects(a, b):
    return all(x[0] < y[1] and y[0] < x[1] for x, y in zip(a, b))


@dataclasses.dataclass(frozen=True)
class Window:
    """One window of the plan (rectangles; see the module docstring).

    Attributes:
        hole: bounding box of its holes (full resolution): the refined pixels it yields.
        coarse_in: what the coarse network reads for them (full resolution).
        merge_in: the decoder's input (1/4 resolution).
        refine_in: what the dilated branch reads (full resolution).
        attention_out: the attention output the attention decoder reads (1/4).
        cells: attention grid cells pasted onto ``attention_out`` (1/8).
    """

    hole: tuple
    coarse_in: tuple
    merge_in: tuple
    refine_in: tuple
    attention_out: tuple
    cells: tuple

    @property
    def footprint(self):
        """Full-resolution rectangle this window's convolutions read."""
        return _union(self.coarse_in, self.refine_in)


def _window(generator, size, hole):
    quarter = tuple(n // 4 for n in size)
    merge_in = stack_input_rect(stack_ops(generator_lib.MERGE_DECODER), quarter, hole)
    refine_in = stack_input_rect(stack_ops(generator_lib.HALLUCINATION), size, merge_in)
    coarse_in = stack_input_rect(stack_ops(generator_lib.COARSE), size, hole)
    attention_out, cells = None, None
    if generator.use_attention:
        rate = generator.contextual_attention.rate
        attention_out = stack_input_rect(stack_ops(generator_lib.ATTENTION_DECODER),
                                         quarter, merge_in)
        cells = tuple(fold_cells(lo, hi, rate, n // rate)
                      for (lo, hi), n in zip(attention_out, quarter))
    return Window(hole, coarse_in, merge_in, refine_in, attention_out, cells)


@dataclasses.dataclass(frozen=True)
class Plan:
    """How :func:`refine` computes one sample.

    Attributes:
        size: ``(H, W)`` of the network input.
        windows: the :class:`Window` list.
        positions: int64 sorted flat attention-grid indices of the foreground positions
            (None without attention).
        windowed_flops, full_flops: analytic costs (convolutions + attention matmuls).
    """

    size: tuple
    windows: tuple
    positions: np.ndarray
    windowed_flops: float
    full_flops: float

    @property
    def saves_work(self):
        """True when the windowed computation is cheaper (:data:`AUTO_MAX_FRACTION`)."""
        return self.windowed_flops < AUTO_MAX_FRACTION * self.full_flops


def _hole_boxes(holes):
    """Bounding boxes of the 8-connected hole components (or of all holes, if many)."""
    import cv2

    rows, cols = np.flatnonzero(holes.any(axis=1)), np.flatnonzero(holes.any(axis=0))
    everything = [((int(rows[0]), int(rows[-1]) + 1), (int(cols[0]), int(cols[-1]) + 1))]
    count, _, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8),
                                                          connectivity=8)
    if count - 1 > MAX_COMPONENTS:
        return everything
    return [((int(y), int(y + hh)), (int(x), int(x + ww)))
            for x, y, ww, hh, _ in stats[1:]]


def _cells_positions(windows, grid_width):
    parts = [(np.arange(*w.cells[0])[:, None] * grid_width + np.arange(*w.cells[1])).ravel()
             for w in windows]
    return np.unique(np.concatenate(parts))


def _attention_flops(channels, rate, ksize, rows_h, fg, length, valid):
    score = 2 * ksize * ksize * channels
    paste = 2 * (2 * rate) ** 2 * channels
    return rows_h * length * score + fg * valid * paste + 13 * fg * length


def plan(generator, holes):
    """The :class:`Plan` of one sample.

    Args:
        generator: a built :class:`gi_tf.models.InpaintGenerator`.
        holes: bool NumPy ``[H, W]`` (H, W multiples of 8) with at least one hole.
    """
    size = holes.shape
    windows = [_window(generator, size, box) for box in _hole_boxes(holes)]
    merged = True
    while merged:  # windows whose computations overlap become one
        merged = False
        for i in range(len(windows)):
            for j in range(i + 1, len(windows)):
                if _intersects(windows[i].footprint, windows[j].footprint):
                    box = _union(windows[i].hole, windows[j].hole)
                    windows = [w for k, w in enumerate(windows) if k not in (i, j)]
                    windows.append(_window(generator, size, box))
                    merged = True
                    break
            if merged:
                break
    quarter = tuple(n // 4 for n in size)

    def whole(n):
        return ((0, n[0]), (0, n[1]))

    stacks = {name: (getattr(generator, attr), stack_ops(STACKS[name]))
              for name, attr in (("coarse", "coarse_layers"),
                                 ("hallucination", "hallucination_layers"),
                                 ("merge", "merge_layers"))}
    if generator.use_attention:
        stacks["attention_encoder"] = (generator.attention_encoder,
                                       stack_ops(STACKS["attention_encoder"]))
        stacks["attention_decoder"] = (generator.attention_decoder,
                                       stack_ops(STACKS["attention_decoder"]))

    def flops(name, want):
        layers, ops = stacks[name]
        in_size = quarter if name in ("attention_decoder", "merge") else size
        return stack_flops(layers, ops, in_size, want)

    full = sum(flops(name, whole(quarter if name in ("hallucination", "attention_encoder",
                                                      "attention_decoder") else size))
               for name in stacks)
    windowed = sum(flops("coarse", w.hole) + flops("hallucination", w.merge_in)
                   + flops("merge", w.hole) for w in windows)
    positions = None
    if generator.use_attention:
        attention = generator.contextual_attention
        grid = tuple(n // attention.rate for n in quarter)
        length = grid[0] * grid[1]
        channels = generator.attention_encoder[-1].filters
        positions = _cells_positions(windows, grid[1])
        att_plan = attention_plan(positions, *grid, attention.fuse_k, attention.fuse)
        args = (channels, attention.rate, attention.ksize)
        full += _attention_flops(*args, length, length, length, length)
        windowed += (flops("attention_encoder", whole(quarter))
                     + sum(flops("attention_decoder", w.merge_in) for w in windows)
                     + _attention_flops(*args, len(att_plan.rows_h), len(positions), length,
                                        length))
    return Plan(size, tuple(windows), positions, float(windowed), float(full))


# -- running a plan -------------------------------------------------------------------------


def _rect_slice(rect):
    return (slice(*rect[0]), slice(*rect[1]))


class _Inputs:
    """The generator's inputs of one sample, cut out rectangle by rectangle (NumPy)."""

    def __init__(self, image, holes):
        self.image = np.asarray(image, np.float32)[0]
        self.holes = np.asarray(holes, np.float32)[0]
        self.coarse = np.zeros_like(self.image)  # filled on the hole pixels by refine()

    def coarse_input(self, rect):
        holes = self.holes[_rect_slice(rect)]
        incomplete = self.image[_rect_slice(rect)] * (1.0 - holes)
        ones = np.ones_like(holes)
        return tf.constant(np.concatenate([incomplete, ones, ones * holes], -1)[None])

    def refine_input(self, rect):
        holes = self.holes[_rect_slice(rect)]
        incomplete = self.image[_rect_slice(rect)] * (1.0 - holes)
        pasted = self.coarse[_rect_slice(rect)] * holes + incomplete * (1.0 - holes)
        ones = np.ones_like(holes)
        return tf.constant(np.concatenate([pasted, ones, ones * holes], -1)[None])


def _encoder_features(generator, inputs, size):
    """``pmconv1..pmconv6`` over the whole image, in row strips: float32 [1, H/4, W/4, C]."""
    layers, ops = generator.attention_encoder, stack_ops(generator_lib.ATTENTION_ENCODER)
    quarter = tuple(n // 4 for n in size)
    first = _conv_of(layers[0]).kernel.shape[-1]
    strip = max(8, STRIP_BYTES // (16 * size[1] * first))
    parts = []
    for r0 in range(0, quarter[0], strip):
        want = ((r0, min(r0 + strip, quarter[0])), (0, quarter[1]))
        have = stack_input_rect(ops, size, want)
        parts.append(run_stack(layers, ops, inputs.refine_input(have), have, size, want))
    return tf.concat(parts, axis=1)


def _fold(attention, pasted_grid, cells, want):
    """Fold a ``[ni, nj, P]`` grid of pasted patches (cells ``cells``) onto ``want`` (1/4)."""
    r = attention.rate
    ni, nj = pasted_grid.shape[:2]
    channels = pasted_grid.shape[-1] // (2 * r) ** 2
    y = patches_lib.fold_patches(tf.reshape(pasted_grid, (1, ni * nj, -1)), ni * r, nj * r,
                                 channels, r) / 4.0
    (i0, _), (j0, _) = cells
    return y[:, want[0][0] - i0 * r:want[0][1] - i0 * r, want[1][0] - j0 * r:want[1][1] - j0 * r]


def refine(generator, image, holes, the_plan=None, block_elements=None):
    """The generator's refined output on the hole pixels, computed on windows.

    Args:
        generator: a built float32 :class:`gi_tf.models.InpaintGenerator`.
        image: float32 ``[1, H, W, 3]`` RGB in [-1, 1] (H, W multiples of 8).
        holes: float32 ``[1, H, W, 1]``, 1 = hole (at least one hole and one known pixel).
        the_plan: a :class:`Plan` from :func:`plan` (computed when None).
        block_elements: score entries per background band of the attention.

    Returns:
        ``(refined, offsets)`` NumPy: refined float32 ``[1, H, W, 3]`` in [-1, 1], equal to
        the full generator's on every hole pixel (zero where nothing was computed);
        offsets int32 ``[1, H/8, W/8, 2]`` at the computed foreground positions (0
        elsewhere).
    """
    holes_np = np.asarray(holes)[0, :, :, 0] > 0.5
    the_plan = the_plan or plan(generator, holes_np)
    size = the_plan.size
    quarter = tuple(n // 4 for n in size)
    inputs = _Inputs(image, holes)
    coarse_ops = stack_ops(generator_lib.COARSE)
    for window in the_plan.windows:
        x = run_stack(generator.coarse_layers, coarse_ops, inputs.coarse_input(window.coarse_in),
                      window.coarse_in, size, window.hole)
        inputs.coarse[_rect_slice(window.hole)] = np.clip(x.numpy()[0], -1.0, 1.0)
    refined = np.zeros(np.shape(image), np.float32)
    offsets = np.zeros((1, size[0] // 8, size[1] // 8, 2), np.int32)
    pasted_by_cell = None
    if generator.use_attention:
        attention = generator.contextual_attention
        rate = attention.rate
        grid = tuple(n // rate for n in quarter)
        features = _encoder_features(generator, inputs, size)
        holes_quarter = tf.gather(tf.gather(tf.constant(holes, tf.float32),
                                            align_corners_indices(size[0], quarter[0]), axis=1),
                                  align_corners_indices(size[1], quarter[1]), axis=2)
        rows = align_corners_indices(quarter[0], grid[0])
        cols = align_corners_indices(quarter[1], grid[1])
        b_small = tf.gather(tf.gather(features, rows, axis=1), cols, axis=2)
        holes_grid = tf.gather(tf.gather(holes_quarter, rows, axis=1), cols, axis=2)
        valid = patches_lib.hole_free_patches(holes_grid, attention.ksize).numpy()[0] > 0.5
        att_plan, pasted, best = attend_positions(attention, b_small, features, valid,
                                                  the_plan.positions, block_elements)
        pasted_by_cell = (att_plan.positions, pasted)
        i, j = att_plan.positions // grid[1], att_plan.positions % grid[1]
        offsets[0, i, j, 0] = best // grid[1] - i
        offsets[0, i, j, 1] = best % grid[1] - j
    hall_ops = stack_ops(generator_lib.HALLUCINATION)
    merge_ops = stack_ops(generator_lib.MERGE_DECODER)
    for window in the_plan.windows:
        x = run_stack(generator.hallucination_layers, hall_ops,
                      inputs.refine_input(window.refine_in), window.refine_in, size,
                      window.merge_in)
        if pasted_by_cell is not None:
            positions, pasted = pasted_by_cell
            (i0, i1), (j0, j1) = window.cells
            cell_ids = (np.arange(i0, i1)[:, None] * grid[1] + np.arange(j0, j1)).ravel()
            grid_rows = tf.gather(pasted, np.searchsorted(positions, cell_ids))
            y = _fold(attention, tf.reshape(grid_rows, (i1 - i0, j1 - j0, -1)), window.cells,
                      window.attention_out)
            pm = run_stack(generator.attention_decoder,
                           stack_ops(generator_lib.ATTENTION_DECODER), y,
                           window.attention_out, quarter, window.merge_in)
            x = tf.concat([x, pm], axis=-1)
        out = run_stack(generator.merge_layers, merge_ops, x, window.merge_in, quarter,
                        window.hole)
        refined[(0,) + _rect_slice(window.hole)] = np.clip(out.numpy()[0], -1.0, 1.0)
    return refined, offsets


# -- the uint8 pipeline of one sample (Inpainter, gi-inpaint, gi-app, gi-eval) ---------------


def check_mode(window):
    """ValueError unless ``window`` is one of :data:`WINDOW_MODES`."""
    if window not in WINDOW_MODES:
        raise ValueError(f"window must be one of {WINDOW_MODES}; got {window!r}")
    return window


def unsupported_reason(generator):
    """Why the windowed path cannot run this model (None when it can)."""
    if generator is None:
        return ("the windowed path needs the network's layers: load a checkpoint "
                "(Inpainter.from_checkpoint); an exported SavedModel runs its full-image "
                "signature (see export/README.md)")
    if generator.compute_dtype != "float32":
        return (f"the windowed path runs float32 networks; this one computes in "
                f"{generator.compute_dtype}")
    return None


def choose_plan(generator, holes, window="auto"):
    """The :class:`Plan` for one sample when ``window`` selects the windowed path, else None.

    Args:
        generator: the Inpainter's generator (None for a SavedModel).
        holes: bool NumPy ``[H, W]`` of the sample (any size; mirror-padded to multiples
            of 8 here, as the pipeline does), at least one hole.
        window: ``"auto"`` (windowed when :attr:`Plan.saves_work`), ``"on"`` (always;
            ValueError when the model cannot), ``"off"`` (never).
    """
    from gi_tf.inference.preprocessing import pad_to_multiple

    check_mode(window)
    if window == "off":
        return None
    reason = unsupported_reason(generator)
    if reason:
        if window == "on":
            raise ValueError(f"window='on': {reason}")
        return None
    net_holes = pad_to_multiple(tf.constant(holes[None, ..., None])).numpy()[0, ..., 0]
    the_plan = plan(generator, net_holes)
    return the_plan if window == "on" or the_plan.saves_work else None


def inpaint_uint8(generator, image, holes, the_plan=None, block_elements=None):
    """One sample through the pipeline of :mod:`gi_tf.inference.preprocessing`, windowed.

    The counterpart of :func:`gi_tf.inference.preprocessing.inpaint_uint8` (policy
    ``"pad"``): same padding, conversion and paste, with :func:`refine` for the network.

    Args:
        generator: a built float32 :class:`gi_tf.models.InpaintGenerator`.
        image: uint8 RGB ``[H, W, 3]``.
        holes: bool ``[H, W]``, True = hole (at least one hole and one known pixel).
        the_plan: from :func:`choose_plan` / :func:`plan` (computed when None).

    Returns:
        ``(result, attention)``, uint8 RGB ``[H, W, 3]`` each: known pixels of ``result``
        are the input's; the attention map is white outside the computed positions.
    """
    from gi_tf.inference import preprocessing

    prepared = preprocessing.prepare(tf.constant(image[None]), tf.constant(holes[None, ..., None]))
    refined, offsets = refine(generator, prepared.net_image.numpy(), prepared.net_holes.numpy(),
                              the_plan, block_elements)
    inpainted = preprocessing.paste(preprocessing.float_to_uint8(refined), prepared)
    attention = preprocessing.attention_image(tf.constant(offsets), prepared.holes)
    return inpainted.numpy()[0], attention.numpy()[0]
