"""The generator's layer table along one axis: sizes, input ranges, receptive fields.

Every function works on Python ints (tests, analysis) and on int32 tensors, ranges as
vectors ``[K]`` (the in-graph plan of :mod:`gi_tf.inference.windowed.plan` computes every
window's ranges at once): ``min``/``max`` go through :func:`maximum`/:func:`minimum`,
everything else is integer ``+ - * //``. With a tensor size the SAME padding is taken as
static, which holds for the network's inputs (H, W multiples of 8: every strided layer
sees an even length).

Rectangles are ``((row0, row1), (col0, col1))`` half-open, in the coordinates of the
resolution they belong to.
"""

import dataclasses
import functools
import math

import tensorflow as tf

from gi_tf.layers import attention_patches as patches_lib
from gi_tf.models import generator_spec as spec_lib


def _is_tensor(x):
    return isinstance(x, (tf.Tensor, tf.Variable))


def maximum(a, b):
    """``max(a, b)`` for ints, ``tf.maximum`` when either is a tensor."""
    return tf.maximum(a, b) if _is_tensor(a) or _is_tensor(b) else max(a, b)


def minimum(a, b):
    """``min(a, b)`` for ints, ``tf.minimum`` when either is a tensor."""
    return tf.minimum(a, b) if _is_tensor(a) or _is_tensor(b) else min(a, b)


def stack_pass(ops, size, lo, hi):
    """One backward pass through a stack computing ``[lo, hi)`` on inputs of ``size``.

    Returns ``(ranges, params)``: ``ranges`` as :func:`stack_ranges`, ``params`` the
    :func:`layer_params` 4-tuple of every layer.
    """
    sizes = stack_sizes(ops, size)
    ranges, params = [(lo, hi)], []
    for op, n in zip(reversed(ops), reversed(sizes[:-1])):
        step = layer_step(op, n, *ranges[-1])
        ranges.append(step[:2])
        params.append(step[2:])
    return ranges[::-1], params[::-1]


@dataclasses.dataclass(frozen=True)
class AxisOp:
    """One generator layer along one image axis (its kernels are square).

    Attributes:
        name: the layer (TF1 scope).
        kernel, stride, dilation: of its convolution (zero "SAME" padding).
        upsample: 2 for ``gen_deconv`` (nearest x2 resize before the convolution), else 1.
    """

    name: str
    kernel: int
    stride: int = 1
    dilation: int = 1
    upsample: int = 1


def stack_ops(specs):
    """The :class:`AxisOp` rows of a tuple of :class:`gi_tf.layers.conv_blocks.ConvSpec`."""
    return tuple(AxisOp(s.name, s.kernel, s.stride, s.dilation, 2 if s.upsample else 1)
                 for s in specs)


@functools.lru_cache(maxsize=None)
def spec_ops(spec):
    """``{stage name: its stack_ops}`` of a :class:`~gi_tf.models.generator_spec.GeneratorSpec`."""
    return {stage.name: stack_ops(stage.layers) for stage in spec.stages}


# The released generator's stacks in computation order.
STACKS = {stage.name: stage.layers for stage in spec_lib.DEEPFILL_V1.stages}
OPS = spec_ops(spec_lib.DEEPFILL_V1)


def _times(x, k):
    return x if k == 1 else x * k


def _plus(x, c):
    return x if c == 0 else x + c


def layer_geometry(op, size):
    """``(upsampled input size, output size, kernel span, SAME padding before)``."""
    n_up = _times(size, op.upsample)
    out = n_up if op.stride == 1 else -(-n_up // op.stride)
    span = (op.kernel - 1) * op.dilation + 1
    if _is_tensor(size):  # n_up is a multiple of the stride (see the module docstring)
        total = max(span - op.stride, 0)
    else:
        total = maximum((out - 1) * op.stride + span - n_up, 0)
    return n_up, out, span, total // 2


def layer_step(op, size, lo, hi):
    """The input range of ``op``'s outputs ``[lo, hi)`` and how to compute them from it.

    Returns ``(a, b, pad_before, pad_after, offset, length)``: the input pixels
    ``[a, b)`` read (clipped to the input), and :func:`layer_params`.
    """
    n_up, _, span, before = layer_geometry(op, size)
    a = _plus(_times(lo, op.stride), -before)
    b = _plus(_times(hi, op.stride), span - before - op.stride)
    a_in, b_in = maximum(a, 0), minimum(b, n_up)
    length = b_in - a_in
    if op.upsample == 1:
        return a_in, b_in, a_in - a, b - b_in, a_in * 0, length
    src_a, src_b = a_in // op.upsample, (b_in - 1) // op.upsample + 1
    return src_a, src_b, a_in - a, b - b_in, a_in - src_a * op.upsample, length


def layer_params(op, size, lo, hi):
    """How ``op`` computes outputs ``[lo, hi)`` from exactly its input range (one axis).

    Returns ``(pad_before, pad_after, offset, length)``: after the x2 repeat of an
    upsampling layer, the input is cut to ``[offset, offset + length)`` (else offset 0 and
    length = the input range's); then it is zero-padded by ``pad_before``/``pad_after``
    (the SAME padding that falls inside the window at the image border) and convolved
    VALID.
    """
    return layer_step(op, size, lo, hi)[2:]


def output_size(op, size):
    """Output length of ``op`` on an input of length ``size`` (TF "SAME")."""
    return layer_geometry(op, size)[1]


def stack_sizes(ops, size):
    """Input length of every op and the stack's output length: ``[n0, n1, ..., n_out]``."""
    sizes = [size]
    for op in ops:
        sizes.append(output_size(op, sizes[-1]))
    return sizes


def input_range(op, size, lo, hi):
    """Input pixels ``[a, b)`` that the outputs ``[lo, hi)`` of ``op`` read (clipped).

    ``size`` is the input length; the range excludes the zero padding.
    """
    return layer_step(op, size, lo, hi)[:2]


def stack_ranges(ops, size, lo, hi):
    """Ranges needed at every op's input for the outputs ``[lo, hi)`` of the stack.

    Returns ``[(a0, b0), ..., (lo, hi)]``: entry ``i`` is what op ``i`` reads, the last
    entry the stack's output range.
    """
    sizes = stack_sizes(ops, size)
    ranges = [(lo, hi)]
    for op, n in zip(reversed(ops), reversed(sizes[:-1])):
        ranges.append(input_range(op, n, *ranges[-1]))
    return ranges[::-1]


def stack_input_rect(ops, size, want):
    """The input rectangle a stack reads for the output rectangle ``want``."""
    return tuple(stack_ranges(ops, n, *rng)[0] for n, rng in zip(size, want))


def receptive_field(ops, size=4096):
    """Receptive field of one output pixel of a stack, far from the image border.

    Args:
        ops: :func:`stack_ops` rows.
        size: an input length large enough to have an interior (the result does not
            depend on it once it does).

    Returns:
        dict: ``scale`` (input pixels per output pixel), ``before`` / ``after`` (how far
        the field reaches before the first / after the last input pixel of the output
        pixel's own footprint ``[o*scale, (o+1)*scale)``, the largest over the stride
        phases) and ``width`` (the largest field, in input pixels).
    """
    out = stack_sizes(ops, size)[-1]
    scale = size / out
    before = after = width = 0
    middle = out // 2
    for o in range(middle, middle + 16):
        a, b = stack_ranges(ops, size, o, o + 1)[0]
        start, stop = math.floor(o * scale), math.ceil((o + 1) * scale)
        before, after = max(before, start - a), max(after, b - stop)
        width = max(width, b - a)
    return {"scale": scale, "before": before, "after": after, "width": width}


def generator_receptive_fields(spec=spec_lib.DEEPFILL_V1):
    """:func:`receptive_field` of each of the generator's stacks."""
    return {name: receptive_field(ops) for name, ops in spec_ops(spec).items()}


def fold_cells(lo, hi, rate, cells):
    """Attention grid cells whose pasted ``2*rate`` patches reach feature rows ``[lo, hi)``.

    Cell ``i`` pastes onto padded rows ``[i*rate, i*rate + 2*rate)``, padded row = row +
    ``rate // 2`` (TF SAME of the transposed convolution). Clipped to ``[0, cells)``.
    """
    before = patches_lib.same_padding(2 * rate, rate)[0]
    first = -((-(lo + before - 2 * rate + 1)) // rate)  # ceil
    last = (hi - 1 + before) // rate
    return maximum(first, 0), minimum(last + 1, cells)


@dataclasses.dataclass(frozen=True)
class Window:
    """The rectangles of one window (ints or scalar tensors; see the module docstring).

    Attributes:
        hole: the refined pixels it yields (full resolution; the bounding box of holes).
        coarse_in: what the coarse network reads for them (full resolution).
        merge_in: the decoder's input (1/4 resolution).
        refine_in: what the dilated branch reads (full resolution).
        attention_out: the attention output the attention decoder reads (1/4), or None.
        cells: attention grid cells pasted onto ``attention_out`` (1/8), or None.
    """

    hole: tuple
    coarse_in: tuple
    merge_in: tuple
    refine_in: tuple
    attention_out: tuple = None
    cells: tuple = None

    @property
    def footprint(self):
        """Full-resolution rectangle this window's convolutions read."""
        return tuple((minimum(a[0], b[0]), maximum(a[1], b[1]))
                     for a, b in zip(self.coarse_in, self.refine_in))


def _scaled(size, scale):
    return size if scale == 1 else size // scale


def window_passes(spec, size, lo, hi, use_attention=True):
    """The backward passes of one window through the generator, from its hole ``[lo, hi)``.

    Written once for one axis with Python ints and for every window at once with tensors
    (``size`` int32 ``[2]``, ``lo``/``hi`` int32 ``[K, 2]``). Breadth-first from the hole:
    the stages whose output is the hole's (the pasted stage: only its hole pixels are used;
    the last stage), then the stages they read, at the range their reader's input needs.
    The attention's source runs on the whole image (in strips), so it has no pass.

    Returns:
        ``(passes, wanted)``: ``{stage: (ranges, params)}`` (:func:`stack_pass`) in the
        order derived, and ``{stage or "attention": output range}``.
    """
    ops = spec_ops(spec)
    stages = set(spec.names(use_attention))
    wanted = {spec.paste: (lo, hi), spec.output: (lo, hi)}
    queue, passes = [spec.paste, spec.output], {}
    while queue:
        name = queue.pop(0)
        if name in passes or name == spec.attention_after:
            continue
        passes[name] = stack_pass(ops[name], _scaled(size, spec.scale(name)), *wanted[name])
        for source in spec.sources(name, use_attention):
            if source in stages or source == "attention":
                wanted.setdefault(source, passes[name][0][0])
                if source in stages:
                    queue.append(source)
    return passes, wanted


def window_ranges(spec, size, lo, hi, use_attention=True):
    """The :class:`Window` fields along one axis (or all windows, tensors) as ``(lo, hi)``
    pairs, with the :func:`window_passes` they come from: ``(fields, passes)``."""
    passes, wanted = window_passes(spec, size, lo, hi, use_attention)
    refine = next(s.name for s in spec.used(use_attention)
                  if spec_lib.PASTED in s.sources and not s.attention)
    fields = {"hole": (lo, hi), "coarse_in": passes[spec.paste][0][0],
              "merge_in": passes[spec.output][0][0], "refine_in": passes[refine][0][0]}
    if use_attention:
        rate = spec.attention.rate
        grid = _scaled(size, spec.output_scale(spec.attention_after) * rate)
        fields["attention_out"] = wanted["attention"]
        fields["cells"] = fold_cells(*wanted["attention"], rate, grid)
    return fields, passes


def window(size, hole, use_attention=True, rate=2, spec=spec_lib.DEEPFILL_V1):
    """The :class:`Window` of the hole rectangle ``hole`` in an image of ``size`` (H, W).

    ``rate``: the attention's (must be ``spec``'s; kept for the callers that pass it).
    """
    if rate != spec.attention.rate:
        raise ValueError(f"rate {rate} is not the spec's attention rate {spec.attention.rate}")
    axes = [window_ranges(spec, n, lo, hi, use_attention)[0] for n, (lo, hi) in zip(size, hole)]
    return Window(**{field: tuple(axis[field] for axis in axes) for field in axes[0]})


def footprint_reach(use_attention=True, rate=2, size=4096, spec=spec_lib.DEEPFILL_V1):
    """How far (px) a window's footprint reaches beyond its hole rectangle, far from borders."""
    centre = (size // 2, size // 2 + 8)
    w = window((size, size), (centre, centre), use_attention, rate, spec)
    return max(max(centre[0] - a, b - centre[1]) for a, b in w.footprint)
