"""Convolution building blocks of the DeepFill v1 networks, and their spec lists.

The released code builds its networks from three helpers: ``gen_conv`` (a 2-D
convolution with bias, zero "SAME" padding, ELU unless stated), ``gen_deconv``
(nearest x2 upsampling then a ``gen_conv``) and ``dis_conv`` (5x5, stride 2,
leaky ReLU 0.2). Here a network is a list of :class:`ConvSpec` rows built in a loop,
and every Keras layer takes the name of the original TF1 variable scope, so that
importing the authors' checkpoints is a lookup table (see ``gi_tf.tf1.checkpoint``).

Keras' ``padding="same"`` on TF (and JAX) pads stride-2 convolutions asymmetrically
(0 before, 1 after for a 3x3 kernel on an even input), exactly like TF1.
"""

import dataclasses

import keras


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    """One generator convolution.

    Attributes:
        name: the original TF1 scope (``conv1``, ``xconv4_downsample``...).
        filters: output channels.
        kernel: kernel size.
        stride: stride (1 or 2).
        dilation: dilation rate.
        activation: ``"elu"``, ``"relu"`` or ``None`` (linear).
        upsample: if True the block is a ``gen_deconv`` (nearest x2 first).
    """

    name: str
    filters: int
    kernel: int = 3
    stride: int = 1
    dilation: int = 1
    activation: str = "elu"
    upsample: bool = False


@keras.saving.register_keras_serializable(package="gi_tf")
class GenConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` whose stride-1 gradient is cheaper on TensorFlow.

    Same weights, same forward ops, same values. On the TensorFlow backend a stride-1
    "same" convolution with bias and an ``"elu"``, ``"relu"`` or linear activation runs
    :func:`gi_tf.layers.conv_gradients.conv_bias_activation`: its input gradient is a
    forward convolution with the flipped kernel instead of ``Conv2DBackpropInput``
    (1.5-2.5x faster on CPU for the generator's shapes; equal to float32 rounding).
    Everything else (strides 2, other backends, ``fast_gradient=False``) is the plain
    ``Conv2D``.

    Args:
        *args: ``keras.layers.Conv2D`` arguments.
        fast_gradient: bool, use the hand-written gradient where it applies (default
            True); False is Keras' own ``Conv2D`` everywhere (the reference).
        **kwargs: ``keras.layers.Conv2D`` keyword arguments.
    """

    def __init__(self, *args, fast_gradient=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fast_gradient = bool(fast_gradient)
        name = keras.activations.serialize(self.activation)
        self._activation_name = name if isinstance(name, str) else None

    def _fast_path(self):
        return (self.fast_gradient and keras.backend.backend() == "tensorflow"
                and tuple(self.strides) == (1, 1) and self.padding == "same"
                and self.use_bias and self.data_format == "channels_last"
                and all(k % 2 for k in self.kernel_size)
                and self._activation_name in ("linear", "elu", "relu"))

    def call(self, inputs):
        if not self._fast_path():
            return super().call(inputs)
        from gi_tf.layers.conv_gradients import conv_bias_activation  # TensorFlow only

        dtype = self.compute_dtype
        activation = None if self._activation_name == "linear" else self._activation_name
        return conv_bias_activation(
            keras.ops.cast(inputs, dtype), keras.ops.cast(self.kernel, dtype),
            keras.ops.cast(self.bias, dtype), self.dilation_rate[0], activation)

    def get_config(self):
        config = super().get_config()
        config.update({"fast_gradient": self.fast_gradient})
        return config


def make_conv(spec, dtype=None, fast_gradient=True):
    """The ``gen_conv`` of one spec row: a :class:`GenConv2D` named after the TF1 scope."""
    return GenConv2D(
        spec.filters,
        spec.kernel,
        strides=spec.stride,
        dilation_rate=spec.dilation,
        padding="same",
        activation=spec.activation,
        name=spec.name,
        dtype=dtype,
        fast_gradient=fast_gradient,
    )


@keras.saving.register_keras_serializable(package="gi_tf")
class GenDeconv(keras.layers.Layer):
    """``gen_deconv``: nearest-neighbour x2 upsampling, then a 3x3 ELU convolution.

    The inner convolution is named ``<name>_conv`` as in the released code, so its TF1
    variables are ``inpaint_net/<name>/<name>_conv/{kernel,bias}``. For an exact x2
    factor the original's align-corners nearest resize is plain pixel duplication,
    which is what ``UpSampling2D(interpolation="nearest")`` does.

    Args:
        filters: int, output channels.
        **kwargs: base layer arguments; ``name`` should be the TF1 scope.

    Call arguments:
        inputs: float tensor ``[B, H, W, C]``.

    Returns:
        float tensor ``[B, 2H, 2W, filters]``.

    Example:
        >>> import numpy as np
        >>> tuple(GenDeconv(8, name="conv13_upsample")(np.zeros((1, 4, 4, 2), "float32")).shape)
        (1, 8, 8, 8)
    """

    def __init__(self, filters, fast_gradient=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.fast_gradient = bool(fast_gradient)
        self.upsample = keras.layers.UpSampling2D(
            2, interpolation="nearest", name="upsample", dtype=self.dtype_policy
        )
        self.conv = GenConv2D(
            self.filters,
            3,
            padding="same",
            activation="elu",
            name=f"{self.name}_conv",
            dtype=self.dtype_policy,
            fast_gradient=self.fast_gradient,
        )

    def build(self, input_shape):
        self.upsample.build(input_shape)
        up_shape = self.upsample.compute_output_shape(input_shape)
        self.conv.build(up_shape)
        self.built = True

    def call(self, inputs):
        conv = self.conv
        if conv._fast_path():  # TensorFlow: 4/9 of the arithmetic, same result
            # lazy: TensorFlow only; the layers stay backend-neutral (JAX)
            from gi_tf.layers.conv_gradients import upsample_conv_bias_activation

            dtype = conv.compute_dtype
            return upsample_conv_bias_activation(
                keras.ops.cast(inputs, dtype), keras.ops.cast(conv.kernel, dtype),
                keras.ops.cast(conv.bias, dtype), "elu")
        return conv(self.upsample(inputs))

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(self.upsample.compute_output_shape(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "fast_gradient": self.fast_gradient})
        return config


def block_flops(block, height, width):
    """FLOPs (multiply-add = 2) one sample's ``height x width`` input costs ``block``.

    A ``GenDeconv`` on the phase path is one VALID 2x2 convolution with ``4 * C_out``
    outputs over the source padded by one pixel (``(height + 1) x (width + 1)`` outputs);
    every other block its nominal SAME convolution.
    """
    conv = getattr(block, "conv", block)
    k = conv.kernel.shape  # [k, k, C_in, C_out]
    if isinstance(block, GenDeconv) and conv._fast_path():
        return 2 * 4 * k[2] * 4 * k[3] * (height + 1) * (width + 1)
    up = 2 if isinstance(block, GenDeconv) else 1
    out_h, out_w = -(-height * up // conv.strides[0]), -(-width * up // conv.strides[1])
    return 2 * k[0] * k[1] * k[2] * k[3] * out_h * out_w


def work_fraction(block):
    """Share of a block's nominal convolution FLOPs (k*k*C_in*C_out per output pixel) that
    it computes: 4/9 for a ``GenDeconv`` on the phase path (each 3x3 window of the x2
    upsampled input reads 2x2 source pixels), else 1."""
    if isinstance(block, GenDeconv) and block.conv._fast_path():
        return 4.0 / 9.0
    return 1.0


def make_block(spec, dtype=None, fast_gradient=True):
    """A Keras layer for one spec row (``GenDeconv`` for upsampling rows)."""
    if spec.upsample:
        return GenDeconv(spec.filters, name=spec.name, dtype=dtype, fast_gradient=fast_gradient)
    return make_conv(spec, dtype=dtype, fast_gradient=fast_gradient)


def make_critic_conv(filters, name, dtype=None):
    """The convolution of ``dis_conv``: 5x5, stride 2, SAME, with bias, linear.

    The critic applies ``leaky_relu(x, 0.2)`` after it (:data:`CRITIC_SLOPE`); Keras 3's
    ``LeakyReLU`` layer defaults to 0.3, TF1's ``tf.nn.leaky_relu`` to 0.2.
    """
    return keras.layers.Conv2D(
        filters, 5, strides=2, padding="same", activation=None, name=name, dtype=dtype
    )


CRITIC_SLOPE = 0.2
