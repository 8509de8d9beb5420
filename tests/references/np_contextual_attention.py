"""Slow NumPy reference of DeepFill v1 contextual attention, for tests only.

Written from the released code's semantics (``inpaint_ops.py``: ``contextual_attention``,
JiahuiYu/generative_inpainting v1.0.0), one step at a time and with
explicit loops and explicit padding amounts, so that each step can be checked by eye.
It does not share code with ``gi_tf`` and deliberately avoids clever vectorisation.
Arithmetic is in float64 (except the float32 index computation of the TF1 resize),
so it is the "exact" answer the float32 layer must approach.

Conventions: images are ``[H, W, C]`` per sample, positions are flattened row-major
(``index = row * width + col``), a patch holds its values as ``[row, col, channel]``.
"""

import math
from fractions import Fraction

import numpy as np

NORM_FLOOR = 1e-4


# -- TF1 nearest resize with align_corners=True ------------------------------------------


def _round_half_away_from_zero(value):
    """C ``roundf`` of a non-negative float, using exact rational arithmetic."""
    return math.floor(Fraction(float(value)) + Fraction(1, 2))


def align_corners_indices(in_size, out_size):
    """Source indices of TF1 ``resize_nearest_neighbor(align_corners=True)``.

    The scale ``(in - 1) / (out - 1)`` (``in / out`` when ``out == 1``) and the product
    ``y * scale`` are float32, the index is ``roundf`` of it, clamped to ``in - 1``.
    """
    if out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    assert scale.dtype == np.float32
    indices = []
    for y in range(out_size):
        position = np.float32(y) * scale  # float32 product, as in the C++ kernel
        assert position.dtype == np.float32
        indices.append(min(_round_half_away_from_zero(position), in_size - 1))
    return indices


def resize_nearest_align_corners(image, out_h, out_w):
    """``[H, W, C]`` -> ``[out_h, out_w, C]`` by copying the picked pixels."""
    rows = align_corners_indices(image.shape[0], out_h)
    cols = align_corners_indices(image.shape[1], out_w)
    out = np.zeros((out_h, out_w) + image.shape[2:], image.dtype)
    for i, src_i in enumerate(rows):
        for j, src_j in enumerate(cols):
            out[i, j] = image[src_i, src_j]
    return out


# -- TF "SAME" padding and patches -------------------------------------------------------


def same_padding(in_size, ksize, stride):
    """(before, after) of TF "SAME": out = ceil(in / stride), extra zero goes after."""
    out_size = -(-in_size // stride)
    total = max((out_size - 1) * stride + ksize - in_size, 0)
    return total // 2, total - total // 2


def zero_pad(image, top, bottom, left, right):
    """Explicit zero padding of ``[H, W, C]``."""
    h, w, c = image.shape
    out = np.zeros((h + top + bottom, w + left + right, c), image.dtype)
    out[top:top + h, left:left + w] = image
    return out


def extract_patches(image, ksize, stride):
    """``tf.image.extract_patches`` with SAME padding: ``[L, ksize, ksize, C]``, L row-major."""
    h, w, _ = image.shape
    top, bottom = same_padding(h, ksize, stride)
    left, right = same_padding(w, ksize, stride)
    padded = zero_pad(image, top, bottom, left, right)
    out_h, out_w = -(-h // stride), -(-w // stride)
    patches = []
    for i in range(out_h):
        for j in range(out_w):
            r0, c0 = i * stride, j * stride
            patches.append(padded[r0:r0 + ksize, c0:c0 + ksize].copy())
    return np.stack(patches)


# -- convolutions, written as loops over kernel taps / positions -------------------------


def conv2d_same(image, kernels):
    """``tf.nn.conv2d(stride 1, SAME)`` of ``[H, W, C]`` with ``[L, k, k, C]`` -> ``[H, W, L]``."""
    h, w, _ = image.shape
    num, k = kernels.shape[0], kernels.shape[1]
    assert kernels.shape[2] == k
    top, bottom = same_padding(h, k, 1)
    left, right = same_padding(w, k, 1)
    padded = zero_pad(image, top, bottom, left, right)
    out = np.zeros((h, w, num), np.float64)
    for i in range(h):
        for j in range(w):
            window = padded[i:i + k, j:j + k]  # [k, k, C]
            # out[i, j, n] = sum over (row, col, channel) of window * kernels[n]
            out[i, j] = np.tensordot(kernels, window, axes=3)
    return out


def correlate_identity(matrix, fuse_k):
    """Single-channel ``tf.nn.conv2d`` (SAME, stride 1) of a 2-D array with ``eye(fuse_k)``."""
    kernel = np.eye(fuse_k)
    rows, cols = matrix.shape
    top, bottom = same_padding(rows, fuse_k, 1)
    left, right = same_padding(cols, fuse_k, 1)
    padded = zero_pad(matrix[:, :, None], top, bottom, left, right)[:, :, 0]
    out = np.zeros((rows, cols), np.float64)
    for di in range(fuse_k):
        for dj in range(fuse_k):
            if kernel[di, dj] != 0:
                out += kernel[di, dj] * padded[di:di + rows, dj:dj + cols]
    return out


def conv2d_transpose_same(weights, filters, out_h, out_w, stride):
    """``tf.nn.conv2d_transpose`` (SAME) by explicit scatter-add.

    Args:
        weights: ``[h, w, L]`` input of the transposed convolution.
        filters: ``[L, k, k, C]``: filter ``l`` is pasted with weight ``weights[i, j, l]``.
        out_h, out_w: output size; the SAME padding is that of the forward convolution
            ``[out_h, out_w] -> [h, w]`` (kernel k, step ``stride``).
        stride: int.

    Returns:
        ``[out_h, out_w, C]``: ``out[i*s + a - top, j*s + b - left] += w[i, j, l] * f[l, a, b]``.
    """
    h, w, _ = weights.shape
    k, channels = filters.shape[1], filters.shape[3]
    top, _ = same_padding(out_h, k, stride)
    left, _ = same_padding(out_w, k, stride)
    out = np.zeros((out_h, out_w, channels), np.float64)
    for i in range(h):
        for j in range(w):
            for a in range(k):
                for b in range(k):
                    y, x = i * stride + a - top, j * stride + b - left
                    if 0 <= y < out_h and 0 <= x < out_w:
                        # sum over n of weights[i, j, n] * filters[n, a, b, :]
                        out[y, x] += weights[i, j] @ filters[:, a, b]
    return out


# -- attention propagation ---------------------------------------------------------------


def attention_propagation_single(scores, fuse_k=3):
    """The released code's "fuse" of one sample's scores ``[hf, wf, hb, wb]``.

    1. view as an image with rows = foreground (row-major) and cols = background (row-major),
       correlate with the identity kernel;
    2. transpose both position pairs (column-major flattening), correlate again;
    3. transpose back.
    """
    hf, wf, hb, wb = scores.shape
    image = scores.reshape(hf * wf, hb * wb)
    image = correlate_identity(image, fuse_k)
    image = image.reshape(hf, wf, hb, wb).transpose(1, 0, 3, 2).reshape(wf * hf, wb * hb)
    image = correlate_identity(image, fuse_k)
    return image.reshape(wf, hf, wb, hb).transpose(1, 0, 3, 2)


def attention_propagation(scores, fuse_k=3):
    """Batched: ``[B, hf, wf, hb, wb]`` -> same shape (float64)."""
    scores = np.asarray(scores, np.float64)
    return np.stack([attention_propagation_single(s, fuse_k) for s in scores])


# -- contextual attention ----------------------------------------------------------------


def softmax(logits):
    """Softmax over the last axis."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def contextual_attention_single(f, b, holes=None, ksize=3, rate=2, fuse_k=3,
                                softmax_scale=10.0, fuse=True, return_weights=False):
    """One sample: ``f, b [H, W, C]``, ``holes [H, W, 1]`` or None -> ``(y, offsets)``.

    ``y [H, W, C]`` float64; ``offsets [hb, wb, 2]`` int (delta row, delta col).
    """
    f = np.asarray(f, np.float64)
    b = np.asarray(b, np.float64)
    height, width, _ = b.shape

    # 1. raw 2*rate patches of the full-resolution background, step rate.
    raw = extract_patches(b, 2 * rate, rate)  # [L_raw, 2r, 2r, C]

    # 2. downsample (f: int(H * (1/rate)), b: int(H / rate); both are H // rate here).
    hf, wf = int(f.shape[0] * (1.0 / rate)), int(f.shape[1] * (1.0 / rate))
    hb, wb = int(height / rate), int(width / rate)
    f_small = resize_nearest_align_corners(f, hf, wf)
    b_small = resize_nearest_align_corners(b, hb, wb)

    # 3. matching patches, step 1.
    w = extract_patches(b_small, ksize, 1)  # [L, k, k, C]
    num = w.shape[0]
    assert num == hb * wb and raw.shape[0] == num

    # 4. validity of background patches: mean of the 3x3 window of the small mask == 0.
    if holes is None:
        mm = np.ones(num)
    else:
        holes = np.asarray(holes, np.float64)
        m_small = resize_nearest_align_corners(holes, int(holes.shape[0] * (1.0 / rate)),
                                               int(holes.shape[1] * (1.0 / rate)))
        m = extract_patches(m_small, ksize, 1)
        mm = np.array([1.0 if np.mean(m[n]) == 0.0 else 0.0 for n in range(num)])

    # 5a. normalise the background patches only.
    w_normed = np.zeros_like(w)
    for n in range(num):
        norm = math.sqrt(np.sum(w[n] ** 2))
        w_normed[n] = w[n] / max(norm, NORM_FLOOR)

    # 5b. scores = conv of the small foreground with the normalised patches.
    scores = conv2d_same(f_small, w_normed)  # [hf, wf, L]

    # 5c. propagation on raw scores.
    if fuse:
        scores = attention_propagation_single(scores.reshape(hf, wf, hb, wb), fuse_k)
        scores = scores.reshape(hf, wf, num)

    # 5e. mask, scaled softmax, mask again.
    scores = scores * mm
    weights = softmax(scores * softmax_scale) * mm

    # 5f. offsets: first argmax, decoded with the foreground width, minus own position.
    offsets = np.zeros((hf, wf, 2), np.int64)
    for i in range(hf):
        for j in range(wf):
            best = int(np.argmax(weights[i, j]))  # numpy returns the first on ties
            offsets[i, j] = (best // wf - i, best % wf - j)

    # 5g. paste the raw patches, divide by 4.
    y = conv2d_transpose_same(weights, raw, height, width, rate) / 4.0
    if return_weights:
        return y, offsets, weights
    return y, offsets


def contextual_attention(f, b, holes=None, ksize=3, rate=2, fuse_k=3, softmax_scale=10.0,
                         fuse=True):
    """Batched over samples; ``holes`` is ``[B, H, W, 1]`` (one mask per sample) or None.

    Returns ``(y [B, H, W, C] float64, offsets [B, H/rate, W/rate, 2] int64)``.
    """
    ys, offs = [], []
    for n in range(len(f)):
        y, off = contextual_attention_single(
            f[n], b[n], None if holes is None else holes[n], ksize=ksize, rate=rate,
            fuse_k=fuse_k, softmax_scale=softmax_scale, fuse=fuse)
        ys.append(y)
        offs.append(off)
    return np.stack(ys), np.stack(offs)
