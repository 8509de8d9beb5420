"""Per-sample box crops resized to a fixed size, built from gathers (works under XLA).

The local critic and the box form of the discounted L1 look at each sample's hole box
resized to ``local_size x local_size``. ``tf.image.crop_and_resize`` (used by
:func:`gi_tf.data.masks.crop_bboxes`) does exactly that, but has no XLA kernel, so
``jit_compile`` training could not use it. This module computes the same sampling grid
(``crop_and_resize`` with the boxes of :func:`gi_tf.data.masks.bbox_to_crop_boxes`) with two
separable gathers: rows first, then columns. Gradients flow back to the images.

For a box of ``h`` rows cropped to ``n`` rows, output row ``i`` samples input row
``top + i * (h - 1) / (n - 1)`` (``top + (h - 1) / 2`` when ``n == 1``); likewise for
columns. When ``h == n`` this is the exact pixel slice ``top .. top + h - 1``.
"""

import tensorflow as tf

METHODS = ("nearest", "bilinear")


def _positions(start, length, size):
    """float32 ``[B, size]`` sample coordinates along one axis (see module doc)."""
    start = tf.cast(start, tf.float32)[:, None]
    length = tf.cast(length, tf.float32)[:, None]
    if size == 1:
        return start + 0.5 * (length - 1.0)
    steps = tf.range(size, dtype=tf.float32)[None, :] / float(size - 1)
    return start + steps * (length - 1.0)


def _resample(images, positions, axis, method):
    """Sample ``images`` at ``positions`` ``[B, n]`` along ``axis`` (1 = rows, 2 = cols)."""
    limit = tf.shape(images)[axis] - 1
    if method == "nearest":
        # crop_and_resize rounds half away from zero; positions are >= 0 here.
        index = tf.clip_by_value(tf.cast(tf.floor(positions + 0.5), tf.int32), 0, limit)
        return tf.gather(images, index, axis=axis, batch_dims=1)
    low = tf.floor(positions)
    weight = positions - low
    low = tf.clip_by_value(tf.cast(low, tf.int32), 0, limit)
    high = tf.minimum(low + 1, limit)
    shape = [-1, 1, 1, 1]
    shape[axis] = tf.shape(positions)[1]
    weight = tf.reshape(weight, shape)
    before = tf.gather(images, low, axis=axis, batch_dims=1)
    after = tf.gather(images, high, axis=axis, batch_dims=1)
    return before + weight * (after - before)


def crop_boxes(images, bboxes, crop_height, crop_width, method="nearest"):
    """Crop each sample's box and resize it, like :func:`gi_tf.data.masks.crop_bboxes`.

    Args:
        images: float ``[B, H, W, C]``.
        bboxes: int ``[B, 4]`` rows ``(top, left, height, width)`` in pixels.
        crop_height: int, output rows.
        crop_width: int, output columns.
        method: ``"nearest"`` or ``"bilinear"``.

    Returns:
        ``[B, crop_height, crop_width, C]`` in the dtype of ``images``.

    Example:
        >>> x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
        >>> crop_boxes(x, [[1, 1, 2, 2]], 2, 2)[0, ..., 0].numpy().tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r}: must be one of {METHODS}")
    top, left, height, width = tf.unstack(tf.convert_to_tensor(bboxes), axis=1)
    rows = _resample(images, _positions(top, height, crop_height), 1, method)
    return _resample(rows, _positions(left, width, crop_width), 2, method)
