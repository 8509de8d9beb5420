"""Analytic FLOP counts against TensorFlow's graph profiler and closed forms."""

import pytest
import tensorflow as tf

from gi_tf.benchmarks import flops
from gi_tf.models import build_generator


def profiler_flops_by_op_type(concrete_function):
    """``{op type: FLOPs}`` as TF's (v1) profiler counts them on the traced graph."""
    from tensorflow.python.profiler import model_analyzer
    from tensorflow.python.profiler import option_builder

    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    node = model_analyzer.profile(concrete_function.graph, options=options)
    by_name = {}
    stack = [node]
    while stack:
        current = stack.pop()
        by_name[current.name] = current.float_ops
        stack.extend(current.children)
    totals = {}
    for op in concrete_function.graph.get_operations():
        totals[op.type] = totals.get(op.type, 0) + by_name.get(op.name, 0)
    return totals


@pytest.mark.parametrize("use_attention", [True, False])
def test_generator_flops_equal_the_profilers_conv_and_matmul_counts(use_attention):
    # At 128x64 the 1/4-resolution features (32x16) are multiples of every dilation
    # (2..16), so TF's space-to-batch dilated convs do no padded extra work and the
    # profiler's executed FLOPs equal the useful FLOPs counted analytically.
    height, width, batch = 128, 64, 2
    generator = build_generator(use_attention=use_attention)
    traced = tf.function(lambda x, m: generator(x, m)).get_concrete_function(
        tf.TensorSpec([batch, height, width, 3]), tf.TensorSpec([batch, height, width, 1]))
    measured = profiler_flops_by_op_type(traced)
    counted = flops.generator_flops(generator, batch, height, width)
    assert counted["convolutions"] == measured["Conv2D"]
    if use_attention:
        length = (height // 8) * (width // 8)
        matmuls = batch * 2 * length * length * (9 * 128 + 16 * 128)
        assert measured["BatchMatMulV2"] == matmuls
        elementwise = batch * length * length * flops.SCORE_ELEMENTWISE_FLOPS
        assert counted["attention"] == matmuls + elementwise
    else:
        assert counted["attention"] == 0
    assert counted["total"] == counted["convolutions"] + counted["attention"]


def test_attention_flops_closed_form():
    # 64x64x128 features at rate 2: L = 1024, per entry 2*9*128 + 2*16*128 + 13.
    assert flops.attention_flops(1, 64, 64, 128) == 1024**2 * (2304 + 4096 + 13)
    assert flops.attention_flops(3, 64, 64, 128) == 3 * flops.attention_flops(1, 64, 64, 128)
    assert flops.attention_flops(1, 64, 64, 128, fuse=False) == 1024**2 * (2304 + 4096 + 7)


def test_generator_flops_scale_with_pixels_and_batch():
    generator = build_generator(use_attention=False)
    small = flops.generator_flops(generator, 1, 64, 64)["total"]
    # Proportional to the pixels, but for the upsampling blocks' one-pixel border (their
    # phase convolution covers (h + 1) x (w + 1) source positions).
    assert 4 * small * 0.98 < flops.generator_flops(generator, 1, 128, 128)["total"] < 4 * small
    assert flops.generator_flops(generator, 8, 64, 64)["total"] == 8 * small


def test_check_size_rejects_non_multiples_of_8():
    flops.check_size(256, 512)
    with pytest.raises(ValueError, match="multiples of 8"):
        flops.check_size(250, 256)
