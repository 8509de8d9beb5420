"""WGAN critics of DeepFill v1: a local critic on the hole's box and a global one on the image.

As released (``inpaint_model.py``: ``build_wgan_local_discriminator`` and
``build_wgan_global_discriminator``, v1.0.0): four ``dis_conv`` blocks (5x5, stride 2,
SAME, leaky ReLU 0.2, no normalisation), flatten in NHWC order, a linear dense output.
The local critic ends at 512 channels (64-128-256-512), the global at 256
(64-128-256-256). Layer names are the TF1 scopes (``discriminator_local/conv1``...,
``dout_local_fc``).

The dense layer's input size depends on the image size, so a critic is built for one
input size: 4,339,329 parameters for the 128x128 local critic and 2,733,441 for the
256x256 global critic.
"""

import keras
from keras import ops

from gi_tf.layers.conv_blocks import CRITIC_SLOPE
from gi_tf.layers.conv_blocks import make_critic_conv

CNUM = 64


def leaky_relu(x, slope=CRITIC_SLOPE):
    """``x`` where ``x > 0``, else ``slope * x``: TF1's ``tf.nn.leaky_relu``, forward and
    gradient (``slope`` where ``x <= 0``), without TensorFlow's ``LeakyRelu`` op.

    With oneDNN (TensorFlow's default on CPUs with AVX-512 VNNI and newer), Grappler's
    remapper fuses Conv2D + BiasAdd + LeakyRelu, deletes the BiasAdd, and then fails on
    the ``LeakyReluGrad`` that still reads it ("meta_optimizer.cc ... remapper failed:
    INVALID_ARGUMENT: Mutation::Apply error: fanout ... LeakyReluGrad exist for missing
    node ... BiasAdd", an error-level line in every training run). A select computes the
    same numbers and leaves no such pattern.
    """
    return ops.where(x > 0, x, x * ops.cast(slope, x.dtype))


class _WganCritic(keras.Model):
    """Shared body: four critic convs + flatten + dense(1)."""

    widths = ()
    dense_name = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Attributes, not a list: Keras 3 hides listed layers from tf.train.Checkpoint.
        for i, width in enumerate(self.widths):
            name = f"conv{i + 1}"
            setattr(self, name, make_critic_conv(width, name, self.dtype_policy))
        self.flatten = keras.layers.Flatten(name="flatten", dtype=self.dtype_policy)
        self.dense = keras.layers.Dense(1, name=self.dense_name, dtype=self.dtype_policy)

    @property
    def convs(self):
        return [getattr(self, f"conv{i + 1}") for i in range(len(self.widths))]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        shape = self.flatten.compute_output_shape(shape)
        if shape[-1] is None:
            raise ValueError(
                f"{self.name} needs a static image size to size its dense layer; got {input_shape}"
            )
        self.dense.build(shape)
        self.built = True

    def call(self, images):
        x = images
        for conv in self.convs:
            x = leaky_relu(conv(x))
        return self.dense(self.flatten(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


@keras.saving.register_keras_serializable(package="gi_tf")
class LocalCritic(_WganCritic):
    """WGAN critic on the hole's box (``discriminator_local`` + ``dout_local_fc``).

    Call arguments:
        images: float ``[N, h, w, 3]`` RGB in [-1, 1] (the box crop; 128x128 as released).

    Returns:
        float ``[N, 1]`` critic scores (unbounded).

    Example:
        >>> import numpy as np
        >>> critic = LocalCritic(); critic.build((None, 32, 32, 3))
        >>> tuple(critic(np.zeros((2, 32, 32, 3), "float32")).shape)
        (2, 1)
    """

    widths = (CNUM, 2 * CNUM, 4 * CNUM, 8 * CNUM)
    dense_name = "dout_local_fc"

    def __init__(self, **kwargs):
        kwargs.setdefault("name", "discriminator_local")
        super().__init__(**kwargs)


@keras.saving.register_keras_serializable(package="gi_tf")
class GlobalCritic(_WganCritic):
    """WGAN critic on the whole image (``discriminator_global`` + ``dout_global_fc``).

    Call arguments:
        images: float ``[N, H, W, 3]`` RGB in [-1, 1] (256x256 as released).

    Returns:
        float ``[N, 1]`` critic scores.
    """

    widths = (CNUM, 2 * CNUM, 4 * CNUM, 4 * CNUM)
    dense_name = "dout_global_fc"

    def __init__(self, **kwargs):
        kwargs.setdefault("name", "discriminator_global")
        super().__init__(**kwargs)
