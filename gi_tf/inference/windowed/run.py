"""Running the network on a plan's windows, and choosing the path per sample (graph code).

:func:`refine` computes the generator's refined output on the hole pixels of one sample
from its :class:`~gi_tf.inference.windowed.plan.Plan`: the coarse network on each window,
the attention encoder over the whole image in row strips, the attention at the plan's
positions (:func:`gi_tf.inference.windowed.attention.attend_positions`), the dilated branch
and the decoders on each window. Every convolution runs as VALID on exactly the input
range its outputs read, zero-padded only where the whole-image computation pads (at the
image border); the align-corners resizes gather with the whole image's index map.

:func:`run_network` is what every pipeline runs (:mod:`gi_tf.inference.preprocessing`:
``Inpainter``, ``gi-inpaint``, ``gi-app`` and all five SavedModel signatures): per
sample, the plan decides between :func:`refine` and the whole generator, the estimated
memory of the chosen path is checked against the request bound, then the network runs.
"""

import types
import weakref

import tensorflow as tf

from gi_tf.inference.windowed import attention as attention_lib
from gi_tf.inference.windowed import geometry
from gi_tf.inference.windowed import plan as plan_lib
from gi_tf.layers import attention_patches as patches_lib
from gi_tf.layers.resizing import align_corners_indices
from gi_tf.models import generator_spec as spec_lib
from gi_tf.models.generator import InpaintGenerator

WINDOW_CODES = {"auto": 0, "on": 1, "off": 2}


def _conv_of(layer):
    return getattr(layer, "conv", layer)


def apply_layer(layer, op, x, pads, cut=None):
    """One generator layer on a window, exactly as on the whole input.

    Args:
        layer: the Keras layer (``Conv2D`` or ``GenDeconv``) whose weights to use.
        op: its :class:`~gi_tf.inference.windowed.geometry.AxisOp`.
        x: float tensor ``[N, h, w, C]``: the layer's input on exactly the range its
            outputs read (:func:`~gi_tf.inference.windowed.geometry.input_range`).
        pads: int32 ``[4, 2]`` ``tf.pad`` paddings (the SAME padding inside the window).
        cut: upsampling layers: int32 ``[2, 4]`` ``tf.slice`` begin and size after the
            x2 repeat.

    Returns:
        float tensor ``[N, rows, cols, filters]`` of the wanted output range.
    """
    conv = _conv_of(layer)
    if op.upsample > 1:
        x = tf.repeat(tf.repeat(x, op.upsample, axis=1), op.upsample, axis=2)
        x = tf.slice(x, cut[0], cut[1])
    x = tf.pad(x, pads)
    y = tf.nn.convolution(x, tf.cast(conv.kernel, x.dtype), strides=op.stride,
                          padding="VALID", dilations=op.dilation)
    if conv.use_bias:
        y = tf.nn.bias_add(y, tf.cast(conv.bias, y.dtype))
    return conv.activation(y) if conv.activation is not None else y


def run_stack(layers, ops, x, params):
    """A stack of layers on a window: ``x`` is the stack's input range, ``params`` int32
    ``[layers, 2, 4]`` (:attr:`gi_tf.inference.windowed.plan.Windows.params`)."""
    zero = tf.zeros((len(ops), 1, 2), tf.int32)
    pads = tf.unstack(tf.concat([zero, params[:, :, :2], zero], 1), num=len(ops))
    minus = -tf.ones((len(ops), 1), tf.int32)
    begin = tf.concat([zero[:, :, 0], params[:, :, 2], zero[:, :, 0]], 1)
    size = tf.concat([minus, params[:, :, 3], minus], 1)
    cuts = tf.unstack(tf.stack([begin, size], 1), num=len(ops))
    for layer, op, pad, cut in zip(layers, ops, pads, cuts):
        x = apply_layer(layer, op, x, pad, cut)
    return x


def _cut(x, rect):
    return x[rect[0][0]:rect[0][1], rect[1][0]:rect[1][1]]


def _put(buffer, rect, values):
    """``buffer`` ``[H, W, C]`` with ``values`` written on ``rect``."""
    rows, cols = tf.meshgrid(tf.range(*rect[0]), tf.range(*rect[1]), indexing="ij")
    return tf.tensor_scatter_nd_update(buffer, tf.stack([rows, cols], -1), values)


# The two ops generator_spec.stage_input needs, in TensorFlow.
_TF = types.SimpleNamespace(ones_like=tf.ones_like,
                            concatenate=lambda values, axis: tf.concat(values, axis))


class _Inputs:
    """The generator's network inputs of one sample, cut out rectangle by rectangle."""

    def __init__(self, spec, image, holes, coarse):
        self.spec, self.image, self.holes, self.coarse = spec, image, holes, coarse

    def network_input(self, source, rect):
        """The input of a stage reading ``source`` (``INPUT`` or ``PASTED``) on ``rect``."""
        holes = _cut(self.holes, rect)
        known = spec_lib.incomplete(_cut(self.image, rect), holes)
        if source == spec_lib.PASTED:
            known = spec_lib.paste(_cut(self.coarse, rect), known, holes)
        return spec_lib.stage_input(self.spec, known, holes, _TF)[None]


def _rect(rect):
    """``((r0, r1), (c0, c1))`` scalars of an int32 ``[2, 2]`` rectangle."""
    return ((rect[0, 0], rect[0, 1]), (rect[1, 0], rect[1, 1]))


def _for_each_window(windows, body, buffer):
    """``buffer = body(k, buffer)`` for every window ``k`` of the table."""
    def step(k, buffer):
        return k + 1, body(k, buffer)

    count = tf.shape(windows.hole)[0]
    return tf.while_loop(lambda k, _: k < count, step, (0, buffer), parallel_iterations=1)[1]


def _encoder_features(generator, inputs, size):
    """The attention's source stage (``pmconv1..pmconv6``) over the whole image, in row
    strips: float32 [H/4, W/4, C]."""
    spec = generator.spec
    name = spec.attention_after
    layers, ops = generator.stage_layers(name), geometry.spec_ops(spec)[name]
    scale = spec.output_scale(name)
    quarter = (size[0] // scale, size[1] // scale)
    first = _conv_of(layers[0]).filters
    strip = tf.maximum(8, plan_lib.STRIP_BYTES // (16 * size[1] * first))
    r0 = tf.range(0, quarter[0], strip)
    zero = tf.zeros_like(r0)
    lo = tf.stack([r0, zero], -1)
    hi = tf.stack([tf.minimum(r0 + strip, quarter[0]), zero + quarter[1]], -1)
    have_lo, have_hi, params, _ = plan_lib.stack_pass(generator, name, tf.stack(size), lo, hi)
    have = tf.stack([have_lo, have_hi], -1)
    parts = tf.TensorArray(tf.float32, size=tf.shape(r0)[0], infer_shape=False)

    def step(i, parts):
        x = run_stack(layers, ops,
                      inputs.network_input(spec.stage(name).sources[0], _rect(have[i])),
                      params[i])
        return i + 1, parts.write(i, x[0])

    _, parts = tf.while_loop(lambda i, _: i < tf.shape(r0)[0], step, (0, parts),
                             parallel_iterations=1)
    features = parts.concat()
    features.set_shape([None, None, _conv_of(layers[-1]).filters])
    return features


def refine(generator, image, holes, plan, block_elements=None):
    """The generator's refined output on one sample's hole pixels, computed on windows.

    Args:
        generator: a built float32 :class:`gi_tf.models.InpaintGenerator`.
        image: float32 ``[H, W, 3]`` RGB in [-1, 1] (H, W multiples of 8).
        holes: float32 ``[H, W, 1]``, 1 = hole.
        plan: its :class:`~gi_tf.inference.windowed.plan.Plan`.
        block_elements: score entries per background band of the attention.

    Returns:
        ``(refined, offsets)``: float32 ``[H, W, 3]`` in [-1, 1], equal to the whole
        generator's on every hole pixel (zero outside the windows' hole rectangles), and
        int32 ``[H/8, W/8, 2]`` offsets at the plan's positions (0 elsewhere).
    """
    shape = tf.shape(image)
    size = (shape[0], shape[1])
    spec = generator.spec
    ops = geometry.spec_ops(spec)
    windows = plan.windows

    def stack(name, x, k):
        return run_stack(generator.stage_layers(name), ops[name], x, windows.params[name][k])

    def coarse_window(k, coarse):
        inputs = _Inputs(spec, image, holes, coarse)
        source = spec.stage(spec.paste).sources[0]
        x = stack(spec.paste, inputs.network_input(source, _rect(windows.coarse_in[k])), k)
        return _put(coarse, _rect(windows.hole[k]), tf.clip_by_value(x[0], -1.0, 1.0))

    coarse = _for_each_window(windows, coarse_window, tf.zeros_like(image))
    inputs = _Inputs(spec, image, holes, coarse)
    cell = generator.attention_cell
    offsets = tf.zeros((size[0] // cell, size[1] // cell, 2), tf.int32)
    pasted = None
    if generator.use_attention:
        attention = generator.contextual_attention
        rate = attention.rate
        scale = spec.output_scale(spec.attention_after)
        quarter = (size[0] // scale, size[1] // scale)
        grid = (quarter[0] // rate, quarter[1] // rate)
        n = tf.shape(plan.positions)[0]
        channels = spec.channels(spec.attention_after)
        patch = (2 * rate) ** 2 * channels

        def attend():
            features = _encoder_features(generator, inputs, size)
            q_rows = align_corners_indices(size[0], quarter[0])
            q_cols = align_corners_indices(size[1], quarter[1])
            holes_quarter = tf.gather(tf.gather(holes, q_rows, axis=0), q_cols, axis=1)
            rows = align_corners_indices(quarter[0], grid[0])
            cols = align_corners_indices(quarter[1], grid[1])
            b_small = tf.gather(tf.gather(features, rows, axis=0), cols, axis=1)
            holes_grid = tf.gather(tf.gather(holes_quarter, rows, axis=0), cols, axis=1)
            valid = patches_lib.hole_free_patches(holes_grid[None], attention.ksize)[0] > 0.5
            return attention_lib.attend_positions(attention, b_small, features, valid,
                                                  plan.positions, block_elements)

        pasted, best = tf.cond(n > 0, attend, lambda: (tf.zeros((0, patch)),
                                                       tf.zeros((0,), tf.int32)))
        i, j = plan.positions // grid[1], plan.positions % grid[1]
        offsets = tf.tensor_scatter_nd_update(
            offsets, tf.stack([i, j], -1), tf.stack([best // grid[1] - i, best % grid[1] - j], -1))

    def attention_window(k):
        """The attention's output on the window's ``attention_out`` rectangle."""
        (i0, i1), (j0, j1) = _rect(windows.cells[k])
        out = windows.attention_out[k]
        cell_ids = tf.reshape(tf.range(i0, i1)[:, None] * grid[1] + tf.range(j0, j1), [-1])
        grid_rows = tf.gather(pasted, tf.searchsorted(plan.positions, cell_ids,
                                                      out_type=tf.int32))
        y = patches_lib.fold_patches(grid_rows[None], (i1 - i0) * rate, (j1 - j0) * rate,
                                     channels, rate) / 4.0
        return y[:, out[0, 0] - i0 * rate:out[0, 1] - i0 * rate,
                 out[1, 0] - j0 * rate:out[1, 1] - j0 * rate]

    def refine_window(k, refined):
        feeds = []
        for name in spec.sources(spec.output, generator.use_attention):
            source = spec.stage(name).sources[0]
            if source == "attention":
                x = attention_window(k)
            else:
                x = inputs.network_input(source, _rect(windows.refine_in[k]))
            feeds.append(stack(name, x, k))
        x = feeds[0] if len(feeds) == 1 else tf.concat(feeds, axis=-1)
        out = stack(spec.output, x, k)
        return _put(refined, _rect(windows.hole[k]), tf.clip_by_value(out[0], -1.0, 1.0))

    refined = _for_each_window(windows, refine_window, tf.zeros_like(image))
    return refined, offsets


def supports_windows(generator):
    """True when :func:`refine` can run ``generator`` (a float32 InpaintGenerator)."""
    return (isinstance(generator, InpaintGenerator) and generator.compute_dtype == "float32"
            and (not generator.use_attention or generator.contextual_attention.stride == 1))


def unsupported_reason(generator):
    """Why the windowed path cannot run this model (None when it can)."""
    if supports_windows(generator):
        return None
    dtype = getattr(generator, "compute_dtype", None)
    if dtype is not None and dtype != "float32":
        return (f"the windowed path runs float32 networks; this one computes in {dtype}")
    return "the windowed path needs a gi_tf InpaintGenerator"


def choose(plan, window):
    """bool tensor: run the windowed path (``window``: int32 code of :data:`WINDOW_CODES`)."""
    return tf.logical_and(
        tf.shape(plan.windows.hole)[0] > 0,
        tf.logical_or(tf.equal(window, WINDOW_CODES["on"]),
                      tf.logical_and(tf.equal(window, WINDOW_CODES["auto"]),
                                     plan_lib.saves_work(plan))))


def plan_sample(generator, holes, window=WINDOW_CODES["auto"]):
    """``(plan, use_window, flops, bytes)`` of one sample (holes float32 [H, W, 1])."""
    chunk = getattr(generator, "attention_chunk_elements", None)
    plan = plan_lib.make_plan(generator, holes[:, :, 0] > 0.5, chunk_elements=chunk)
    use = choose(plan, window)
    return (plan, use, tf.where(use, plan.windowed_flops, plan.full_flops),
            tf.where(use, plan.windowed_bytes, plan.full_bytes))


def check_request(estimate, max_request_bytes):
    """Assert op: the estimated working memory is within ``max_request_bytes`` (None: none)."""
    if max_request_bytes is None:
        return tf.no_op()
    message = tf.strings.join([
        "this request needs an estimated ", tf.strings.as_string(estimate / 1e9, precision=2),
        f" GB of working memory, more than the bound of this model, {max_request_bytes / 1e9:.2f}"
        " GB (gi-export --max_request_gb): send a smaller image, a smaller hole, or fewer "
        "images per request"])
    return tf.debugging.Assert(estimate <= max_request_bytes, [message])


@tf.autograph.experimental.do_not_convert
def run_network(generator, net_image, net_holes, window="auto", max_request_bytes=None,
                block_elements=None):
    """``(refined, offsets)`` of a batch, each sample on its own path.

    Args:
        generator: the generator (any callable with its contract; the windowed path only
            for a float32 :class:`~gi_tf.models.InpaintGenerator`).
        net_image: float32 ``[N, H, W, 3]`` in [-1, 1], H and W multiples of 8.
        net_holes: float32 ``[N, H, W, 1]``, 1 = hole.
        window: ``"auto"``, ``"on"``, ``"off"`` (Python), or a scalar string tensor.
        max_request_bytes: refuse (``InvalidArgumentError``) a batch whose estimated peak
            working memory (the largest sample's, samples run one after the other)
            exceeds it; None: no bound.
        block_elements: the windowed attention's band bound.

    Returns:
        refined float32 ``[N, H, W, 3]`` (valid on hole pixels) and offsets int32
        ``[N, H/8, W/8, 2]`` (windowed samples: at the computed positions only).
    """
    code = _window_code(window)
    if not supports_windows(generator):
        if isinstance(window, str) and window == "on":
            raise ValueError(f"window='on': {unsupported_reason(generator)}")
        _, refined, offsets = generator(net_image, net_holes, training=False)
        return refined, offsets

    # window="off" known when tracing: the whole image on every sample, without tracing
    # the windowed path (same arithmetic as the traced choice of "off").
    whole_only = isinstance(window, str) and window == "off"
    sample = sample_function(generator, max_request_bytes, block_elements, whole_only)
    n = tf.shape(net_image)[0]
    refined, offsets = tf.map_fn(
        lambda i: sample(net_image[i], net_holes[i], code), tf.range(n), parallel_iterations=1,
        fn_output_signature=(tf.TensorSpec([None, None, 3], tf.float32),
                             tf.TensorSpec([None, None, 2], tf.int32)))
    return refined, offsets


# One traced function per (generator, bound, band size), shared by every pipeline and
# signature that runs the generator (traced once; a SavedModel stores it once).
_SAMPLE_FUNCTIONS = weakref.WeakKeyDictionary()


def sample_function(generator, max_request_bytes=None, block_elements=None, whole_only=False):
    """``tf.function`` ``(image [H,W,3], holes [H,W,1], window code) -> (refined, offsets)``
    of one sample: plan, check the bound, then the windowed path or the whole image.

    ``whole_only``: the function of ``window="off"`` known at trace time: the whole image
    (after the plan and the bound check when there is a bound), without tracing
    :func:`refine` (a smaller graph, traced and optimised in about half the time).
    """
    functions = _SAMPLE_FUNCTIONS.setdefault(generator, {})
    key = (max_request_bytes, block_elements, whole_only)
    if key not in functions:
        @tf.function(autograph=False, input_signature=[
            tf.TensorSpec([None, None, 3], tf.float32), tf.TensorSpec([None, None, 1], tf.float32),
            tf.TensorSpec([], tf.int32)])
        def sample(image, holes, code):
            if whole_only and max_request_bytes is None:
                return _whole(generator, image, holes)
            plan, use, _, estimate = plan_sample(generator, holes, code)
            with tf.control_dependencies([check_request(estimate, max_request_bytes)]):
                use = tf.identity(use)
            if whole_only:
                with tf.control_dependencies([use]):
                    return _whole(generator, tf.identity(image), holes)
            return tf.cond(use, lambda: refine(generator, image, holes, plan, block_elements),
                           lambda: _whole(generator, image, holes))

        # Traced once, here: every graph that calls it (each signature, and again when
        # tf.saved_model.save traces the signatures in its save context) reuses this trace.
        functions[key] = sample.get_concrete_function()
    return functions[key]


def _whole(generator, image, holes):
    _, refined, offsets = generator(image[None], holes[None], training=False)
    return tf.cast(refined[0], tf.float32), offsets[0]


def _window_code(window):
    if isinstance(window, str):
        if window not in WINDOW_CODES:
            raise ValueError(f"window must be one of {tuple(WINDOW_CODES)}; got {window!r}")
        return tf.constant(WINDOW_CODES[window])
    window = tf.convert_to_tensor(window)
    if window.dtype == tf.string:
        known = tf.constant(list(WINDOW_CODES))
        match = tf.cast(tf.where(tf.equal(known, window))[:, 0], tf.int32)
        with tf.control_dependencies([tf.debugging.assert_equal(
                tf.size(match), 1, message="window must be one of 'auto', 'on', 'off'")]):
            return tf.identity(match[0])
    return tf.cast(window, tf.int32)


PLAN_KEYS = ("windowed", "windows", "flops", "peak_bytes", "windowed_flops", "whole_flops")


@tf.autograph.experimental.do_not_convert
def plan_batch(generator, net_holes, window="auto", keys=PLAN_KEYS):
    """The cost of each sample of a batch (see :func:`gi_tf.inference.preprocessing.plan_costs`).

    Args:
        net_holes: float32 ``[N, H, W, 1]`` (H, W multiples of 8), 1 = hole.
        keys: the entries of :data:`PLAN_KEYS` to return (a graph computes only what
            they need: ``("windowed",)`` is the path choice alone).
    """
    code = _window_code(window)
    spec = tf.TensorSpec([], tf.float32)
    if not supports_windows(generator):
        raise ValueError(f"no plan: {unsupported_reason(generator)}")
    unknown = set(keys) - set(PLAN_KEYS)
    if unknown:
        raise ValueError(f"plan keys must be among {PLAN_KEYS}; got {sorted(unknown)}")
    signature = {"windowed": tf.TensorSpec([], tf.bool), "windows": tf.TensorSpec([], tf.int32),
                 "flops": spec, "peak_bytes": spec, "windowed_flops": spec, "whole_flops": spec}

    def one(holes):
        plan, use, flops, estimate = plan_sample(generator, holes, code)
        values = {"windowed": use, "windows": tf.shape(plan.windows.hole)[0], "flops": flops,
                  "peak_bytes": estimate, "windowed_flops": plan.windowed_flops,
                  "whole_flops": plan.full_flops}
        return {key: values[key] for key in keys}

    return tf.map_fn(one, net_holes, parallel_iterations=1,
                     fn_output_signature={key: signature[key] for key in keys})
