"""The generator described once: its stages, their layers, and how they are wired.

:data:`DEEPFILL_V1` is the released network (``inpaint_model.py`` of
JiahuiYu/generative_inpainting v1.0.0). Everything that depends on the network's shape
reads it from a :class:`GeneratorSpec`: :class:`gi_tf.models.InpaintGenerator` builds its
layers and runs ``call`` from it, the windowed path (geometry, plan, runner) derives its
rectangles, layer parameters and FLOPs from it, and the TF1 name table is the model's
layers. A variant network is an edited spec (``dataclasses.replace``), nothing else.

The wiring, written here and nowhere else:

* a stage's input is :func:`stage_input`: the planes of :attr:`GeneratorSpec.input_planes`
  (``"image"``: the stage's image, hole pixels zeroed or pasted; ``"ones"``; ``"mask"``:
  ones x the hole mask) concatenated on channels;
* the ``paste`` stage (coarse) reads the incomplete image; its clipped output is pasted
  into the hole (:func:`paste`), and the result is the image of every other stage that
  reads the network input (:attr:`Stage.source` ``"pasted"``);
* the attention (:attr:`GeneratorSpec.attention`) reads the output of the stage before it
  with the hole mask at that resolution; the decoder after it reads its output;
* the last stage reads its sources concatenated on channels, and its output is clipped to
  [-1, 1] (so is the ``paste`` stage's).
"""

import dataclasses

from gi_tf.layers.conv_blocks import ConvSpec as C

INPUT = "incomplete"  # a stage reading the incomplete image
PASTED = "pasted"  # a stage reading the image with the coarse result pasted into the hole


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stack of convolutions.

    Attributes:
        name: the stage (``"coarse"``, ``"merge"``...).
        layers: :class:`gi_tf.layers.conv_blocks.ConvSpec` rows, in order.
        sources: what it reads: :data:`INPUT`, :data:`PASTED`, ``"attention"`` (the
            attention's output) or names of stages (several: concatenated on channels,
            in this order).
        attention: True for the stages of the attention branch (left out by
            ``use_attention=False``).
    """

    name: str
    layers: tuple
    sources: tuple
    attention: bool = False


@dataclasses.dataclass(frozen=True)
class AttentionSpec:
    """The contextual attention: patch size, stride, and the background downscale."""

    ksize: int = 3
    stride: int = 1
    rate: int = 2


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    """The generator as data (see the module docstring for what the fields mean).

    Attributes:
        stages: :class:`Stage` rows in computation order; the last one gives the result.
        paste: the stage whose (clipped) result is pasted into the hole.
        attention: :class:`AttentionSpec`; it runs after :attr:`attention_after`.
        attention_after: the stage whose output the attention reads.
        input_planes: the planes of a stage's network input, in channel order.
        variable_order: the order the stages' layers (and variables) are created in:
            the optimizer's slots are saved in checkpoints by position, so it stays.
    """

    stages: tuple
    paste: str = "coarse"
    attention: AttentionSpec = AttentionSpec()
    attention_after: str = "attention_encoder"
    input_planes: tuple = ("image", "ones", "mask")
    variable_order: tuple = ("coarse", "hallucination", "merge", "attention_encoder",
                             "attention_decoder")

    def stage(self, name):
        """The :class:`Stage` called ``name``."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def used(self, use_attention=True):
        """The stages that run, in computation order."""
        return tuple(s for s in self.stages if use_attention or not s.attention)

    def names(self, use_attention=True):
        """Names of :meth:`used`."""
        return tuple(s.name for s in self.used(use_attention))

    def creation_order(self, use_attention=True):
        """Names of :meth:`used` in :attr:`variable_order` (then any others)."""
        used = self.names(use_attention)
        order = [n for n in self.variable_order if n in used]
        return tuple(order + [n for n in used if n not in order])

    @property
    def output(self):
        """The last stage (its result is the refined image)."""
        return self.stages[-1].name

    def sources(self, name, use_attention=True):
        """What stage ``name`` reads, without the attention branch when it is off."""
        used = set(self.names(use_attention)) | {INPUT, PASTED}
        if use_attention:
            used.add("attention")
        return tuple(s for s in self.stage(name).sources if s in used)

    def scale(self, name):
        """Input pixels per pixel of stage ``name``'s input (1 for the network input)."""
        sources = self.stage(name).sources
        first = sources[0]
        if first in (INPUT, PASTED):
            return 1
        if first == "attention":
            first = self.attention_after
        return self.output_scale(first)

    def output_scale(self, name):
        """Input pixels per pixel of stage ``name``'s output."""
        scale = self.scale(name)
        for row in self.stage(name).layers:
            scale = scale * row.stride // (2 if row.upsample else 1)
        return scale

    @property
    def input_channels(self):
        """Channels of a stage's network input (5: image, ones, mask)."""
        return sum(3 if plane == "image" else 1 for plane in self.input_planes)

    def input_shape(self, name, shapes, use_attention=True):
        """Stage ``name``'s input shape from ``shapes`` (``{source: shape}``; the network
        inputs may be left out): its sources concatenated on channels."""
        sources = [shapes.get(s, (None, None, None, self.input_channels))
                   for s in self.sources(name, use_attention)]
        return tuple(sources[0][:3]) + (sum(s[3] for s in sources),)

    def channels(self, name):
        """Output channels of stage ``name``."""
        return self.stage(name).layers[-1].filters

    def to_config(self):
        """Plain dict (``get_config``); :func:`spec_from_config` reverses it."""
        return dataclasses.asdict(self)


def spec_from_config(config):
    """The :class:`GeneratorSpec` of :meth:`GeneratorSpec.to_config` (None: the default)."""
    if config is None:
        return DEEPFILL_V1
    if isinstance(config, GeneratorSpec):
        return config
    stages = tuple(Stage(s["name"], tuple(C(**row) for row in s["layers"]), tuple(s["sources"]),
                         s["attention"]) for s in config["stages"])
    rest = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
            if k not in ("stages", "attention")}
    return GeneratorSpec(stages, attention=AttentionSpec(**config["attention"]), **rest)


def stage_input(spec, image, holes, ops):
    """A stage's network input: :attr:`GeneratorSpec.input_planes` of ``image`` (already
    zeroed or pasted in the hole) on channels; ``ops`` is ``keras.ops`` or a namespace
    with ``ones_like`` and ``concatenate`` (the windowed path's TensorFlow)."""
    ones = ops.ones_like(holes)
    planes = {"image": image, "ones": ones, "mask": ones * holes}
    return ops.concatenate([planes[p] for p in spec.input_planes], axis=-1)


def incomplete(image, holes):
    """The image with its hole pixels zeroed."""
    return image * (1.0 - holes)


def paste(result, known, holes):
    """``result`` inside the hole, ``known`` outside."""
    return result * holes + known * (1.0 - holes)


def _rows(rows):
    return tuple(C(name, *args, **kwargs) for name, args, kwargs in rows)


CNUM = 32
_COARSE = (
    ("conv1", (CNUM, 5), {}),
    ("conv2_downsample", (2 * CNUM, 3, 2), {}),
    ("conv3", (2 * CNUM,), {}),
    ("conv4_downsample", (4 * CNUM, 3, 2), {}),
    ("conv5", (4 * CNUM,), {}),
    ("conv6", (4 * CNUM,), {}),
    ("conv7_atrous", (4 * CNUM,), {"dilation": 2}),
    ("conv8_atrous", (4 * CNUM,), {"dilation": 4}),
    ("conv9_atrous", (4 * CNUM,), {"dilation": 8}),
    ("conv10_atrous", (4 * CNUM,), {"dilation": 16}),
    ("conv11", (4 * CNUM,), {}),
    ("conv12", (4 * CNUM,), {}),
    ("conv13_upsample", (2 * CNUM,), {"upsample": True}),
    ("conv14", (2 * CNUM,), {}),
    ("conv15_upsample", (CNUM,), {"upsample": True}),
    ("conv16", (CNUM // 2,), {}),
    ("conv17", (3,), {"activation": None}),
)
_HALLUCINATION = (
    ("xconv1", (CNUM, 5), {}),
    ("xconv2_downsample", (CNUM, 3, 2), {}),
    ("xconv3", (2 * CNUM,), {}),
    ("xconv4_downsample", (2 * CNUM, 3, 2), {}),
    ("xconv5", (4 * CNUM,), {}),
    ("xconv6", (4 * CNUM,), {}),
    ("xconv7_atrous", (4 * CNUM,), {"dilation": 2}),
    ("xconv8_atrous", (4 * CNUM,), {"dilation": 4}),
    ("xconv9_atrous", (4 * CNUM,), {"dilation": 8}),
    ("xconv10_atrous", (4 * CNUM,), {"dilation": 16}),
)
_ATTENTION_ENCODER = (
    ("pmconv1", (CNUM, 5), {}),
    ("pmconv2_downsample", (CNUM, 3, 2), {}),
    ("pmconv3", (2 * CNUM,), {}),
    ("pmconv4_downsample", (4 * CNUM, 3, 2), {}),
    ("pmconv5", (4 * CNUM,), {}),
    ("pmconv6", (4 * CNUM,), {"activation": "relu"}),
)
_ATTENTION_DECODER = (("pmconv9", (4 * CNUM,), {}), ("pmconv10", (4 * CNUM,), {}))
_MERGE = (
    ("allconv11", (4 * CNUM,), {}),
    ("allconv12", (4 * CNUM,), {}),
    ("allconv13_upsample", (2 * CNUM,), {"upsample": True}),
    ("allconv14", (2 * CNUM,), {}),
    ("allconv15_upsample", (CNUM,), {"upsample": True}),
    ("allconv16", (CNUM // 2,), {}),
    ("allconv17", (3,), {"activation": None}),
)

DEEPFILL_V1 = GeneratorSpec(stages=(
    Stage("coarse", _rows(_COARSE), (INPUT,)),
    Stage("hallucination", _rows(_HALLUCINATION), (PASTED,)),
    Stage("attention_encoder", _rows(_ATTENTION_ENCODER), (PASTED,), attention=True),
    Stage("attention_decoder", _rows(_ATTENTION_DECODER), ("attention",),
          attention=True),
    Stage("merge", _rows(_MERGE), ("hallucination", "attention_decoder")),
))
"""The released DeepFill v1 generator: 42 convolutions, 3,601,542 parameters."""
