"""Hand-written gradients that TensorFlow's automatic ones compute slowly on CPU (TF only).

Both functions give the values of TensorFlow's own gradients up to float32 summation
order; they exist for speed (docs/benchmarks.md, "Training"). Import them inside a
TensorFlow-backend branch only.

* :func:`conv_bias_activation` - a stride-1 "SAME" convolution with bias and activation
  whose input gradient is a forward convolution with the flipped kernel. TensorFlow's
  CPU ``Conv2DBackpropInput`` (oneDNN off, the default on AMD CPUs) runs 1.5-2.5x slower
  than ``Conv2D`` on the generator's shapes; for stride 1 and an odd kernel the input
  gradient *is* a stride-1 convolution of the output gradient with the kernel rotated by
  180 degrees and its channel axes swapped, same dilation, same padding.
* :func:`leaky_relu_critic_input_gradient` - ``d sum(critic(x)) / dx`` of a stack of
  convolutions + leaky ReLU + dense(1), written as the backward pass it is, with the
  leaky-ReLU slopes held constant. The slopes are piecewise constant, so their
  derivative is zero almost everywhere; TensorFlow's double backward of the gradient
  penalty nevertheless back-propagates those zeros through every convolution of the
  penalty's forward pass (``LeakyReluGrad``'s gradient returns ``zeros_like(features)``),
  a full backward pass of the critic that adds exact zeros. Stopping the gradient at
  the slopes removes that pass and changes no value.
"""

import tensorflow as tf

ACTIVATIONS = (None, "linear", "elu", "relu")


def conv_bias_activation(inputs, kernel, bias, dilation=1, activation=None):
    """``activation(conv2d(inputs, kernel, stride 1, SAME, dilation) + bias)``.

    The forward pass is the ops Keras' ``Conv2D`` runs (so TensorFlow still fuses
    convolution, bias and activation); the gradient is written by hand (module docstring).

    Args:
        inputs: float ``[N, H, W, C_in]``.
        kernel: float ``[k, k, C_in, C_out]`` with ``k`` odd.
        bias: float ``[C_out]``.
        dilation: int dilation rate.
        activation: one of :data:`ACTIVATIONS`.

    Returns:
        float ``[N, H, W, C_out]``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
    inputs, kernel, bias = (tf.convert_to_tensor(t) for t in (inputs, kernel, bias))
    if kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(f"the kernel must have odd sides; got {tuple(kernel.shape[:2])}")

    @tf.custom_gradient
    def forward(x, w, b):
        z = tf.nn.bias_add(tf.nn.convolution(x, w, 1, "SAME", dilations=dilation), b)
        if activation == "elu":
            y = tf.nn.elu(z)
        elif activation == "relu":
            y = tf.nn.relu(z)
        else:
            y = z

        def backward(dy):
            if activation == "elu":
                dz = tf.raw_ops.EluGrad(gradients=dy, outputs=y)
            elif activation == "relu":
                dz = tf.raw_ops.ReluGrad(gradients=dy, features=y)
            else:
                dz = dy
            db = tf.reduce_sum(dz, axis=(0, 1, 2))
            flipped = tf.transpose(tf.reverse(w, axis=(0, 1)), (0, 1, 3, 2))
            dx = tf.nn.convolution(dz, flipped, 1, "SAME", dilations=dilation)
            # The kernel gradient as TensorFlow computes it (for dilations > 1 its CPU
            # Conv2DBackpropFilter has no kernel; tf.nn.convolution's own gradient does);
            # the re-traced forward convolution is unused and pruned from the graph.
            with tf.GradientTape() as tape:
                tape.watch(w)
                again = tf.nn.convolution(x, w, 1, "SAME", dilations=dilation)
            dw = tape.gradient(again, w, output_gradients=dz)
            return dx, dw, db

        return y, backward

    return forward(inputs, kernel, bias)


def leaky_relu_critic_input_gradient(images, convs, dense_kernel, slope, dtype):
    """``d sum(critic(images)) / d images`` for ``dense(flatten(f(images)))``.

    ``f`` is ``convs`` in order, each followed by ``leaky_relu(., slope)``; the critic's
    output is ``flatten(f(images)) @ dense_kernel + bias``. Differentiable in the
    convolutions' kernels and ``dense_kernel`` (the gradient penalty's outer gradient);
    the slopes' pattern is constant (module docstring).

    Args:
        images: float ``[N, H, W, C]``.
        convs: the critic's ``keras.layers.Conv2D`` layers (linear, with bias).
        dense_kernel: float ``[F, 1]``, ``F`` = the flattened size of the last features.
        slope: the leaky ReLU's negative slope.
        dtype: the critic's compute dtype.

    Returns:
        float ``[N, H, W, C]`` in ``dtype``.
    """
    x = tf.cast(images, dtype)
    stages = []
    for conv in convs:
        z = conv(x)
        stages.append((conv, tf.shape(x), tf.stop_gradient(z)))
        # The select form of leaky_relu (the same values): with a LeakyRelu op here,
        # Grappler's remapper fuses Conv2D + BiasAdd + LeakyRelu, deletes the BiasAdd and
        # then fails on the LeakyReluGrad below that reads it (models/critics.py).
        x = tf.where(z > 0, z, z * tf.cast(slope, z.dtype))
    kernel = tf.cast(dense_kernel, dtype)
    grad = tf.broadcast_to(tf.reshape(kernel[:, 0], tf.concat([[1], tf.shape(x)[1:]], 0)),
                           tf.shape(x))
    for conv, input_shape, z in reversed(stages):
        grad = tf.raw_ops.LeakyReluGrad(gradients=grad, features=z, alpha=slope)
        grad = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=input_shape, filter=tf.cast(conv.kernel, dtype), out_backprop=grad,
            strides=[1, *conv.strides, 1], padding=conv.padding.upper())
    return grad


@tf.custom_gradient
def _conv_valid(x, w):
    """Stride-1 VALID convolution whose input gradient is a forward convolution too."""
    y = tf.nn.convolution(x, w, 1, "VALID")

    def backward(dy):
        kh, kw = w.shape[0], w.shape[1]
        flipped = tf.transpose(tf.reverse(w, axis=(0, 1)), (0, 1, 3, 2))
        padded = tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
        dx = tf.nn.convolution(padded, flipped, 1, "VALID")
        with tf.GradientTape() as tape:
            tape.watch(w)
            again = tf.nn.convolution(x, w, 1, "VALID")
        return dx, tape.gradient(again, w, output_gradients=dy)

    return y, backward


# Which 3x3 taps read the same source pixel after a x2 nearest upsampling: output row
# 2i + p reads upsampled rows 2i + p - 1 .. 2i + p + 1, i.e. source rows (i - 1, i, i)
# for p = 0 and (i, i, i + 1) for p = 1; [p, a, t] = 1 when tap t reads source offset a
# (a = 0: the row above, a = 1: the row itself, on the once-padded source).
_PHASE_TAPS = ((((1, 0, 0), (0, 1, 1))), (((1, 1, 0), (0, 0, 1))))


def upsample_conv_bias_activation(inputs, kernel, bias, activation=None):
    """``activation(conv3x3_same(upsample_nearest_x2(inputs)) + bias)`` in 4/9 of the work.

    After a x2 nearest upsampling each 3x3 window reads only 2x2 distinct source pixels,
    so each of the four output phases (row and column parity) is a 2x2 convolution of the
    once zero-padded source with the taps that read the same pixel summed; the four
    phases are one VALID 2x2 convolution with ``4 * C_out`` outputs, then interleaved.
    Exactly the same sum (the zero padding of the upsampled image is the zero padding of
    the source), with the kernel taps added first: equal to float32 rounding. Bias and
    activation are applied per element before the interleave (the same values as after
    it), which leaves the interleave to one ``depth_to_space`` of the four phases' slices.

    Args:
        inputs: float ``[N, H, W, C_in]``.
        kernel: float ``[3, 3, C_in, C_out]``.
        bias: float ``[C_out]``.
        activation: one of :data:`ACTIVATIONS`.

    Returns:
        float ``[N, 2H, 2W, C_out]``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
    inputs, kernel, bias = (tf.convert_to_tensor(t) for t in (inputs, kernel, bias))
    if tuple(kernel.shape[:2]) != (3, 3):
        raise ValueError(f"the kernel must be 3x3; got {tuple(kernel.shape[:2])}")
    taps = tf.constant(_PHASE_TAPS, kernel.dtype)
    c_in, c_out = kernel.shape[2], kernel.shape[3]
    phases = tf.einsum("pat,qbu,tuio->abipqo", taps, taps, kernel)
    phases = tf.reshape(phases, [2, 2, c_in, 4 * c_out])
    shape = tf.shape(inputs)
    h, w = shape[1], shape[2]
    padded = tf.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]])
    y = _conv_valid(padded, phases)  # [N, H + 1, W + 1, 4 * C_out], channels (p, q, o)
    y = tf.nn.bias_add(y, tf.tile(bias, [4]))
    if activation == "elu":
        y = tf.nn.elu(y)
    elif activation == "relu":
        y = tf.nn.relu(y)
    # Output pixel (2i + p, 2j + q) is phase (p, q) at (i + p, j + q): each phase's
    # shifted slice, in (p, q) order along the channels, is what depth_to_space interleaves.
    parts = [y[:, p:p + h, q:q + w, (2 * p + q) * c_out:(2 * p + q + 1) * c_out]
             for p in (0, 1) for q in (0, 1)]
    return tf.nn.depth_to_space(tf.concat(parts, axis=-1), 2)
