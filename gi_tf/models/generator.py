"""The DeepFill v1 generator: coarse network + refinement network with contextual attention.

Follows the released code (``inpaint_model.py``: ``InpaintCAModel.build_inpaint_net``,
JiahuiYu/generative_inpainting v1.0.0): 5-channel inputs (incomplete image, ones, ones x
mask), ELU everywhere except pmconv6 (ReLU) and the two output convolutions (linear,
then a hard clip to [-1, 1] rather than tanh), zero "SAME" padding, the coarse
result pasted into the hole before refinement, and two refinement encoders (dilated
``xconv*`` and attention ``pmconv*``) concatenated at 1/4 resolution. Layer names are
the TF1 scopes. 3,601,542 parameters (the paper's "2.9M" does not match the released
code; see WORKSPACE.md).
"""

import keras
from keras import ops

from gi_tf.layers.contextual_attention import ContextualAttention
from gi_tf.layers.conv_blocks import ConvSpec as C
from gi_tf.layers.conv_blocks import make_block
from gi_tf.layers.resizing import resize_nearest_align_corners

CNUM = 32

COARSE = (
    C("conv1", CNUM, 5),
    C("conv2_downsample", 2 * CNUM, 3, 2),
    C("conv3", 2 * CNUM),
    C("conv4_downsample", 4 * CNUM, 3, 2),
    C("conv5", 4 * CNUM),
    C("conv6", 4 * CNUM),
    C("conv7_atrous", 4 * CNUM, dilation=2),
    C("conv8_atrous", 4 * CNUM, dilation=4),
    C("conv9_atrous", 4 * CNUM, dilation=8),
    C("conv10_atrous", 4 * CNUM, dilation=16),
    C("conv11", 4 * CNUM),
    C("conv12", 4 * CNUM),
    C("conv13_upsample", 2 * CNUM, upsample=True),
    C("conv14", 2 * CNUM),
    C("conv15_upsample", CNUM, upsample=True),
    C("conv16", CNUM // 2),
    C("conv17", 3, activation=None),
)
# The coarse mask for the attention branch is taken at conv6's resolution (1/4).
HALLUCINATION = (
    C("xconv1", CNUM, 5),
    C("xconv2_downsample", CNUM, 3, 2),
    C("xconv3", 2 * CNUM),
    C("xconv4_downsample", 2 * CNUM, 3, 2),
    C("xconv5", 4 * CNUM),
    C("xconv6", 4 * CNUM),
    C("xconv7_atrous", 4 * CNUM, dilation=2),
    C("xconv8_atrous", 4 * CNUM, dilation=4),
    C("xconv9_atrous", 4 * CNUM, dilation=8),
    C("xconv10_atrous", 4 * CNUM, dilation=16),
)
ATTENTION_ENCODER = (
    C("pmconv1", CNUM, 5),
    C("pmconv2_downsample", CNUM, 3, 2),
    C("pmconv3", 2 * CNUM),
    C("pmconv4_downsample", 4 * CNUM, 3, 2),
    C("pmconv5", 4 * CNUM),
    C("pmconv6", 4 * CNUM, activation="relu"),
)
ATTENTION_DECODER = (C("pmconv9", 4 * CNUM), C("pmconv10", 4 * CNUM))
MERGE_DECODER = (
    C("allconv11", 4 * CNUM),
    C("allconv12", 4 * CNUM),
    C("allconv13_upsample", 2 * CNUM, upsample=True),
    C("allconv14", 2 * CNUM),
    C("allconv15_upsample", CNUM, upsample=True),
    C("allconv16", CNUM // 2),
    C("allconv17", 3, activation=None),
)
SIZE_MULTIPLE = 8


def _run(layers, x):
    for layer in layers:
        x = layer(x)
    return x


# Keras 3 does not give tf.train.Checkpoint the layers held in Python lists, so every
# block is an attribute named after its TF1 scope; these tuples only fix the order.
def _names(specs):
    return tuple(spec.name for spec in specs)


def _build_stack(layers, shape):
    for layer in layers:
        layer.build(shape)
        shape = layer.compute_output_shape(shape)
    return shape


@keras.saving.register_keras_serializable(package="gi_tf")
class InpaintGenerator(keras.Model):
    """DeepFill v1 generator (Yu et al., CVPR 2018, Fig. 2), with the released code's numerics.

    Args:
        use_attention: bool, build the contextual-attention branch (default True).
            False gives the paper's "baseline" (dilated branch only) used for ablation.
        attention_implementation: ``"batched"`` (default) or ``"literal"``; see
            :class:`gi_tf.layers.ContextualAttention`.
        attention_chunk_elements: optional int bounding the attention's score memory
            (entries held at once; large images are processed in foreground row chunks,
            same result). ``None`` = never chunk (training default).
        fast_gradients: bool, give the stride-1 convolutions the hand-written input
            gradient of :class:`gi_tf.layers.conv_blocks.GenConv2D` on TensorFlow
            (default True: faster training, same values to float32 rounding; the forward
            pass is unchanged).
        **kwargs: base ``keras.Model`` arguments.

    Call arguments:
        image: float32 ``[N, H, W, 3]`` RGB in [-1, 1]; H and W multiples of 8. Hole
            pixels are ignored (the generator zeroes them itself).
        holes: float32 ``[N, H, W, 1]``, 1 = hole, one mask per sample.

    Returns:
        ``(coarse, refined, offsets)``: coarse and refined predictions float
        ``[N, H, W, 3]`` in [-1, 1] (raw, not pasted), and the attention ``offsets``
        int32 ``[N, H/8, W/8, 2]`` (zeros when ``use_attention`` is False).

    Example:
        >>> import numpy as np
        >>> gen = InpaintGenerator()
        >>> image = np.zeros((1, 32, 32, 3), "float32")
        >>> holes = np.zeros((1, 32, 32, 1), "float32"); holes[:, 8:24, 8:24] = 1
        >>> coarse, refined, offsets = gen(image, holes)
        >>> tuple(refined.shape), tuple(offsets.shape)
        ((1, 32, 32, 3), (1, 4, 4, 2))
    """

    def __init__(
        self,
        use_attention=True,
        attention_implementation="batched",
        attention_chunk_elements=None,
        fast_gradients=True,
        **kwargs,
    ):
        kwargs.setdefault("name", "inpaint_net")
        super().__init__(**kwargs)
        self.use_attention = bool(use_attention)
        self.attention_implementation = attention_implementation
        self.attention_chunk_elements = attention_chunk_elements
        self.fast_gradients = bool(fast_gradients)
        stacks = [COARSE, HALLUCINATION, MERGE_DECODER]
        if self.use_attention:
            stacks += [ATTENTION_ENCODER, ATTENTION_DECODER]
            self.contextual_attention = ContextualAttention(
                ksize=3, stride=1, rate=2, implementation=attention_implementation,
                chunk_elements=attention_chunk_elements,
                name="contextual_attention", dtype=self.dtype_policy,
            )
        for specs in stacks:
            for spec in specs:
                setattr(self, spec.name,
                        make_block(spec, self.dtype_policy, fast_gradient=self.fast_gradients))

    def _stack(self, specs):
        return [getattr(self, name) for name in _names(specs)]

    @property
    def coarse_layers(self):
        return self._stack(COARSE)

    @property
    def hallucination_layers(self):
        return self._stack(HALLUCINATION)

    @property
    def attention_encoder(self):
        return self._stack(ATTENTION_ENCODER)

    @property
    def attention_decoder(self):
        return self._stack(ATTENTION_DECODER)

    @property
    def merge_layers(self):
        return self._stack(MERGE_DECODER)

    def build(self, image_shape=None, holes_shape=None):
        inputs = (None, None, None, 5)
        _build_stack(self.coarse_layers, inputs)
        features = _build_stack(self.hallucination_layers, inputs)
        if self.use_attention:
            _build_stack(self.attention_encoder, inputs)
            self.contextual_attention.build(features)
            _build_stack(self.attention_decoder, features)
            features = features[:3] + (2 * features[3],)
        _build_stack(self.merge_layers, features)
        self.built = True

    def conv_layers(self):
        """``{TF1 scope: Conv2D}`` of every convolution.

        E.g. ``"conv13_upsample/conv13_upsample_conv"``.
        """
        stacks = [self.coarse_layers, self.hallucination_layers, self.merge_layers]
        if self.use_attention:
            stacks += [self.attention_encoder, self.attention_decoder]
        table = {}
        for stack in stacks:
            for layer in stack:
                if hasattr(layer, "conv"):
                    table[f"{layer.name}/{layer.conv.name}"] = layer.conv
                else:
                    table[layer.name] = layer
        return table

    def call(self, image, holes, training=None):
        holes = ops.cast(holes, self.compute_dtype)
        image = ops.cast(image, self.compute_dtype)
        incomplete = image * (1.0 - holes)
        ones = ops.ones_like(holes)
        coarse_in = ops.concatenate([incomplete, ones, ones * holes], axis=-1)

        x = _run(self.coarse_layers[:6], coarse_in)  # conv1..conv6, 1/4 resolution
        feature_shape = ops.shape(x)
        holes_small = resize_nearest_align_corners(holes, feature_shape[1], feature_shape[2])
        x = _run(self.coarse_layers[6:], x)
        coarse = ops.clip(x, -1.0, 1.0)

        pasted = coarse * holes + incomplete * (1.0 - holes)
        refine_in = ops.concatenate([pasted, ones, ones * holes], axis=-1)
        x = _run(self.hallucination_layers, refine_in)
        if self.use_attention:
            pm = _run(self.attention_encoder, refine_in)
            pm, offsets = self.contextual_attention(pm, pm, holes_small)
            pm = _run(self.attention_decoder, pm)
            x = ops.concatenate([x, pm], axis=-1)
        else:
            shape = ops.shape(image)
            offsets = ops.zeros((shape[0], shape[1] // 8, shape[2] // 8, 2), "int32")
        refined = ops.clip(_run(self.merge_layers, x), -1.0, 1.0)
        return coarse, refined, offsets

    def compute_output_shape(self, image_shape, holes_shape=None):
        n, h, w, _ = image_shape
        small = [None if d is None else d // 8 for d in (h, w)]
        return (n, h, w, 3), (n, h, w, 3), (n, small[0], small[1], 2)

    def compute_output_spec(self, image, holes=None, training=None):
        # The default spec would give the int32 offsets the float compute dtype.
        coarse, refined, offsets = self.compute_output_shape(tuple(image.shape))
        return (
            keras.KerasTensor(coarse, dtype=self.compute_dtype),
            keras.KerasTensor(refined, dtype=self.compute_dtype),
            keras.KerasTensor(offsets, dtype="int32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "use_attention": self.use_attention,
                "attention_implementation": self.attention_implementation,
                "attention_chunk_elements": self.attention_chunk_elements,
                "fast_gradients": self.fast_gradients,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_generator(
    use_attention=True, attention_implementation="batched", attention_chunk_elements=None,
    dtype=None, fast_gradients=True,
):
    """A built :class:`InpaintGenerator` (weights created, ready to restore or train)."""
    generator = InpaintGenerator(
        use_attention=use_attention,
        attention_implementation=attention_implementation,
        attention_chunk_elements=attention_chunk_elements,
        fast_gradients=fast_gradients,
        dtype=dtype,
    )
    generator.build((None, None, None, 3), (None, None, None, 1))
    return generator
