"""Patches for contextual attention: extraction (dense, at some cells, as conv kernels),
validity, and fold (overlap-add).

The patch arithmetic of :class:`gi_tf.layers.ContextualAttention`, written with
``keras.ops`` only (TF and JAX backends, dynamic batch/height/width). Every helper uses
TF's SAME zero padding, like ``tf.image.extract_patches`` in the released code, and
orders a patch's values as (row, col, channel).
"""

from keras import ops

# The released code divides each background patch by max(its L2 norm, 1e-4).
NORM_FLOOR = 1e-4


def same_padding(kernel, stride=1):
    """(before, after) zero padding of TF "SAME" (input length a multiple of ``stride``)."""
    total = max(kernel - stride, 0)
    return total // 2, total - total // 2


def dense_patches(images, ksize):
    """All ``ksize x ksize`` patches with stride 1 and SAME zero padding.

    Args:
        images: float tensor ``[B, H, W, C]``.
        ksize: int, patch size.

    Returns:
        float tensor ``[B, H*W, ksize*ksize*C]``; row ``i*W + j`` is the patch centred
        (TF SAME convention) at ``(i, j)``, values in (row, col, channel) order.
    """
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    before, after = same_padding(ksize)
    padded = ops.pad(images, [[0, 0], [before, after], [before, after], [0, 0]])
    parts = [
        ops.slice(padded, [0, di, dj, 0], [batch, height, width, channels])
        for di in range(ksize)
        for dj in range(ksize)
    ]
    patches = ops.stack(parts, axis=3)  # [B, H, W, k*k, C]
    return ops.reshape(patches, (batch, height * width, ksize * ksize * channels))


def patches_at(images, cells, size, stride=1):
    """The ``size x size`` patches of one image at some cells of its ``stride`` grid.

    The rows of :func:`dense_patches` (``stride`` 1) or :func:`raw_patches` (``stride``
    = rate, ``size`` = 2*rate) at the flat cells asked for, gathered: zero outside the
    image, SAME placement.

    Args:
        images: float tensor ``[H, W, C]`` (one sample).
        cells: int32 tensor ``[n]``, flat indices ``i * (W // stride) + j``.
        size, stride: ints.

    Returns:
        float tensor ``[n, size*size*C]``.
    """
    shape = ops.shape(images)
    height, width = shape[0], shape[1]
    before = same_padding(size, stride)[0]
    grid_w = width // stride
    offsets = ops.arange(size, dtype="int32")
    r = (cells // grid_w * stride - before)[:, None, None] + offsets[None, :, None]
    c = (cells % grid_w * stride - before)[:, None, None] + offsets[None, None, :]
    inside = ops.cast(((r >= 0) & (r < height)) & ((c >= 0) & (c < width)), images.dtype)
    r = ops.clip(r, 0, height - 1)
    c = ops.clip(c, 0, width - 1)
    flat = ops.reshape(images, (height * width, shape[2]))
    patches = ops.take(flat, r * width + c, axis=0) * inside[..., None]  # [n, size, size, C]
    return ops.reshape(patches, (ops.shape(cells)[0], -1))


def conv_kernels(images, size, stride):
    """``[B, H, W, C]`` -> kernels ``[B, size, size, C, L]`` (SAME patches, row-major L).

    The released code's form of the patches (``extract_patches``), for a convolution.
    """
    shape = ops.shape(images)
    patches = ops.image.extract_patches(images, size, strides=stride, padding="same")
    patches = ops.reshape(patches, (shape[0], -1, size, size, shape[3]))
    return ops.transpose(patches, (0, 2, 3, 4, 1))


def l2_normalise(patches, axis):
    """``patches / max(L2 norm, NORM_FLOOR)``, the norm taken over ``axis`` (one per patch).

    The released code's normalisation of the background patches (the foreground is not
    normalised).
    """
    norms = ops.sqrt(ops.sum(ops.square(patches), axis=axis, keepdims=True))
    return patches / ops.maximum(norms, NORM_FLOOR)


def background_kernels(b_small, ksize):
    """The normalised background patches as a kernel matrix for :func:`match_scores`.

    Args:
        b_small: float tensor ``[B, h, w, C]``, the downsampled background.
        ksize: int, patch size.

    Returns:
        float tensor ``[B, ksize*ksize*C, h*w]``: column ``q`` is background patch ``q``
        (:func:`dense_patches` order) divided by ``max(its L2 norm, NORM_FLOOR)``.
    """
    return ops.transpose(l2_normalise(dense_patches(b_small, ksize), -1), (0, 2, 1))


def match_scores(f_patches, kernels):
    """Score of every foreground patch against every background patch.

    The released code convolves the foreground with the normalised background patches
    as kernels (``conv2d``, SAME); on patch matrices that convolution is a matmul.

    Args:
        f_patches: float tensor ``[B, Lf, D]`` (:func:`dense_patches` of the foreground,
            or some of its rows).
        kernels: float tensor ``[B, D, Lb]`` from :func:`background_kernels`.

    Returns:
        float tensor ``[B, Lf, Lb]``.
    """
    return ops.matmul(f_patches, kernels)


def hole_free_patches(holes, ksize):
    """1.0 where a ``ksize x ksize`` window (SAME, zero padded) holds no hole pixel.

    The released code averages the window and compares with exactly 0; for a
    non-negative mask that is the same as the window sum being 0.

    Args:
        holes: float tensor ``[B, H, W, 1]``, 1 = hole.
        ksize: int, window size.

    Returns:
        float32 tensor ``[B, H*W]``: 1 = valid background patch, 0 = touches a hole.
    """
    window_sums = ops.sum(dense_patches(ops.cast(holes, "float32"), ksize), axis=-1)
    return ops.cast(ops.equal(window_sums, 0.0), "float32")


def raw_patches(background, rate):
    """The ``2*rate`` square patches with step ``rate`` (SAME) used to rebuild features.

    Args:
        background: float tensor ``[B, H, W, C]``, H and W multiples of ``rate``.
        rate: int, downsampling rate of the matching grid.

    Returns:
        float tensor ``[B, (H/rate)*(W/rate), (2*rate)*(2*rate)*C]`` in (row, col,
        channel) order; row ``i*(W/rate) + j`` starts at padded pixel ``(i*rate, j*rate)``.
    """
    shape = ops.shape(background)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    hs, ws = height // rate, width // rate
    before, after = same_padding(2 * rate, rate)
    padded = ops.pad(background, [[0, 0], [before, after], [before, after], [0, 0]])
    # Blocks of rate x rate pixels: [B, hs+1, ws+1, rate, rate, C].
    blocks = ops.reshape(padded, (batch, hs + 1, rate, ws + 1, rate, channels))
    blocks = ops.transpose(blocks, (0, 1, 3, 2, 4, 5))
    # Patch (i, j) is blocks (i..i+1, j..j+1).
    rows = []
    for a in (0, 1):
        by_row = blocks[:, :-1] if a == 0 else blocks[:, 1:]
        cols = [by_row[:, :, :-1], by_row[:, :, 1:]]  # b = 0, 1: [B, hs, ws, r, r, C]
        rows.append(ops.stack(cols, axis=5))  # [B, hs, ws, r(u), r(v), 2(b), C]
    patches = ops.stack(rows, axis=3)  # [B, hs, ws, 2(a), r(u), r(v), 2(b), C]
    patches = ops.transpose(patches, (0, 1, 2, 3, 4, 6, 5, 7))  # a, u, b, v, C
    return ops.reshape(patches, (batch, hs * ws, 4 * rate * rate * channels))


def fold_patches(patches, height, width, channels, rate):
    """Overlap-add ``2*rate`` patches placed with step ``rate``: the transposed conv.

    Equals ``tf.nn.conv2d_transpose`` with stride ``rate`` and SAME padding of the
    weights against a bank of these patches, written as sums of shifted blocks.

    Args:
        patches: float tensor ``[B, hs*ws, (2*rate)*(2*rate)*channels]`` (from a matmul
            of attention weights with :func:`raw_patches`).
        height, width: output size (multiples of ``rate``; ``hs = height // rate``).
        channels: int or scalar tensor, channels of the output.
        rate: int.

    Returns:
        float tensor ``[B, height, width, channels]`` (not yet divided by 4).
    """
    batch = ops.shape(patches)[0]
    hs, ws = height // rate, width // rate
    grid = ops.reshape(patches, (batch, hs, ws, 2, rate, 2, rate, channels))
    total = None
    for a in (0, 1):
        for b in (0, 1):
            block = grid[:, :, :, a, :, b, :, :]  # [B, hs, ws, r, r, C]
            block = ops.pad(block, [[0, 0], [a, 1 - a], [b, 1 - b], [0, 0], [0, 0], [0, 0]])
            total = block if total is None else total + block
    total = ops.transpose(total, (0, 1, 3, 2, 4, 5))  # [B, hs+1, r, ws+1, r, C]
    total = ops.reshape(total, (batch, (hs + 1) * rate, (ws + 1) * rate, channels))
    before, _ = same_padding(2 * rate, rate)
    return ops.slice(total, [0, before, before, 0], [batch, height, width, channels])
