"""Tests for gi_tf/training/losses.py against closed forms and NumPy derivations."""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.training import losses


def _box_weights_loop(height, width, gamma):
    """The released spatial_discounting_mask, written as a plain double loop."""
    out = np.ones((height, width))
    for i in range(height):
        for j in range(width):
            out[i, j] = max(gamma ** min(i, height - i), gamma ** min(j, width - j))
    return out


def _chessboard_distance(holes):
    """Brute-force chessboard distance of each hole pixel to the nearest known pixel."""
    known = np.argwhere(holes == 0)
    out = np.zeros(holes.shape)
    for i, j in np.argwhere(holes == 1):
        out[i, j] = np.min(np.maximum(abs(known[:, 0] - i), abs(known[:, 1] - j)))
    return out


@pytest.mark.parametrize("height,width,gamma", [(8, 6, 0.9), (16, 16, 0.5), (5, 9, 1.0)])
def test_box_discount_weights_match_released_loop(height, width, gamma):
    weights = losses.box_discount_weights(height, width, gamma).numpy()
    assert weights.shape == (1, height, width, 1)
    np.testing.assert_allclose(weights[0, ..., 0], _box_weights_loop(height, width, gamma),
                               rtol=1e-6)


def test_box_discount_weights_released_size_centre_and_asymmetry():
    weights = losses.box_discount_weights(128, 128, 0.9).numpy()[0, ..., 0]
    np.testing.assert_allclose(weights[64, 64], 0.9 ** 64, rtol=1e-5)
    assert weights[0, 64] == 1.0 and np.isclose(weights[127, 64], 0.9)


def test_distance_weights_of_interior_box_are_shifted_box_form():
    holes = np.zeros((1, 12, 14, 1), np.float32)
    holes[0, 2:9, 3:12] = 1.0
    gamma = 0.8
    weights = losses.distance_discount_weights(holes, gamma).numpy()[0, ..., 0]
    h, w = 7, 9
    i, j = np.mgrid[0:h, 0:w]
    expected = np.zeros((12, 14))
    expected[2:9, 3:12] = gamma ** np.minimum.reduce([i + 1, h - i, j + 1, w - j])
    np.testing.assert_allclose(weights, expected, rtol=1e-5)


def test_hole_distance_matches_brute_force_for_irregular_masks_in_graph():
    rng = np.random.default_rng(0)
    holes = np.zeros((3, 12, 12, 1), np.float32)
    holes[0, 1:9, 2:11] = 1.0
    holes[0, 4:6, 0:3] = 1.0
    holes[1] = (rng.uniform(size=(12, 12, 1)) < 0.7)
    holes[2, :, :6] = 1.0  # touches the image border: the border is not a known pixel
    fn = tf.function(losses.hole_distance,
                     input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)])
    distance = fn(holes).numpy()
    for b in range(3):
        np.testing.assert_array_equal(distance[b, ..., 0], _chessboard_distance(holes[b, ..., 0]))


def test_full_hole_gets_capped_distance_and_no_nan():
    holes = np.zeros((2, 5, 7, 1), np.float32)
    holes[0] = 1.0
    holes[1, 2, 3] = 1.0
    distance = losses.hole_distance(holes).numpy()
    np.testing.assert_array_equal(distance[0], np.full((5, 7, 1), 7.0))
    assert distance[1, 2, 3, 0] == 1.0 and distance[1].sum() == 1.0
    weights = losses.distance_discount_weights(holes, 0.5).numpy()
    np.testing.assert_allclose(weights[0], 0.5 ** 7)


def test_discounted_hole_l1_constant_images_use_exact_weight_mean():
    gamma, h, w = 0.9, 16, 12
    weights = losses.box_discount_weights(h, w, gamma)
    mean_weight = _box_weights_loop(h, w, gamma).mean()
    real = tf.fill([2, h, w, 3], 0.5)
    coarse = tf.fill([2, h, w, 3], 0.1)
    refined = tf.fill([2, h, w, 3], -0.3)
    loss = losses.discounted_hole_l1(real, coarse, refined, weights, coarse_weight=1.2)
    np.testing.assert_allclose(float(loss), 1.2 * 0.4 * mean_weight + 0.8 * mean_weight,
                               rtol=1e-5)
    coarse_only = losses.discounted_hole_l1(real, coarse, None, weights)
    np.testing.assert_allclose(float(coarse_only), 1.2 * 0.4 * mean_weight, rtol=1e-5)


def test_discounted_hole_l1_with_per_sample_free_form_weights_matches_numpy():
    rng = np.random.default_rng(1)
    real, coarse, refined = (rng.uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
                             for _ in range(3))
    weights = rng.uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)
    expected = (1.5 * np.mean(np.abs(real - coarse) * weights)
                + np.mean(np.abs(real - refined) * weights))
    loss = losses.discounted_hole_l1(real, coarse, refined, weights, coarse_weight=1.5)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_known_region_l1_matches_numpy_with_per_sample_masks():
    rng = np.random.default_rng(2)
    real, coarse, refined = (rng.uniform(-1, 1, (3, 8, 8, 3)).astype(np.float32)
                             for _ in range(3))
    holes = (rng.uniform(size=(3, 8, 8, 1)) < 0.4).astype(np.float32)
    known = 1 - holes
    expected = (1.2 * np.mean(np.abs(real - coarse) * known)
                + np.mean(np.abs(real - refined) * known)) / np.mean(known)
    loss = losses.known_region_l1(real, coarse, refined, holes)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_known_region_l1_constant_error_is_independent_of_shared_mask():
    holes = np.zeros((1, 8, 8, 1), np.float32)
    holes[:, 2:6, 1:7] = 1.0
    real = tf.zeros([4, 8, 8, 3])
    loss = losses.known_region_l1(real, real + 0.25, real - 0.5, holes)
    np.testing.assert_allclose(float(loss), 1.2 * 0.25 + 0.5, rtol=1e-6)


def test_known_region_l1_full_hole_is_zero_with_finite_gradients():
    real = tf.zeros([2, 4, 4, 3])
    coarse = tf.Variable(tf.ones([2, 4, 4, 3]))
    with tf.GradientTape() as tape:
        loss = losses.known_region_l1(real, coarse, coarse, tf.ones([2, 4, 4, 1]))
    grad = tape.gradient(loss, coarse)
    assert float(loss) == 0.0
    assert np.all(np.isfinite(grad.numpy()))


def test_wasserstein_losses():
    real = tf.constant([[1.0], [3.0]])
    fake = tf.constant([[-2.0], [0.0], [1.0]])
    np.testing.assert_allclose(float(losses.wasserstein_critic_loss(real, fake)), -1 / 3 - 2)
    np.testing.assert_allclose(float(losses.wasserstein_generator_loss(fake)), 1 / 3)


def test_random_interpolates_use_one_alpha_per_sample():
    real = tf.zeros([3, 2, 2, 1])
    fake = tf.ones([3, 2, 2, 1]) * 4.0
    alpha = tf.constant([0.0, 0.25, 1.0])[:, None, None, None]
    out = losses.random_interpolates(real, fake, alpha).numpy()
    np.testing.assert_allclose(out[:, 0, 0, 0], [0.0, 1.0, 4.0])
    assert np.all(out == out[:, :1, :1, :])


def _linear_critic_setup(seed=3):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 0.2, (1, 6, 6, 2)).astype(np.float32)
    holes = np.zeros((2, 6, 6, 1), np.float32)
    holes[0, 1:4, 2:5] = 1.0
    holes[1, 3:6, 0:6] = 1.0
    real = rng.uniform(-1, 1, (2, 6, 6, 2)).astype(np.float32)
    fake = rng.uniform(-1, 1, (2, 6, 6, 2)).astype(np.float32)
    return c, holes, real, fake


def test_masked_gradient_penalty_with_linear_critic_closed_form():
    c, holes, real, fake = _linear_critic_setup()
    slopes = np.sqrt(np.sum(c ** 2 * holes, axis=(1, 2, 3)))
    expected = np.mean((slopes - 1.0) ** 2)
    critic = lambda x: tf.reduce_sum(c * x, axis=[1, 2, 3])[:, None]  # noqa: E731
    for alpha in ([0.0, 1.0], [0.3, 0.9]):
        alpha = tf.constant(alpha)[:, None, None, None]
        penalty = losses.gradient_penalty(critic, real, fake, holes, alpha)
        np.testing.assert_allclose(float(penalty), expected, rtol=1e-5)
    grads = np.broadcast_to(c, real.shape)
    direct = losses.masked_gradient_penalty(grads, holes)
    np.testing.assert_allclose(float(direct), expected, rtol=1e-5)
    unmasked = losses.masked_gradient_penalty(grads, None, target_norm=0.5)
    np.testing.assert_allclose(float(unmasked), (np.sqrt(np.sum(c ** 2)) - 0.5) ** 2, rtol=1e-5)


def test_gradient_penalty_double_backprop_to_critic_weights():
    c, holes, real, fake = _linear_critic_setup(4)
    weights = tf.Variable(c)
    alpha = tf.constant([0.5, 0.5])[:, None, None, None]
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(
            lambda x: tf.reduce_sum(weights * x, axis=[1, 2, 3]), real, fake, holes, alpha)
    grad = tape.gradient(penalty, weights).numpy()
    # d/dc mean_b (s_b - 1)^2 with s_b = sqrt(sum c^2 m_b) is mean_b 2 (s_b - 1) c m_b / s_b.
    slopes = np.sqrt(np.sum(c ** 2 * holes, axis=(1, 2, 3), keepdims=True))
    expected = np.mean(2 * (slopes - 1) * c * holes / slopes, axis=0, keepdims=True)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


def test_masked_gradient_penalty_zero_gradients_are_finite():
    gradients = tf.Variable(tf.zeros([2, 4, 4, 3]))
    with tf.GradientTape() as tape:
        penalty = losses.masked_gradient_penalty(gradients, tf.ones([1, 4, 4, 1]))
    grad = tape.gradient(penalty, gradients)
    np.testing.assert_allclose(float(penalty), 1.0, atol=1e-5)
    assert np.all(np.isfinite(grad.numpy()))
