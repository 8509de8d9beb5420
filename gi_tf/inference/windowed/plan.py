"""The window plan of one sample, in the graph: windows, attention cells, cost.

From the hole mask alone (tensor integer arithmetic, no network):

1. **Windows.** Holes are marked on the grid of 8-px cells; each marked cell is grown by
   the reach of a window's footprint (:func:`gi_tf.inference.windowed.geometry.footprint_reach`),
   and the connected components of the grown grid (8-connected, :func:`component_labels`)
   are the windows: holes whose computations would overlap share
   one. A window's hole rectangle is the bounding box of its hole cells. More than
   :data:`MAX_COMPONENTS` windows become one (the bounding box of every hole).
2. **Attention positions.** The attention grid cells whose pasted patches reach some
   window's decoder input (:class:`~gi_tf.inference.windowed.geometry.Window` ``cells``).
3. **Cost.** Analytic FLOPs (convolutions + attention matmuls) of the windowed and of the
   whole-image computation, and an estimate of each one's peak working memory (the memory
   model below); ``"auto"`` takes the windowed path when its FLOPs are below
   :data:`AUTO_MAX_FRACTION` of the whole image's.

Everything here is cheap next to the network (a few ms at 1920x1080): a request's cost is
known, and checked against the export's bound, before anything heavy runs.
"""

import collections

import tensorflow as tf

from gi_tf.inference.windowed import attention as attention_lib
from gi_tf.inference.windowed import geometry
from gi_tf.layers.conv_blocks import work_fraction
from gi_tf.models import generator_spec as spec_lib

# Auto mode runs the windowed path when its analytic cost is below this share of the full
# computation's: the windowed path runs more, smaller operations, measured at 1.7-3.1x its
# FLOP floor against 1.1x for the whole image (docs/benchmarks.md, "Large photos end to end":
# a 256^2 hole in a 512^2 image, 52 % of the FLOPs, took 1.5x the whole image's time).
AUTO_MAX_FRACTION = 0.4
# More windows than this are planned as one window (the bounding box of all holes).
MAX_COMPONENTS = 64
# The grid on which holes are grouped into windows (px).
CELL = 8
# Bytes of the largest feature map of one attention-encoder strip (pmconv1's output).
STRIP_BYTES = 2**26

# Memory model (bytes), calibrated against the measured peak resident memory on CPU
# (docs/benchmarks.md, "Large photos end to end" and "Attention peak memory"):
# per pixel of a convolution stack's input while it runs (its widest layers, their
# inputs and oneDNN's work space) ...
CONV_BYTES_PER_PIXEL = 580
# ... per pixel of the whole image held by the pipeline around the network (uint8 and
# float copies, padding, holes, the pasted result, the attention map) ...
IMAGE_BYTES_PER_PIXEL = 60
# ... per pixel of an attention-encoder strip (pmconv1..6: narrower than the stacks above) ...
ENCODER_BYTES_PER_PIXEL = 300
# ... and what the whole-image attention keeps per score entry: unchunked (a few [L, L]
# buffers), or per entry of its chunk bound (layers/attention_chunked.py: ~8 band buffers).
FULL_ATTENTION_BYTES_PER_ENTRY = 15
CHUNK_BYTES_PER_ENTRY = 28

Plan = collections.namedtuple("Plan", [
    "windows", "positions", "windowed_flops", "full_flops", "windowed_bytes", "full_bytes"])
Plan.__doc__ = """The plan of one sample (tensors).

Fields:
    windows: the :class:`Windows` table (K >= 0 windows; 0 for a sample without holes).
    positions: int32 ``[n]`` sorted flat attention-grid indices of the foreground
        positions the windows need (empty without attention or holes).
    windowed_flops, full_flops: float32 analytic costs of the two paths.
    windowed_bytes, full_bytes: float32 estimated peak working memory of the two paths.
"""

Windows = collections.namedtuple("Windows", [
    "hole", "coarse_in", "merge_in", "refine_in", "attention_out", "cells", "params", "flops"])
Windows.__doc__ = """Every window's rectangles, layer parameters and cost, one row per window.

Fields: rectangles int32 ``[K, 2, 2]`` (axis: rows / cols; ``[lo, hi)``), as in
:class:`gi_tf.inference.windowed.geometry.Window` (``attention_out`` and ``cells`` are
empty without attention); ``params``: ``{stack name: int32 [K, layers, 2, 4]}``, the
:func:`gi_tf.inference.windowed.geometry.layer_params` of every layer and axis (what
:func:`gi_tf.inference.windowed.run.run_stack` takes); ``flops``: float32 ``[K]``, the
windows' convolution FLOPs (multiply-add = 2).
"""


def _pass_tensors(generator, name, ranges, params):
    """``(params [K, layers, 2, 4], flops [K])`` of one stack's :func:`geometry.stack_pass`."""
    params = tf.stack([tf.stack(p, -1) for p in params], 1)  # [K, layers, 2 axes, 4]
    flops = 0.0
    for layer, (out_lo, out_hi) in zip(generator.stage_layers(name), ranges[1:]):
        k = getattr(layer, "conv", layer).kernel.shape
        extent = tf.cast(out_hi - out_lo, tf.float32)
        flops += 2.0 * k[0] * k[1] * k[2] * k[3] * extent[:, 0] * extent[:, 1]
    return params, flops


def stack_pass(generator, name, size, lo, hi):
    """One stack computing ``[lo, hi)`` (int32 ``[K, 2]``) on inputs of ``size`` ``[2]``.

    Returns ``(input lo, input hi, params [K, layers, 2, 4], flops [K])``: the ranges are
    derived once and give the window's input rectangle, every layer's parameters and the
    FLOPs.
    """
    ranges, params = geometry.stack_pass(geometry.spec_ops(generator.spec)[name], size, lo, hi)
    params, flops = _pass_tensors(generator, name, ranges, params)
    return ranges[0][0], ranges[0][1], params, flops


def window_table(generator, size, lo, hi):
    """The :class:`Windows` of hole rectangles ``[lo, hi)`` (int32 ``[K, 2]``) in an image
    of ``size`` (int32 ``[2]``, multiples of 8): :func:`geometry.window_ranges` on every
    window at once."""
    fields, passes = geometry.window_ranges(generator.spec, size, lo, hi,
                                            generator.use_attention)
    params, flops = {}, 0.0
    for name, (ranges, layer_params) in passes.items():
        params[name], f = _pass_tensors(generator, name, ranges, layer_params)
        flops += f
    rect = lambda a, b: tf.stack([a, b], -1)  # noqa: E731
    empty = tf.zeros_like(rect(lo, hi))
    rects = {field: rect(*fields[field]) if field in fields else empty
             for field in Windows._fields[:6]}
    return Windows(**rects, params=params, flops=flops)


def window_rects(holes, reach, max_components=MAX_COMPONENTS):
    """Hole rectangles of the windows: int32 ``[K, 4]`` (``row0, row1, col0, col1``).

    Args:
        holes: bool ``[H, W]``, H and W multiples of :data:`CELL`.
        reach: px a window's footprint reaches beyond its hole rectangle; holes whose
            grown cells touch share a window.
        max_components: above this many windows, one window (the bounding box of all).
    """
    size = tf.shape(holes)
    gh, gw = size[0] // CELL, size[1] // CELL
    # Hole cells: any hole pixel in the 8x8 cell (a max over each cell's pixels).
    cells = tf.reduce_max(tf.reshape(tf.cast(holes, tf.float32), (1, gh, CELL, gw, CELL, 1)),
                          axis=[2, 4])
    # Each hole cell grown by the reach: a square max filter (SAME, stride 1), separable
    # (rows, then columns): the same 0/1 grid in 2 * grow instead of grow**2 comparisons.
    grow = 2 * (-(-reach // CELL)) + 1
    grown = tf.nn.max_pool2d(tf.nn.max_pool2d(cells, (grow, 1), 1, "SAME"), (1, grow), 1,
                             "SAME")
    labels = component_labels(grown[0, :, :, 0] > 0)
    where = tf.cast(tf.where(cells[0, :, :, 0] > 0), tf.int32)  # [m, 2] hole cells
    cell_labels = tf.gather_nd(labels, where)
    unique, segment = tf.unique(cell_labels)
    count = tf.shape(unique)[0]
    too_many = count > max_components
    segment = tf.where(too_many, tf.zeros_like(segment), segment)
    count = tf.where(too_many, 1, count)
    rows, cols = where[:, 0], where[:, 1]
    box = [tf.math.unsorted_segment_min(rows, segment, count) * CELL,
           (tf.math.unsorted_segment_max(rows, segment, count) + 1) * CELL,
           tf.math.unsorted_segment_min(cols, segment, count) * CELL,
           (tf.math.unsorted_segment_max(cols, segment, count) + 1) * CELL]
    return tf.stack(box, axis=1)


def component_labels(mask):
    """Connected components (8-connected) of a bool grid ``[h, w]``: int32 ``[h, w]``.

    A cell of ``mask`` gets the largest id (``1 + row * w + col``) of its component, a cell
    outside it 0. Labels start as the cells' own ids and only grow, each step taking the
    largest label of the 3x3 neighbourhood inside the mask, then the label of the cell that
    its label names (pointer jumping: the label of a cell of the same component, at least
    as large), until nothing changes: then every component is constant, and equal to its
    largest id (the one result, however the labels got there). Jumping makes the number of
    steps grow with the logarithm of a component's extent, not with the extent.
    """
    shape = tf.shape(mask)
    h, w = shape[0], shape[1]
    inside = tf.cast(mask, tf.int32)
    labels = tf.reshape(tf.range(1, h * w + 1), (h, w)) * inside

    def neighbourhood_max(x):  # 3x3, outside the grid = 0 (labels are >= 0)
        x = tf.pad(x, [[1, 1], [0, 0]])
        x = tf.maximum(tf.maximum(x[:-2], x[1:-1]), x[2:])
        x = tf.pad(x, [[0, 0], [1, 1]])
        return tf.maximum(tf.maximum(x[:, :-2], x[:, 1:-1]), x[:, 2:])

    def step(labels, _):
        new = neighbourhood_max(labels) * inside
        new = tf.gather(tf.concat([[0], tf.reshape(new, [-1])], 0), new)  # jump
        return new, tf.reduce_any(tf.not_equal(new, labels))

    labels, _ = tf.while_loop(lambda _, changed: changed, step, (labels, tf.constant(True)),
                              parallel_iterations=1)
    return labels


def attention_flops(attention, channels, score_rows, foreground, length, valid):
    """FLOPs of matching ``score_rows`` rows against ``length`` patches and pasting."""
    score = 2.0 * attention.ksize**2 * channels
    paste = 2.0 * (2 * attention.rate) ** 2 * channels
    f = [tf.cast(v, tf.float32) for v in (score_rows, foreground, length, valid)]
    return f[0] * f[2] * score + f[1] * f[3] * paste + 13.0 * f[1] * f[2]


def _attention_channels(generator):
    return generator.spec.channels(generator.spec.attention_after)


def _flops_per_pixel(generator):
    """Convolution FLOPs per input pixel of the whole-image computation (static)."""
    size = 1024
    total = 0.0
    spec, ops = generator.spec, geometry.spec_ops(generator.spec)
    for name in spec.creation_order(generator.use_attention):
        sizes = geometry.stack_sizes(ops[name], size // spec.scale(name))
        for layer, out in zip(generator.stage_layers(name), sizes[1:]):
            k = getattr(layer, "conv", layer).kernel.shape
            total += 2.0 * k[0] * k[1] * k[2] * k[3] * out * out * work_fraction(layer)
    return total / size**2


def full_cost(generator, size, chunk_elements=None):
    """``(flops, bytes)`` of the whole-image computation at ``size`` (int32 ``[2]``)."""
    pixels = tf.cast(size[0] * size[1], tf.float32)
    flops = _flops_per_pixel(generator) * pixels
    memory = (CONV_BYTES_PER_PIXEL + IMAGE_BYTES_PER_PIXEL) * pixels
    if generator.use_attention:
        attention = generator.contextual_attention
        spec = generator.spec
        grid = size // (spec.output_scale(spec.attention_after) * attention.rate)
        length = tf.cast(grid[0] * grid[1], tf.float32)
        flops += attention_flops(attention, _attention_channels(generator), length, length,
                                 length, length)
        entries = length * length
        attention_bytes = FULL_ATTENTION_BYTES_PER_ENTRY * entries
        if chunk_elements:
            attention_bytes = tf.where(entries > chunk_elements,
                                       CHUNK_BYTES_PER_ENTRY * float(chunk_elements),
                                       attention_bytes)
        memory += attention_bytes
    return flops, memory


def make_plan(generator, holes, chunk_elements=None, block_elements=None):
    """The :class:`Plan` of one sample.

    Args:
        generator: a built float32 :class:`gi_tf.models.InpaintGenerator`.
        holes: bool ``[H, W]``, H and W multiples of 8 (the network's input).
        chunk_elements: the whole-image attention's chunk bound (for its memory).
        block_elements: the windowed attention's band bound (for its memory).
    """
    use_attention, spec = generator.use_attention, generator.spec
    rate = spec.attention.rate
    reach = geometry.footprint_reach(use_attention, rate, spec=spec)
    size = tf.shape(holes)
    feature_scale = spec.output_scale(spec.attention_after)  # the attention's resolution
    rects = window_rects(holes, reach)
    windows = window_table(generator, size, rects[:, 0::2], rects[:, 1::2])
    full_flops, full_bytes = full_cost(generator, size, chunk_elements)
    pixels = tf.cast(size[0] * size[1], tf.float32)
    windowed_flops = tf.reduce_sum(windows.flops)
    extent = tf.cast(tf.maximum(windows.coarse_in[:, :, 1] - windows.coarse_in[:, :, 0],
                                windows.refine_in[:, :, 1] - windows.refine_in[:, :, 0]),
                     tf.float32)
    largest = tf.reduce_max(tf.concat([extent[:, 0] * extent[:, 1], [0.0]], 0))
    windowed_bytes = IMAGE_BYTES_PER_PIXEL * pixels + CONV_BYTES_PER_PIXEL * largest
    positions = tf.zeros((0,), tf.int32)
    if use_attention:
        attention = generator.contextual_attention
        grid = size // feature_scale // rate
        length = grid[0] * grid[1]
        cells = windows.cells
        i = tf.range(grid[0])[None, :, None]
        j = tf.range(grid[1])[None, None, :]
        inside = ((i >= cells[:, 0, 0, None, None]) & (i < cells[:, 0, 1, None, None])
                  & (j >= cells[:, 1, 0, None, None]) & (j < cells[:, 1, 1, None, None]))
        positions = tf.cast(tf.where(tf.reshape(tf.reduce_any(inside, axis=0), [-1]))[:, 0],
                            tf.int32)
        n = tf.shape(positions)[0]
        score_rows = tf.cond(
            n > 0,
            lambda: tf.shape(attention_lib.attention_index(positions, grid[0], grid[1],
                                                           attention.fuse).rows_h)[0],
            lambda: 0)
        channels = _attention_channels(generator)
        encoder = sum(_flops_per_layer(layer) / scale**2 for layer, scale in zip(
            generator.stage_layers(spec.attention_after), _layer_scales(spec, spec.attention_after)))
        windowed_flops += (encoder * pixels
                           + attention_flops(attention, channels, score_rows, n, length, length))
        # The encoder's features (1/4 resolution) and one strip of its first layer.
        strip = tf.minimum(pixels, STRIP_BYTES / (4.0 * spec.stage(spec.attention_after)
                                                  .layers[0].filters))
        block = float(block_elements or attention_lib.DEFAULT_BLOCK_ELEMENTS)
        band = tf.minimum(block, tf.cast((score_rows + 1) * length, tf.float32))
        windowed_bytes += (4.0 * channels * pixels / feature_scale**2 + ENCODER_BYTES_PER_PIXEL * strip
                           + 4.0 * attention_lib.BAND_BUFFERS * band)
    windowed_bytes = tf.where(tf.shape(rects)[0] > 0, windowed_bytes,
                              IMAGE_BYTES_PER_PIXEL * pixels)
    return Plan(windows, positions, windowed_flops, full_flops, windowed_bytes, full_bytes)


def _layer_scales(spec, name):
    """Input pixels per output pixel of every layer of stage ``name``."""
    scales, scale = [], spec.scale(name)
    for row in spec.stage(name).layers:
        scale = scale * row.stride // (2 if row.upsample else 1)
        scales.append(scale)
    return scales


def _flops_per_layer(layer):
    k = getattr(layer, "conv", layer).kernel.shape
    return 2.0 * k[0] * k[1] * k[2] * k[3]


def saves_work(plan):
    """bool tensor: the windowed path is worth it (:data:`AUTO_MAX_FRACTION`)."""
    return plan.windowed_flops < AUTO_MAX_FRACTION * plan.full_flops
