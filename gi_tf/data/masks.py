"""Training masks: random boxes (DeepFill v1), brush strokes (DeepFill v2 style) or a mix.

Masks are float32 ``[B, H, W, 1]`` with 1 = hole; boxes int32 ``[B, 4]`` rows ``(top, left,
height, width)``. :func:`sample_masks` draws a batch for a :class:`MaskConfig` and the box
the local critic sees (the drawn box, or the hole's tight box for free-form masks);
:func:`crop_bboxes` cuts and resizes those boxes. All randomness comes from ``seed`` (an
int, a ``[2]`` tensor or a ``keras.random.SeedGenerator``) through stateless ops, so the
same seed gives the same masks eagerly, in a ``tf.function`` and under ``tf.distribute``.
Unlike the released ``random_bbox`` + ``bbox2mask``, boxes are drawn per sample
(``MaskConfig(per_sample=False)`` gives the original back) and without NumPy's global RNG.
"""

import tensorflow as tf

from gi_tf.data.brush_strokes import free_form_mask
from gi_tf.data.config import MaskConfig
from gi_tf.ops.seeds import as_seed
from gi_tf.ops.seeds import split_seed as _split

# Plain TensorFlow code (no tensor-dependent Python control flow): skipping AutoGraph's
# source conversion keeps tracing inside train steps and tf.data fast.
_plain_tf = tf.autograph.experimental.do_not_convert

__all__ = [
    "MaskConfig", "as_seed", "bbox_to_crop_boxes", "bbox_to_mask", "crop_bboxes",
    "free_form_mask", "hole_bounding_boxes", "mixed_mask", "random_bbox", "sample_masks",
]



@_plain_tf
def random_bbox(batch, image_height, image_width, box_height, box_width, margins, seed):
    """Draw one box position per sample, as ``random_bbox`` of the released code.

    ``top`` is uniform in ``[v_margin, image_height - v_margin - box_height)`` (upper bound
    excluded, as ``tf.random_uniform`` in the original) and ``left`` likewise.

    Args:
        batch: int or scalar int tensor, number of samples B.
        image_height: int, image height H.
        image_width: int, image width W.
        box_height: int, box height (128 in the released config).
        box_width: int, box width.
        margins: ``(vertical, horizontal)`` ints, minimal distance to the image border.
        seed: int, ``[2]`` int tensor, or ``keras.random.SeedGenerator``.

    Returns:
        int32 ``[B, 4]`` rows ``(top, left, box_height, box_width)``.

    Raises:
        ValueError: if the box and margins leave no valid position.
    """
    v_margin, h_margin = margins
    max_top = image_height - v_margin - box_height
    max_left = image_width - h_margin - box_width
    if max_top <= v_margin or max_left <= h_margin:
        raise ValueError(
            f"box {box_height}x{box_width} with margins {tuple(margins)} does not fit a "
            f"{image_height}x{image_width} image (need H - 2*v_margin > box_height)")
    seed_top, seed_left = _split(seed, 2)
    shape = tf.reshape(tf.cast(batch, tf.int32), [1])
    top = tf.random.stateless_uniform(shape, seed_top, v_margin, max_top, tf.int32)
    left = tf.random.stateless_uniform(shape, seed_left, h_margin, max_left, tf.int32)
    size = tf.ones_like(top)
    return tf.stack([top, left, size * box_height, size * box_width], axis=1)


@_plain_tf
def _rectangles(tops, lefts, bottoms, rights, height, width):
    """float32 ``[B, H, W, 1]`` with ones in rows ``[top, bottom)`` x cols ``[left, right)``."""
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = ((rows >= tops[:, None, None]) & (rows < bottoms[:, None, None])
              & (cols >= lefts[:, None, None]) & (cols < rights[:, None, None]))
    return tf.cast(inside, tf.float32)[..., None]


@_plain_tf
def bbox_to_mask(bboxes, image_height, image_width, max_delta_height, max_delta_width, seed):
    """Rasterise boxes into holes, shrinking each box by a random margin per side.

    Per sample ``dh`` is uniform in ``0 .. max_delta_height // 2`` (inclusive) and ``dw``
    in ``0 .. max_delta_width // 2``; the hole covers rows ``[top + dh, top + h - dh)`` and
    cols ``[left + dw, left + w - dw)``, as ``bbox2mask`` of the released code.

    Args:
        bboxes: int32 ``[B, 4]`` rows ``(top, left, height, width)``.
        image_height: int, H.
        image_width: int, W.
        max_delta_height: int >= 0, total vertical shrink range (32 released; 0 = none).
        max_delta_width: int >= 0, total horizontal shrink range.
        seed: int, ``[2]`` int tensor, or ``keras.random.SeedGenerator``.

    Returns:
        float32 ``[B, H, W, 1]``, 1 = hole.
    """
    bboxes = tf.cast(bboxes, tf.int32)
    shape = tf.shape(bboxes)[:1]
    seed_h, seed_w = _split(seed, 2)
    dh = tf.random.stateless_uniform(shape, seed_h, 0, max_delta_height // 2 + 1, tf.int32)
    dw = tf.random.stateless_uniform(shape, seed_w, 0, max_delta_width // 2 + 1, tf.int32)
    top, left, h, w = tf.unstack(bboxes, axis=1)
    return _rectangles(top + dh, left + dw, top + h - dh, left + w - dw,
                       image_height, image_width)


@_plain_tf
def hole_bounding_boxes(holes):
    """Tight bounding box of each sample's hole pixels.

    Args:
        holes: float ``[B, H, W, 1]``, 1 = hole.

    Returns:
        int32 ``[B, 4]`` rows ``(top, left, height, width)``; the full image
        ``(0, 0, H, W)`` for a sample without hole pixels.
    """
    present = tf.cast(holes, tf.float32)[..., 0] > 0.5
    shape = tf.shape(present)

    def extent(any_along, size):
        index = tf.range(size)[None, :]
        start = tf.reduce_min(tf.where(any_along, index, size), axis=1)
        stop = tf.reduce_max(tf.where(any_along, index + 1, 0), axis=1)
        empty = stop <= start
        return tf.where(empty, 0, start), tf.where(empty, size, stop - start)

    top, box_height = extent(tf.reduce_any(present, axis=2), shape[1])
    left, box_width = extent(tf.reduce_any(present, axis=1), shape[2])
    return tf.stack([top, left, box_height, box_width], axis=1)


@_plain_tf
def mixed_mask(box_holes, free_holes, free_ratio, seed):
    """Choose per sample between a box hole and a free-form hole.

    Args:
        box_holes: float ``[B, H, W, 1]``.
        free_holes: float ``[B, H, W, 1]``.
        free_ratio: float in ``[0, 1]``, probability of the free-form hole.
        seed: int, ``[2]`` int tensor, or ``keras.random.SeedGenerator``.

    Returns:
        ``(holes, is_free)``: float32 ``[B, H, W, 1]`` and bool ``[B]``.
    """
    batch = tf.shape(box_holes)[:1]
    is_free = tf.random.stateless_uniform(batch, as_seed(seed)) < free_ratio
    holes = tf.where(is_free[:, None, None, None], free_holes, box_holes)
    return holes, is_free


@_plain_tf
def bbox_to_crop_boxes(bboxes, height, width):
    """Normalised boxes for ``tf.image.crop_and_resize`` that hit pixel centres exactly.

    Row ``(top, left, h, w)`` becomes ``(top/(H-1), left/(W-1), (top+h-1)/(H-1),
    (left+w-1)/(W-1))``; with ``crop_size = (h, w)`` the crop samples exactly rows
    ``top .. top+h-1`` and cols ``left .. left+w-1``. ``crop_and_resize`` computes the
    sample positions in float32, so with ``method="bilinear"`` they land up to about
    ``3e-5`` px off the pixel centres (crop values off by up to ``3e-5`` times the
    neighbour difference); with ``method="nearest"`` the crop is the exact slice.

    Args:
        bboxes: int ``[B, 4]`` rows ``(top, left, height, width)``.
        height: int or scalar int tensor, image height H (>= 2).
        width: int or scalar int tensor, image width W (>= 2).

    Returns:
        float32 ``[B, 4]`` rows ``(y1, x1, y2, x2)``.

    Example:
        >>> bbox_to_crop_boxes([[0, 2, 3, 3]], 5, 5).numpy().tolist()
        [[0.0, 0.5, 0.5, 1.0]]
    """
    top, left, h, w = tf.unstack(tf.cast(bboxes, tf.float32), axis=1)
    scale_y = 1.0 / (tf.cast(height, tf.float32) - 1.0)
    scale_x = 1.0 / (tf.cast(width, tf.float32) - 1.0)
    return tf.stack([top * scale_y, left * scale_x,
                     (top + h - 1.0) * scale_y, (left + w - 1.0) * scale_x], axis=1)


@_plain_tf
def crop_bboxes(images, bboxes, crop_height, crop_width, method="nearest"):
    """Crop each sample's box and resize it to ``crop_height x crop_width``.

    With boxes of exactly the crop size and ``method="nearest"`` this is exactly the pixel
    slice of the released ``local_patch``; free-form hole boxes of other sizes are
    resized. Gradients flow back to ``images`` with either method.

    Args:
        images: float ``[B, H, W, C]``.
        bboxes: int ``[B, 4]`` rows ``(top, left, height, width)``.
        crop_height: int.
        crop_width: int.
        method: ``"nearest"`` (default; exact for same-size boxes) or ``"bilinear"``.

    Returns:
        float32 ``[B, crop_height, crop_width, C]``.
    """
    shape = tf.shape(images)
    height = images.shape[1] if images.shape[1] is not None else shape[1]
    width = images.shape[2] if images.shape[2] is not None else shape[2]
    boxes = bbox_to_crop_boxes(bboxes, height, width)
    indices = tf.range(tf.shape(images)[0])
    return tf.image.crop_and_resize(images, boxes, indices, (crop_height, crop_width),
                                    method=method)


@_plain_tf
def sample_masks(config, batch, height, width, seed):
    """Draw a batch of holes and the boxes the local critic should crop.

    For box masks the box is the drawn ``box_height x box_width`` box (not the shrunk
    hole), as the released code crops it; for free-form masks it is the hole's tight
    bounding box (:func:`hole_bounding_boxes`). Crop with :func:`crop_bboxes`.

    Args:
        config: :class:`MaskConfig`.
        batch: int or scalar int tensor, B.
        height: int, H.
        width: int, W.
        seed: int, ``[2]`` int tensor, or ``keras.random.SeedGenerator``.

    Returns:
        ``(holes, bboxes)``: float32 ``[B, H, W, 1]`` (1 = hole) and int32 ``[B, 4]``
        rows ``(top, left, height, width)``.
    """
    config.check_image_size(height, width)
    draws = batch if config.per_sample else 1
    seeds = _split(seed, 4)
    if config.kind in ("box", "mixed"):
        box_bboxes = random_bbox(draws, height, width, config.box_height, config.box_width,
                                 (config.vertical_margin, config.horizontal_margin), seeds[0])
        box_holes = bbox_to_mask(box_bboxes, height, width, config.max_delta_height,
                                 config.max_delta_width, seeds[1])
    if config.kind in ("free", "mixed"):
        free_holes = free_form_mask(
            draws, height, width, seeds[2], max_strokes=config.max_strokes,
            min_segments=config.min_segments, max_segments=config.max_segments,
            min_stroke_width=config.min_stroke_width, max_stroke_width=config.max_stroke_width,
            mean_segment_length=config.mean_segment_length, mean_angle=config.mean_angle,
            angle_range=config.angle_range, flip=config.flip_strokes)
    if config.kind == "box":
        holes, bboxes = box_holes, box_bboxes
    elif config.kind == "free":
        holes, bboxes = free_holes, hole_bounding_boxes(free_holes)
    else:
        holes, is_free = mixed_mask(box_holes, free_holes, config.free_ratio, seeds[3])
        bboxes = tf.where(is_free[:, None], hole_bounding_boxes(free_holes), box_bboxes)
    if not config.per_sample:
        holes = tf.tile(holes, tf.stack([batch, 1, 1, 1]))
        bboxes = tf.tile(bboxes, tf.stack([batch, 1]))
    return holes, bboxes
