"""GeneratorSpec: the generator's table, its derived scales, and a variant built from it."""

import dataclasses

import numpy as np

from gi_tf.layers.conv_blocks import ConvSpec
from gi_tf.models import InpaintGenerator
from gi_tf.models import build_generator
from gi_tf.models import generator_spec as spec_lib
from gi_tf.models.generator_spec import DEEPFILL_V1


def variant_spec():
    """DeepFill v1 with one more dilated conv in the coarse network and a 96-wide
    dilated refinement branch (``xconv5..10``): nothing but the table changes."""
    def edit(stage):
        layers = stage.layers
        if stage.name == "coarse":
            i = [row.name for row in layers].index("conv10_atrous")
            layers = layers[:i + 1] + (ConvSpec("conv10b_atrous", 128, dilation=2),) + layers[i + 1:]
        if stage.name == "hallucination":
            layers = tuple(dataclasses.replace(row, filters=96) if row.filters == 128 else row
                           for row in layers)
        return dataclasses.replace(stage, layers=layers)

    return dataclasses.replace(DEEPFILL_V1, stages=tuple(edit(s) for s in DEEPFILL_V1.stages))


def test_scales_follow_the_strides():
    assert DEEPFILL_V1.scale("coarse") == DEEPFILL_V1.scale("hallucination") == 1
    assert DEEPFILL_V1.scale("merge") == DEEPFILL_V1.scale("attention_decoder") == 4
    assert DEEPFILL_V1.output_scale("merge") == DEEPFILL_V1.output_scale("coarse") == 1
    assert DEEPFILL_V1.input_channels == 5
    assert DEEPFILL_V1.names(use_attention=False) == ("coarse", "hallucination", "merge")
    assert DEEPFILL_V1.sources("merge", use_attention=False) == ("hallucination",)


def test_config_round_trip():
    spec = variant_spec()
    assert spec_lib.spec_from_config(spec.to_config()) == spec
    assert spec_lib.spec_from_config(None) is DEEPFILL_V1
    generator = InpaintGenerator(spec=spec)
    clone = InpaintGenerator.from_config(generator.get_config())
    assert clone.spec == spec


def test_old_configs_without_a_spec_give_deepfill_v1():
    config = build_generator().get_config()
    del config["spec"]
    assert InpaintGenerator.from_config(config).spec == DEEPFILL_V1


def test_variant_builds_from_the_table():
    generator = build_generator(spec=variant_spec())
    table = generator.conv_layers()
    assert "conv10b_atrous" in table
    assert table["conv10b_atrous"].dilation_rate == (2, 2)
    assert table["xconv10_atrous"].kernel.shape == (3, 3, 96, 96)
    assert table["allconv11"].kernel.shape == (3, 3, 96 + 128, 128)
    # Independent count: the default's 3,601,542 plus the new conv, less the narrower branch.
    default = build_generator()
    delta = (9 * 128 * 128 + 128) + sum(
        table[n].kernel.shape.num_elements() - default.conv_layers()[n].kernel.shape.num_elements()
        - default.conv_layers()[n].bias.shape[0] + table[n].bias.shape[0]
        for n in table if n.startswith(("xconv", "allconv11")))
    assert generator.count_params() == 3_601_542 + delta
    image = np.zeros((1, 32, 32, 3), "float32")
    holes = np.zeros((1, 32, 32, 1), "float32")
    holes[:, 8:24, 8:24] = 1
    coarse, refined, offsets = generator(image, holes)
    assert refined.shape == (1, 32, 32, 3) and offsets.shape == (1, 4, 4, 2)
