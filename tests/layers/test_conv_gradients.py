"""Tests for gi_tf/layers/conv_gradients.py and its users in conv_blocks.py.

Reference: TensorFlow's automatic gradients of the plain Keras layers (Conv2D,
UpSampling2D + Conv2D, the critic), on small random inputs.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.layers.conv_blocks import CRITIC_SLOPE
from gi_tf.layers.conv_blocks import GenConv2D
from gi_tf.layers.conv_blocks import GenDeconv
from gi_tf.layers.conv_gradients import conv_bias_activation
from gi_tf.layers.conv_gradients import leaky_relu_critic_input_gradient
from gi_tf.layers.conv_gradients import upsample_conv_bias_activation
from gi_tf.models.critics import LocalCritic


def _close(a, b, rtol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= rtol * max(np.max(np.abs(b)), 1.0)


def _loss(y):
    return tf.reduce_sum(y * tf.sin(3.0 * y))  # a non-trivial output gradient


def _value_and_gradients(fn, x, variables):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        loss = _loss(y)
    return y, tape.gradient(loss, [x] + list(variables))


@pytest.mark.parametrize("kernel,dilation,activation", [
    (3, 1, "elu"), (5, 1, "elu"), (3, 4, "elu"), (3, 1, "relu"), (3, 2, None)])
def test_conv_gradient_equals_tensorflows(kernel, dilation, activation):
    keras.utils.set_random_seed(1)
    layer = keras.layers.Conv2D(6, kernel, padding="same", dilation_rate=dilation,
                                activation=activation)
    x = tf.random.normal([2, 13, 10, 5])
    layer(x)
    expected, expected_grads = _value_and_gradients(layer, x, layer.weights)
    got, grads = _value_and_gradients(
        lambda v: conv_bias_activation(v, layer.kernel, layer.bias, dilation, activation),
        x, layer.weights)
    _close(got, expected)
    for grad, ref in zip(grads, expected_grads):
        _close(grad, ref)


def test_gen_conv2d_takes_the_fast_path_only_where_it_applies():
    x = tf.random.normal([1, 8, 8, 4])
    fast = GenConv2D(3, 3, padding="same", activation="elu")
    strided = GenConv2D(3, 3, strides=2, padding="same", activation="elu")
    off = GenConv2D(3, 3, padding="same", activation="elu", fast_gradient=False)
    for layer in (fast, strided, off):
        layer(x)
    assert fast._fast_path() and not strided._fast_path() and not off._fast_path()
    assert GenConv2D.from_config(off.get_config()).fast_gradient is False


@pytest.mark.parametrize("shape", [(2, 5, 7, 6), (1, 1, 1, 3), (1, 8, 8, 4)])
def test_upsample_conv_equals_upsampling_then_conv(shape):
    keras.utils.set_random_seed(2)
    layer = GenDeconv(5, name="conv13_upsample", fast_gradient=False)
    x = tf.random.normal(shape)
    layer(x)
    conv = layer.conv
    expected, expected_grads = _value_and_gradients(layer, x, layer.weights)
    got, grads = _value_and_gradients(
        lambda v: upsample_conv_bias_activation(v, conv.kernel, conv.bias, "elu"),
        x, layer.weights)
    assert got.shape == (shape[0], 2 * shape[1], 2 * shape[2], 5)
    _close(got, expected)
    for grad, ref in zip(grads, expected_grads):
        _close(grad, ref)


def test_upsample_conv_with_unknown_dimensions():
    keras.utils.set_random_seed(3)
    fast, plain = GenDeconv(4, name="u"), GenDeconv(4, name="u", fast_gradient=False)
    x = tf.random.normal([2, 6, 4, 3])
    fast(x), plain(x)
    for a, b in zip(plain.weights, fast.weights):
        a.assign(b)
    traced = tf.function(fast, input_signature=[tf.TensorSpec([None, None, None, 3])])
    _close(traced(x), plain(x))


def test_critic_input_gradient_and_penalty_gradient_equal_tensorflows():
    """First and second order: d critic / dx, and d penalty / d weights."""
    keras.utils.set_random_seed(4)
    critic = LocalCritic()
    critic.build((None, 32, 32, 3))
    x = tf.random.normal([3, 32, 32, 3])

    def automatic(v):
        with tf.GradientTape() as inner:
            inner.watch(v)
            out = critic(v)
        return inner.gradient(out, v)

    def hand(v):
        return leaky_relu_critic_input_gradient(v, critic.convs, critic.dense.kernel,
                                                CRITIC_SLOPE, "float32")

    results = []
    for fn in (automatic, hand):
        with tf.GradientTape() as outer:
            grad = fn(x)
            penalty = tf.reduce_mean((tf.sqrt(tf.reduce_sum(grad ** 2, [1, 2, 3])) - 1.0) ** 2)
        results.append((grad, outer.gradient(penalty, critic.trainable_variables)))
    (hand_grad, hand_weights), (auto_grad, auto_weights) = results[1], results[0]
    _close(hand_grad, auto_grad)
    for variable, a, b in zip(critic.trainable_variables, hand_weights, auto_weights):
        if variable.path.endswith("dout_local_fc/bias"):  # not in the penalty at all
            assert a is None and b is None
        elif variable.path.endswith("bias") and "conv" in variable.path:
            # the conv biases enter the penalty only through the slopes' pattern:
            # zero gradient (the automatic one is zero too, up to rounding, or None: the
            # critics' leaky ReLU is a select, whose gradient ignores its condition)
            assert a is None or np.max(np.abs(a)) == 0.0
            assert b is None or np.max(np.abs(b)) < 1e-6
        else:
            _close(a, b, rtol=1e-4)
