"""Analytic FLOP counts (multiply-add = 2 FLOPs) of the attention and the generator.

Counted: convolutions (``2 * k*k * C_in * C_out`` per output pixel, at the size the
convolution runs: an upsampling block's convolution runs after its x2 resize) and the
attention's two matmuls and its element-wise score work. Not counted: biases,
activations, resizes, padding and the other element-wise ops (a few per cent at most;
``tests/benchmarks`` checks the convolution count against TF's profiler).
"""

from gi_tf.models import generator as generator_lib
from gi_tf.models import generator_spec as spec_lib
from gi_tf.layers.conv_blocks import block_flops

# Element-wise operations per score entry: two propagation passes of 3 adds each, the
# validity multiplications (3), the scale (1), the softmax (exp, sum, divide: 3).
SCORE_ELEMENTWISE_FLOPS = 13


def attention_flops(batch, height, width, channels, rate=2, ksize=3, fuse=True):
    """FLOPs of one :class:`ContextualAttention` call on ``[batch, height, width, channels]``.

    ``L = (height/rate) * (width/rate)`` positions; scores ``2 L^2 (k^2 C)``; paste
    ``2 L^2 (2 rate)^2 C``; element-wise ``~13 L^2`` (fewer without ``fuse``).
    """
    length = (height // rate) * (width // rate)
    per_entry = 2 * ksize * ksize * channels + 2 * (2 * rate) ** 2 * channels
    per_entry += SCORE_ELEMENTWISE_FLOPS if fuse else SCORE_ELEMENTWISE_FLOPS - 6
    return batch * length * length * per_entry


def _conv_of(block):
    """The Conv2D inside a generator block (``GenDeconv`` holds it as ``.conv``)."""
    return getattr(block, "conv", block)


def stack_conv_flops(blocks, shape):
    """Convolution FLOPs of generator blocks run on ``shape``; returns ``(flops, out_shape)``."""
    total = 0
    for block in blocks:
        total += block_flops(block, shape[1], shape[2])
        shape = tuple(block.compute_output_shape(shape))
    return total, shape


def generator_flops(generator, batch, height, width):
    """``{"convolutions", "attention", "total"}`` FLOPs of one generator call.

    Args:
        generator: a built :class:`gi_tf.models.InpaintGenerator`.
        batch, height, width: the input size (multiples of 8).
    """
    spec, use_attention = generator.spec, generator.use_attention
    shapes = {name: (1, height, width, spec.input_channels)
              for name in (spec_lib.INPUT, spec_lib.PASTED)}
    convs = attention = 0
    for name in spec.names(use_attention):
        shape = spec.input_shape(name, shapes, use_attention)
        flops, shapes[name] = stack_conv_flops(generator.stage_layers(name), shape)
        convs += flops
        if use_attention and name == spec.attention_after:
            out = shapes[name]
            attention = attention_flops(1, out[1], out[2], out[3],
                                        rate=generator.contextual_attention.rate)
            shapes["attention"] = out
    return {"convolutions": batch * convs, "attention": batch * attention,
            "total": batch * (convs + attention)}


def check_size(height, width):
    """ValueError unless the generator accepts ``height x width``."""
    multiple = generator_lib.SIZE_MULTIPLE
    if height % multiple or width % multiple:
        raise ValueError(f"generator sizes must be multiples of {multiple}, got {height}x{width}")
