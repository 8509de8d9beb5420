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


def make_conv(spec, dtype=None):
    """The ``gen_conv`` of one spec row: a Keras ``Conv2D`` named after the TF1 scope."""
    return keras.layers.Conv2D(
        spec.filters,
        spec.kernel,
        strides=spec.stride,
        dilation_rate=spec.dilation,
        padding="same",
        activation=spec.activation,
        name=spec.name,
        dtype=dtype,
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
        >>> GenDeconv(8, name="conv13_upsample")(np.zeros((1, 4, 4, 2), "float32")).shape
        (1, 8, 8, 8)
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.upsample = keras.layers.UpSampling2D(
            2, interpolation="nearest", name="upsample", dtype=self.dtype_policy
        )
        self.conv = keras.layers.Conv2D(
            self.filters,
            3,
            padding="same",
            activation="elu",
            name=f"{self.name}_conv",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.upsample.build(input_shape)
        up_shape = self.upsample.compute_output_shape(input_shape)
        self.conv.build(up_shape)
        self.built = True

    def call(self, inputs):
        return self.conv(self.upsample(inputs))

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(self.upsample.compute_output_shape(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters})
        return config


def make_block(spec, dtype=None):
    """A Keras layer for one spec row (``GenDeconv`` for upsampling rows)."""
    if spec.upsample:
        return GenDeconv(spec.filters, name=spec.name, dtype=dtype)
    return make_conv(spec, dtype=dtype)


def make_critic_conv(filters, name, dtype=None):
    """The convolution of ``dis_conv``: 5x5, stride 2, SAME, with bias, linear.

    The critic applies ``leaky_relu(x, 0.2)`` after it (:data:`CRITIC_SLOPE`); Keras 3's
    ``LeakyReLU`` layer defaults to 0.3, TF1's ``tf.nn.leaky_relu`` to 0.2.
    """
    return keras.layers.Conv2D(
        filters, 5, strides=2, padding="same", activation=None, name=name, dtype=dtype
    )


CRITIC_SLOPE = 0.2
