"""Free-form brush-stroke holes in the style of DeepFill v2, drawn in the graph.

Masks are float32 ``[B, H, W, 1]`` with **1 = hole**. Everything is computed with
stateless ``tf.random`` ops from one seed (see :mod:`gi_tf.ops.seeds`), so a draw is
reproducible in eager mode, in a ``tf.function`` and under ``tf.distribute``.

The v2 release (``brush_stroke_mask`` in ``inpaint_ops.py``, branch ``v2.0.0``) draws
1-3 zig-zag strokes of 4-11 segments, 12-40 px wide, with PIL on a 256x256 canvas, one
mask per batch. Differences here: one mask per sample; sizes scale with the image; a
stroke is the set of pixel centres within half its width of the polyline (round caps and
joints, as v2's line plus vertex discs); v2 also *tries* random left-right/top-bottom
flips but discards their result (``Image.transpose`` returns a new image), so its
strokes always run rightwards. ``flip=True`` (the default here) applies the flips.
"""

import math

import tensorflow as tf

from gi_tf.ops.seeds import split_seed

# Plain TensorFlow code (no tensor-dependent Python control flow): skipping AutoGraph's
# source conversion keeps tracing inside train steps and tf.data fast.
_plain_tf = tf.autograph.experimental.do_not_convert


@_plain_tf
def free_form_mask(batch, height, width, seed, max_strokes=3, min_segments=4,
                   max_segments=11, min_stroke_width=12 / 256, max_stroke_width=40 / 256,
                   mean_segment_length=1 / 8, mean_angle=2 * math.pi / 5,
                   angle_range=2 * math.pi / 15, flip=True):
    """Draw one brush-stroke hole per sample.

    Each sample gets ``1 .. max_strokes`` strokes (uniform). A stroke starts at a uniform
    point and is a zig-zag polyline of ``min_segments .. max_segments`` segments
    (inclusive): segment directions alternate between ``2*pi - a`` and ``a``, with ``a``
    uniform in ``[mean_angle - u1, mean_angle + u2]`` and ``u1, u2 ~ U[0, angle_range]``
    per stroke; lengths are ``N(L, L/2)`` clipped to ``[0, 2L]`` with
    ``L = mean_segment_length * sqrt(H**2 + W**2)``; vertices are clipped to the image.
    The stroke width is uniform in ``[min_stroke_width, max_stroke_width] * min(H, W)``
    with a half-width of at least 1 px, so every sample has a hole. With ``flip`` the
    whole mask is flipped left-right and, independently, top-bottom with probability
    1/2 each. At 256x256 the defaults are v2's brush.

    Args:
        batch: int or scalar int tensor, B.
        height: int, H.
        width: int, W.
        seed: int, ``[2]`` int tensor or ``keras.random.SeedGenerator``.
        max_strokes: int >= 1.
        min_segments: int >= 1.
        max_segments: int >= min_segments.
        min_stroke_width: float, fraction of ``min(H, W)``.
        max_stroke_width: float, fraction of ``min(H, W)``.
        mean_segment_length: float, fraction of the image diagonal.
        mean_angle: float, radians.
        angle_range: float, radians.
        flip: bool, random flips per sample (see above).

    Returns:
        float32 ``[B, H, W, 1]``, 1 = hole.

    Example:
        >>> holes = free_form_mask(2, 32, 32, seed=0)
        >>> holes.shape, bool(tf.reduce_all(tf.reduce_sum(holes, [1, 2, 3]) > 0))
        (TensorShape([2, 32, 32, 1]), True)
    """
    seeds = split_seed(seed, 11)
    batch = tf.cast(batch, tf.int32)
    per_stroke = tf.stack([batch, max_strokes])
    per_segment = tf.stack([batch, max_strokes, max_segments])

    def uniform(shape, seed_, low=0.0, high=1.0):
        return tf.random.stateless_uniform(shape, seed_, low, high)

    n_strokes = tf.random.stateless_uniform(
        tf.reshape(batch, [1]), seeds[0], 1, max_strokes + 1, tf.int32)
    n_segments = tf.random.stateless_uniform(
        per_stroke, seeds[1], min_segments, max_segments + 1, tf.int32)
    stroke_on = tf.range(max_strokes)[None, :] < n_strokes[:, None]               # [B, S]
    segment_on = tf.range(max_segments)[None, None, :] < n_segments[..., None]     # [B, S, V]
    segment_on = segment_on & stroke_on[..., None]

    low = mean_angle - uniform(per_stroke, seeds[2], 0.0, angle_range)
    high = mean_angle + uniform(per_stroke, seeds[3], 0.0, angle_range)
    angles = low[..., None] + uniform(per_segment, seeds[4]) * (high - low)[..., None]
    even = tf.cast(tf.range(max_segments) % 2 == 0, tf.float32)
    angles = even * (2.0 * math.pi - angles) + (1.0 - even) * angles
    mean_length = mean_segment_length * math.sqrt(height ** 2 + width ** 2)
    lengths = tf.clip_by_value(
        mean_length + 0.5 * mean_length * tf.random.stateless_normal(per_segment, seeds[5]),
        0.0, 2.0 * mean_length)
    short_side = float(min(height, width))
    half_width = 0.5 * short_side * uniform(per_stroke, seeds[6], min_stroke_width,
                                            max_stroke_width)
    half_width = tf.maximum(half_width, 1.0)[..., None, None]                     # [B, S, 1, 1]

    y = uniform(per_stroke, seeds[7], 0.0, height - 1.0)
    x = uniform(per_stroke, seeds[8], 0.0, width - 1.0)
    rows = tf.range(height, dtype=tf.float32)[:, None]
    cols = tf.range(width, dtype=tf.float32)[None, :]
    dy = lengths * tf.sin(angles)                                                  # [B, S, V]
    dx = lengths * tf.cos(angles)

    def draw(v, y, x, holes):
        new_y = tf.clip_by_value(y + tf.gather(dy, v, axis=2), 0.0, height - 1.0)
        new_x = tf.clip_by_value(x + tf.gather(dx, v, axis=2), 0.0, width - 1.0)
        near = near_segment(rows, cols, y, x, new_y, new_x, half_width)
        holes = holes | (near & tf.gather(segment_on, v, axis=2)[..., None, None])
        return v + 1, new_y, new_x, holes

    holes = tf.zeros(tf.stack([batch, max_strokes, height, width]), tf.bool)
    _, _, _, holes = tf.while_loop(lambda v, *_: v < max_segments, draw,
                                   (tf.constant(0), y, x, holes))
    holes = tf.cast(tf.reduce_any(holes, axis=1), tf.float32)[..., None]
    if flip:
        holes = random_flips(holes, seeds[9], seeds[10])
    return holes


@_plain_tf
def random_flips(holes, seed_left_right, seed_top_bottom):
    """Flip each sample of ``[B, H, W, C]`` left-right / top-bottom with probability 1/2."""
    shape = tf.shape(holes)[:1]
    left_right = tf.random.stateless_uniform(shape, seed_left_right) < 0.5
    top_bottom = tf.random.stateless_uniform(shape, seed_top_bottom) < 0.5
    holes = tf.where(left_right[:, None, None, None], tf.reverse(holes, [2]), holes)
    return tf.where(top_bottom[:, None, None, None], tf.reverse(holes, [1]), holes)


@_plain_tf
def near_segment(rows, cols, y0, x0, y1, x1, radius):
    """Which pixel centres lie within ``radius`` of the segments ``(y0, x0)-(y1, x1)``.

    Args:
        rows: float ``[H, 1]`` row coordinates (pixel centres at integers).
        cols: float ``[1, W]`` column coordinates.
        y0, x0, y1, x1: float ``[B, S]`` segment end points.
        radius: float ``[B, S, 1, 1]``.

    Returns:
        bool ``[B, S, H, W]``.
    """
    y0, x0 = y0[..., None, None], x0[..., None, None]
    dy, dx = y1[..., None, None] - y0, x1[..., None, None] - x0
    t = ((rows - y0) * dy + (cols - x0) * dx) / tf.maximum(dy * dy + dx * dx, 1e-6)
    t = tf.clip_by_value(t, 0.0, 1.0)
    return tf.square(rows - y0 - t * dy) + tf.square(cols - x0 - t * dx) <= radius * radius
