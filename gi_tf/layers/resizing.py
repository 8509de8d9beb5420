"""Nearest-neighbour resizing with TF1's ``align_corners=True`` rule.

The released DeepFill v1 code downsamples masks and features with
``tf.image.resize_nearest_neighbor(..., align_corners=True)``. For an output index
``y`` that op reads source index ``min(roundf(y * (in - 1) / (out - 1)), in - 1)``
with the scale computed in float32. TF2's ``tf.image.resize(method="nearest")`` uses
half-pixel centres and picks different pixels (64 -> 32 keeps rows 0, 2, ..., 30,
33, 35, ..., 63 here). This module reproduces the TF1 rule with ``keras.ops`` so it
also runs under the JAX backend and with dynamic (``None``) spatial sizes.
"""

from keras import ops


def align_corners_indices(in_size, out_size):
    """Source indices picked by align-corners nearest resizing.

    Args:
        in_size: int or scalar int tensor, input length.
        out_size: int or scalar int tensor, output length.

    Returns:
        int32 tensor ``[out_size]`` of source indices in ``[0, in_size)``.

    Example:
        >>> [int(i) for i in align_corners_indices(8, 4)]
        [0, 2, 5, 7]
    """
    in_f = ops.cast(in_size, "float32")
    out_f = ops.cast(out_size, "float32")
    scale = ops.where(out_f > 1.0, (in_f - 1.0) / ops.maximum(out_f - 1.0, 1.0), in_f / out_f)
    positions = ops.cast(ops.arange(out_size), "float32") * scale
    # roundf() rounds halves away from zero. floor(x + 0.5) would round 0.49999997 up
    # (the float32 sum is 1.0), so compare the exact fractional part instead.
    whole = ops.floor(positions)
    indices = ops.cast(whole, "int32") + ops.cast(positions - whole >= 0.5, "int32")
    return ops.minimum(indices, ops.cast(in_size, "int32") - 1)


def resize_nearest_align_corners(images, height, width):
    """Resize ``[B, H, W, C]`` images to ``[B, height, width, C]`` (TF1 align-corners nearest).

    Args:
        images: float tensor ``[B, H, W, C]``.
        height: int or scalar int tensor, output height.
        width: int or scalar int tensor, output width.

    Returns:
        Tensor ``[B, height, width, C]`` with values copied from ``images``.
    """
    shape = ops.shape(images)
    rows = align_corners_indices(shape[1], height)
    cols = align_corners_indices(shape[2], width)
    images = ops.take(images, rows, axis=1)
    return ops.take(images, cols, axis=2)
