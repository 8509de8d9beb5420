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
from gi_tf.layers.conv_blocks import make_block
from gi_tf.layers.resizing import resize_nearest_align_corners
from gi_tf.models import generator_spec as spec_lib
from gi_tf.models.generator_spec import CNUM, DEEPFILL_V1  # noqa: F401 (public names)

# The released network's stacks (public names; the table is generator_spec.DEEPFILL_V1).
COARSE = DEEPFILL_V1.stage("coarse").layers
HALLUCINATION = DEEPFILL_V1.stage("hallucination").layers
ATTENTION_ENCODER = DEEPFILL_V1.stage("attention_encoder").layers
ATTENTION_DECODER = DEEPFILL_V1.stage("attention_decoder").layers
MERGE_DECODER = DEEPFILL_V1.stage("merge").layers
SIZE_MULTIPLE = 8


def _run(layers, x):
    for layer in layers:
        x = layer(x)
    return x


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
        spec: :class:`gi_tf.models.generator_spec.GeneratorSpec` (or its ``to_config``
            dict): the network's stages and wiring; None = the released DeepFill v1
            (:data:`~gi_tf.models.generator_spec.DEEPFILL_V1`).
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
        spec=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "inpaint_net")
        super().__init__(**kwargs)
        self.use_attention = bool(use_attention)
        self.attention_implementation = attention_implementation
        self.attention_chunk_elements = attention_chunk_elements
        self.fast_gradients = bool(fast_gradients)
        self.spec = spec_lib.spec_from_config(spec)
        if self.use_attention:
            attention = self.spec.attention
            self.contextual_attention = ContextualAttention(
                ksize=attention.ksize, stride=attention.stride, rate=attention.rate,
                implementation=attention_implementation,
                chunk_elements=attention_chunk_elements,
                name="contextual_attention", dtype=self.dtype_policy,
            )
        # Keras 3 does not give tf.train.Checkpoint the layers held in Python lists, so
        # every block is an attribute named after its TF1 scope.
        for name in self.spec.creation_order(self.use_attention):
            for row in self.spec.stage(name).layers:
                setattr(self, row.name,
                        make_block(row, self.dtype_policy, fast_gradient=self.fast_gradients))

    def stage_layers(self, name):
        """The Keras layers of stage ``name`` of :attr:`spec`, in order."""
        return [getattr(self, row.name) for row in self.spec.stage(name).layers]

    @property
    def coarse_layers(self):
        return self.stage_layers("coarse")

    @property
    def hallucination_layers(self):
        return self.stage_layers("hallucination")

    @property
    def attention_encoder(self):
        return self.stage_layers("attention_encoder")

    @property
    def attention_decoder(self):
        return self.stage_layers("attention_decoder")

    @property
    def merge_layers(self):
        return self.stage_layers("merge")

    def build(self, image_shape=None, holes_shape=None):
        spec, shapes = self.spec, {}
        for stage in spec.used(self.use_attention):
            shape = spec.input_shape(stage.name, shapes, self.use_attention)
            shapes[stage.name] = _build_stack(self.stage_layers(stage.name), shape)
            if self.use_attention and stage.name == spec.attention_after:
                self.contextual_attention.build(shapes[stage.name])
                shapes["attention"] = shapes[stage.name]
        self.built = True

    def conv_layers(self):
        """``{TF1 scope: Conv2D}`` of every convolution.

        E.g. ``"conv13_upsample/conv13_upsample_conv"``.
        """
        table = {}
        for name in self.spec.creation_order(self.use_attention):
            for layer in self.stage_layers(name):
                if hasattr(layer, "conv"):
                    table[f"{layer.name}/{layer.conv.name}"] = layer.conv
                else:
                    table[layer.name] = layer
        return table

    def call(self, image, holes, training=None):
        spec = self.spec
        holes = ops.cast(holes, self.compute_dtype)
        image = ops.cast(image, self.compute_dtype)
        known = spec_lib.incomplete(image, holes)
        values = {spec_lib.INPUT: spec_lib.stage_input(spec, known, holes, ops)}
        offsets = None
        for stage in spec.used(self.use_attention):
            sources = spec.sources(stage.name, self.use_attention)
            if spec_lib.PASTED in sources and spec_lib.PASTED not in values:
                pasted = spec_lib.paste(values[spec.paste], known, holes)
                values[spec_lib.PASTED] = spec_lib.stage_input(spec, pasted, holes, ops)
            x = values[sources[0]] if len(sources) == 1 else ops.concatenate(
                [values[s] for s in sources], axis=-1)
            x = _run(self.stage_layers(stage.name), x)
            if stage.name in (spec.paste, spec.output):
                x = ops.clip(x, -1.0, 1.0)
            values[stage.name] = x
            if self.use_attention and stage.name == spec.attention_after:
                shape = ops.shape(x)
                holes_small = resize_nearest_align_corners(holes, shape[1], shape[2])
                values["attention"], offsets = self.contextual_attention(x, x, holes_small)
        if offsets is None:
            shape = ops.shape(image)
            cell = self.attention_cell
            offsets = ops.zeros((shape[0], shape[1] // cell, shape[2] // cell, 2), "int32")
        return values[spec.paste], values[spec.output], offsets

    @property
    def attention_cell(self):
        """Image pixels per attention-grid cell (8 for DeepFill v1): the offsets' grid."""
        return self.spec.output_scale(self.spec.attention_after) * self.spec.attention.rate

    def compute_output_shape(self, image_shape, holes_shape=None):
        n, h, w, _ = image_shape
        cell = self.attention_cell
        small = [None if d is None else d // cell for d in (h, w)]
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
                "spec": self.spec.to_config(),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_generator(
    use_attention=True, attention_implementation="batched", attention_chunk_elements=None,
    dtype=None, fast_gradients=True, spec=None,
):
    """A built :class:`InpaintGenerator` (weights created, ready to restore or train)."""
    generator = InpaintGenerator(
        use_attention=use_attention,
        attention_implementation=attention_implementation,
        attention_chunk_elements=attention_chunk_elements,
        fast_gradients=fast_gradients,
        dtype=dtype,
        spec=spec,
    )
    generator.build((None, None, None, 3), (None, None, None, 1))
    return generator
