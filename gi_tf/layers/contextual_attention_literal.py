"""The literal formulation of contextual attention, one sample at a time.

This follows the paper and the released code step by step: background patches become
convolution kernels (``extract_patches`` -> ``conv``), the scores are propagated,
masked and soft-maxed, and a transposed convolution with the raw ``2*rate`` patches
pastes the features back. It is kept as a readable cross-check of the batched default
(:mod:`gi_tf.layers.attention_patches`); tests require the two to agree to 1e-5.
"""

from keras import ops

from gi_tf.layers.attention_patches import l2_normalise


def _patch_kernels(images, size, stride):
    """``[B, H, W, C]`` -> kernels ``[B, size, size, C, L]`` (SAME patches, row-major L)."""
    shape = ops.shape(images)
    patches = ops.image.extract_patches(images, size, strides=stride, padding="same")
    patches = ops.reshape(patches, (shape[0], -1, size, size, shape[3]))
    return ops.transpose(patches, (0, 2, 3, 4, 1))


def attend_literal(layer, f_small, b_small, valid, background):
    """Per-sample conv / softmax / transposed-conv attention.

    Args:
        layer: the calling :class:`ContextualAttention` (for its hyper-parameters and
            its ``propagate`` / ``masked_softmax`` steps).
        f_small, b_small: float32 ``[B, h, w, C]`` downsampled foreground/background.
        valid: float32 ``[B, h*w]``, 1 = background patch free of holes.
        background: float32 ``[B, H, W, C]`` full-resolution background.

    Returns:
        ``(y [B, H, W, C], best [B, h*w])``.
    """
    rate = layer.rate
    kernels = l2_normalise(_patch_kernels(b_small, layer.ksize, 1), axis=(1, 2, 3))
    raw_kernels = _patch_kernels(background, 2 * rate, rate)
    full = ops.shape(background)
    small = ops.shape(f_small)

    def one_sample(args):
        f_i, kernel_i, raw_i, valid_i = args
        scores = ops.conv(f_i[None], kernel_i, strides=1, padding="same")  # [1, h, w, L]
        scores = ops.reshape(scores, (1, small[1] * small[2], -1))
        scores = layer.propagate(scores, small[1], small[2])
        weights = layer.masked_softmax(scores, valid_i[None])
        best = ops.argmax(weights, axis=-1)[0]
        weights = ops.reshape(weights, (1, small[1], small[2], -1))
        y = ops.conv_transpose(weights, raw_i, strides=rate, padding="same")
        y = ops.reshape(y, (full[1], full[2], full[3])) / 4.0
        return y, ops.cast(best, "int32")

    return ops.map(one_sample, (f_small, kernels, raw_kernels, valid))
