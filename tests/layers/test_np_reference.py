"""Checks the NumPy reference's building blocks against the TF ops the released code uses.

The reference (tests/references/np_contextual_attention.py) is written from the released
code's semantics (``inpaint_ops.py``: ``contextual_attention``); these
tests make sure its padding and scatter conventions are those of TF's raw ops, so that a
layer test failing against it points at the layer, not at the reference.
"""

import numpy as np
import pytest
import tensorflow as tf

from references import np_contextual_attention as ref


@pytest.mark.parametrize("ksize,stride,hw", [(3, 1, (5, 7)), (4, 2, (8, 6)), (6, 3, (9, 12)),
                                             (2, 1, (4, 5)), (5, 1, (6, 4))])
def test_extract_patches_matches_tf(ksize, stride, hw):
    image = np.random.rand(*hw, 2).astype("float32")
    expected = tf.image.extract_patches(
        image[None], [1, ksize, ksize, 1], [1, stride, stride, 1], [1, 1, 1, 1], "SAME")
    expected = expected.numpy().reshape(-1, ksize, ksize, 2)
    np.testing.assert_array_equal(ref.extract_patches(image, ksize, stride), expected)


@pytest.mark.parametrize("ksize,hw", [(3, (5, 7)), (2, (4, 3)), (5, (6, 6))])
def test_conv2d_same_matches_tf(ksize, hw):
    image = np.random.randn(*hw, 3)
    kernels = np.random.randn(4, ksize, ksize, 3)
    expected = tf.nn.conv2d(image[None], np.transpose(kernels, (1, 2, 3, 0)), 1, "SAME")
    np.testing.assert_allclose(ref.conv2d_same(image, kernels), expected.numpy()[0], atol=1e-12)


@pytest.mark.parametrize("fuse_k", [1, 2, 3, 4])
def test_correlate_identity_matches_tf_conv(fuse_k):
    matrix = np.random.randn(7, 9)
    eye = np.eye(fuse_k).reshape(fuse_k, fuse_k, 1, 1)
    expected = tf.nn.conv2d(matrix[None, :, :, None], eye, 1, "SAME").numpy()[0, :, :, 0]
    np.testing.assert_allclose(ref.correlate_identity(matrix, fuse_k), expected, atol=1e-12)


@pytest.mark.parametrize("rate,hw", [(1, (5, 7)), (2, (8, 6)), (3, (9, 12))])
def test_conv2d_transpose_matches_tf(rate, hw):
    h, w = hw[0] // rate, hw[1] // rate
    weights = np.random.randn(h, w, 5)
    filters = np.random.randn(5, 2 * rate, 2 * rate, 3)
    expected = tf.nn.conv2d_transpose(
        weights[None], np.transpose(filters, (1, 2, 3, 0)), [1, hw[0], hw[1], 3],
        [1, rate, rate, 1], "SAME")
    got = ref.conv2d_transpose_same(weights, filters, hw[0], hw[1], rate)
    np.testing.assert_allclose(got, expected.numpy()[0], atol=1e-12)


def test_identity_attention_reconstructs_interior():
    # One-hot weights on each position's own patch paste the background back; interior
    # pixels are covered by 4 patches, so /4 gives them exactly (borders get 1/2, 1/4).
    rate, height, width = 2, 8, 10
    b = np.random.randn(height, width, 2)
    raw = ref.extract_patches(b, 2 * rate, rate)
    h, w = height // rate, width // rate
    weights = np.eye(h * w).reshape(h, w, h * w)
    y = ref.conv2d_transpose_same(weights, raw, height, width, rate) / 4.0
    np.testing.assert_allclose(y[1:-1, 1:-1], b[1:-1, 1:-1], atol=1e-12)
    np.testing.assert_allclose(y[0, 1:-1], b[0, 1:-1] / 2, atol=1e-12)
    np.testing.assert_allclose(y[0, 0], b[0, 0] / 4, atol=1e-12)


def test_single_sample_mask_semantics():
    # A background patch is valid iff its 3x3 window of the downsampled mask is hole-free.
    f = np.random.randn(8, 8, 2)
    holes = np.zeros((8, 8, 1))
    holes[2:4, 2:4] = 1  # rate 2: downsampled pixel (1, 1) only
    _, _, weights = ref.contextual_attention_single(f, f, holes, rate=2, return_weights=True)
    valid = (weights.reshape(16, 16) != 0).any(axis=0).reshape(4, 4)
    expected = np.ones((4, 4), bool)
    expected[0:3, 0:3] = False
    np.testing.assert_array_equal(valid, expected)
