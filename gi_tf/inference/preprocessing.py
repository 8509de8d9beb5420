"""Pre/post-processing around the generator: the one implementation, as TF graph functions.

Everything that turns user images into generator inputs, and generator outputs into user
images, lives here with dynamic batch, height and width. :class:`gi_tf.Inpainter`,
``gi-inpaint`` and all five SavedModel signatures (:mod:`gi_tf.inference.export`) call
these functions, so they cannot drift apart. Conventions are the original ``test.py``'s
except where noted in WORKSPACE.md, "Inference, export, serving": the mask rule of
:func:`gi_tf.utils.image_io.holes_from_mask` with its constants; mirror padding to a
multiple of 8 (policy ``"pad"``) or the original's top-left crop (``"crop"``); known
pixels copied bit-exact, hole pixels truncated to uint8 as released; the attention map
normalised per sample. Bad input is an ``InvalidArgumentError`` with a sentence
(:data:`FULL_MASK_MESSAGE` for a full mask), never a crash.
"""

import collections

import tensorflow as tf

from gi_tf.inference.windowed import run as windowed_run
from gi_tf.models.generator import SIZE_MULTIPLE
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS
from gi_tf.utils.image_io import FLOAT_MASK_THRESHOLD
from gi_tf.utils.image_io import MASK_THRESHOLD
from gi_tf.utils.image_io import encoded_image_size
from gi_tf.utils.visualize import offsets_to_rgb

POLICIES = ("pad", "crop")
FULL_MASK_MESSAGE = "mask covers the whole image: nothing to borrow from"
ATTENTION_RUNNING_MAX = False

IMAGE_SPEC = tf.TensorSpec([None, None, None, 3], tf.uint8, name="image")
MASK_SPEC = tf.TensorSpec([None, None, None, 1], tf.uint8, name="mask")
FLOAT_IMAGE_SPEC = tf.TensorSpec([None, None, None, 3], tf.float32, name="image")
FLOAT_MASK_SPEC = tf.TensorSpec([None, None, None, 1], tf.float32, name="mask")
IMAGE_BYTES_SPEC = tf.TensorSpec([None], tf.string, name="image_bytes")
MASK_BYTES_SPEC = tf.TensorSpec([None], tf.string, name="mask_bytes")
WINDOW_SPEC = tf.TensorSpec([], tf.string, name="window")

Prepared = collections.namedtuple("Prepared", ["net_image", "net_holes", "image", "holes"])
Prepared.__doc__ = """What the generator sees and what its result is pasted onto (one batch).

Fields:
    net_image: float32 ``[N, Hn, Wn, 3]`` in [-1, 1], Hn/Wn multiples of 8.
    net_holes: float32 ``[N, Hn, Wn, 1]``, 1 = hole.
    image: ``[N, Ho, Wo, 3]`` (uint8 or float, as given), the paste target: the input,
        or its top-left crop under policy ``"crop"``.
    holes: bool ``[N, Ho, Wo, 1]``, True = hole, aligned with ``image``.
"""


# -- value conversions ----------------------------------------------------------------------


def holes_from_uint8(mask):
    """bool ``[..]`` from a uint8 mask: ``>= 128`` (the original's ``> 127.5``) = hole.

    The graph's form of :func:`gi_tf.utils.image_io.holes_from_mask` for uint8 (same constant).
    """
    return tf.convert_to_tensor(mask) >= MASK_THRESHOLD


def uint8_to_float(image):
    """uint8 0..255 -> float32 [-1, 1] as the original: ``x / 127.5 - 1``."""
    return tf.cast(image, tf.float32) / 127.5 - 1.0


def float_to_uint8(x):
    """float [-1, 1] -> uint8 as the original: ``saturate_cast((x + 1) * 127.5)``.

    ``tf.saturate_cast`` clamps to 0..255 and then truncates toward zero (no rounding):
    0.999 -> 254, 1.0 -> 255.
    """
    return tf.saturate_cast((tf.cast(x, tf.float32) + 1.0) * 127.5, tf.uint8)


# -- sizes ----------------------------------------------------------------------------------


def padded_size(size, multiple=SIZE_MULTIPLE):
    """Smallest multiple of ``multiple`` that is >= ``size`` (int or integer tensor)."""
    return (size + multiple - 1) // multiple * multiple


def cropped_size(size, multiple=SIZE_MULTIPLE):
    """Largest multiple of ``multiple`` that is <= ``size`` (int or integer tensor).

    The size the original ``test.py`` crops to (policy ``"crop"``); 0 when ``size`` is
    smaller than ``multiple``.
    """
    return size // multiple * multiple


def _mirror_indices(size, new_size):
    """``0..size-1, size-1..0, 0..`` (symmetric, edge repeated), ``new_size`` long."""
    period = 2 * size
    i = tf.range(new_size) % period
    return tf.where(i < size, i, period - 1 - i)


def pad_to_multiple(x, multiple=SIZE_MULTIPLE):
    """Mirror-extend ``[N, H, W, C]`` at the bottom/right to multiples of ``multiple``.

    Symmetric mirroring (``... c b a | a b c ...``), any dtype, any H, W >= 1 (also when
    the padding is longer than the image). Apply it to the image *and* its mask: a padded
    pixel is a hole exactly when the pixel it mirrors is one, so the padded strip is real
    image content with natural statistics (zero or constant padding would put an edge
    next to the image that the network never saw in training). :func:`postprocess`
    crops the strip away.

    Example: a 1 x 5 row ``[a b c d e]`` becomes ``[a b c d e e d c]``.
    """
    shape = tf.shape(x)
    height, width = shape[1], shape[2]
    x = tf.gather(x, _mirror_indices(height, padded_size(height, multiple)), axis=1)
    return tf.gather(x, _mirror_indices(width, padded_size(width, multiple)), axis=2)


def crop_to_multiple(x, multiple=SIZE_MULTIPLE):
    """Top-left crop of ``[N, H, W, C]`` to ``floor(H/m)*m x floor(W/m)*m`` (``test.py``)."""
    shape = tf.shape(x)
    return x[:, : cropped_size(shape[1], multiple), : cropped_size(shape[2], multiple)]


# -- checks (graph ops raising InvalidArgumentError) -----------------------------------------


def check_shapes(image, holes, policy="pad", max_pixels=DEFAULT_MAX_PIXELS):
    """Assert ops: same N/H/W for image and mask; N >= 1; H, W >= 1 (>= 8 under
    ``"crop"``); H * W <= ``max_pixels`` (None: no limit)."""
    image_shape, holes_shape = tf.shape(image), tf.shape(holes)
    minimum = SIZE_MULTIPLE if policy == "crop" else 1
    checks = [
        tf.debugging.assert_equal(
            image_shape[:3], holes_shape[:3],
            message="image and mask must have the same batch size, height and width"),
        tf.debugging.assert_positive(
            image_shape[0], message="the batch is empty: send at least one image"),
        tf.debugging.assert_greater_equal(
            image_shape[1:3], minimum,
            message=f"image height and width must be at least {minimum} (policy {policy!r})"),
    ]
    if max_pixels is not None:
        checks.append(check_pixels(image_shape[1], image_shape[2], max_pixels))
    return checks


def ensure_layout(image, mask):
    """``image`` [N, H, W, 3] and ``mask`` [N, H, W, 1], checked when the graph runs.

    A loaded SavedModel's signature does not check its inputs against its specs (nor
    does TF Serving), so a grey or RGBA image would otherwise reach the first
    convolution; ``tf.ensure_shape`` refuses it with the shapes in the message.
    """
    return (tf.ensure_shape(image, [None, None, None, 3], name="image_must_be_NHW3"),
            tf.ensure_shape(mask, [None, None, None, 1], name="mask_must_be_NHW1"))


def check_pixels(height, width, max_pixels):
    """Assert op: ``height * width <= max_pixels``, with the size in the message."""
    height, width = tf.cast(height, tf.int64), tf.cast(width, tf.int64)
    message = tf.strings.format(
        "image is {}x{} pixels (width x height), more than the limit of {} pixels "
        "(max_pixels, set when the model was exported: gi-export --max_pixels)",
        [width, height, max_pixels])
    return tf.debugging.Assert(height * width <= max_pixels, [message])


def check_known(holes):
    """Assert op: every sample keeps a known pixel (else :data:`FULL_MASK_MESSAGE`)."""
    known = tf.reduce_sum(1 - tf.cast(holes, tf.int32), axis=[1, 2, 3])
    return tf.debugging.assert_positive(known, message=FULL_MASK_MESSAGE)


# -- the pipeline steps -----------------------------------------------------------------------


def prepare(image, holes, policy="pad", to_network=uint8_to_float,
            max_pixels=DEFAULT_MAX_PIXELS):
    """Checks, crop or pad: generator inputs and the paste target.

    Args:
        image: ``[N, H, W, 3]`` RGB, uint8 (default ``to_network``) or float in [-1, 1]
            (pass ``to_network=tf.identity``).
        holes: bool ``[N, H, W, 1]``, True = hole.
        policy: ``"pad"`` or ``"crop"`` (see the module docstring).
        to_network: maps ``image`` to float32 [-1, 1].
        max_pixels: refuse images with more pixels per sample (None: no limit).

    Returns:
        :class:`Prepared`.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    image = tf.convert_to_tensor(image)
    holes = tf.convert_to_tensor(holes)
    with tf.control_dependencies(check_shapes(image, holes, policy, max_pixels)):
        if policy == "crop":
            image, holes = crop_to_multiple(image), crop_to_multiple(holes)
        else:
            image, holes = tf.identity(image), tf.identity(holes)
    with tf.control_dependencies([check_known(holes)]):
        net_image = tf.cast(to_network(image), tf.float32)
        net_holes = tf.cast(holes, tf.float32)
    if policy == "pad":
        net_image, net_holes = pad_to_multiple(net_image), pad_to_multiple(net_holes)
    return Prepared(net_image, net_holes, image, holes)


def run_generator(generator, prepared, window="auto", max_request_bytes=None):
    """``(refined, offsets)`` of the generator on a :class:`Prepared` batch (inference).

    Per sample, the exact windowed path or the whole image
    (:func:`gi_tf.inference.windowed.run.run_network`: ``window`` ``"auto"`` / ``"on"`` /
    ``"off"``, or a scalar string tensor); ``max_request_bytes`` refuses a request whose
    estimated working memory is larger (None: no bound).
    """
    return windowed_run.run_network(generator, prepared.net_image, prepared.net_holes, window,
                                    max_request_bytes)


def plan_costs(generator, mask, window="auto", keys=windowed_run.PLAN_KEYS):
    """What a request would cost, without running the network (body of ``plan``).

    Args:
        mask: uint8 ``[N, H, W, 1]``, ``>= 128`` = hole (mirror-padded as the pipeline does).
        window: ``"auto"`` / ``"on"`` / ``"off"`` or a scalar string tensor.
        keys: which of the entries below to compute (default: all).

    Returns:
        ``{"windowed": bool [N], "windows": int32 [N], "flops": float32 [N],
        "peak_bytes": float32 [N], "windowed_flops": float32 [N], "whole_flops":
        float32 [N]}``: the path each sample takes, its window count, the FLOPs and the
        estimated peak working memory of that path, and both paths' FLOPs.
    """
    mask = tf.ensure_shape(mask, [None, None, None, 1], name="mask_must_be_NHW1")
    holes = pad_to_multiple(tf.cast(holes_from_uint8(mask), tf.float32))
    return windowed_run.plan_batch(generator, holes, window, keys)


def paste(prediction, prepared):
    """Hole pixels from ``prediction`` (cropped to the target), known pixels from the input."""
    shape = tf.shape(prepared.image)
    prediction = prediction[:, : shape[1], : shape[2]]
    holes = tf.broadcast_to(prepared.holes, tf.shape(prediction))
    return tf.where(holes, prediction, prepared.image)


def attention_image(offsets, holes):
    """uint8 RGB ``[N, H, W, 3]`` map of the offsets, for images of ``holes``' size.

    Offsets ``[N, Hn/8, Wn/8, 2]`` are coloured per sample, every cell becomes an 8x8
    block, the map is cropped to H x W; samples without a hole are all white.
    """
    rgb = tf.convert_to_tensor(offsets_to_rgb(offsets, running_max=ATTENTION_RUNNING_MAX))
    rgb = tf.repeat(tf.repeat(rgb, SIZE_MULTIPLE, axis=1), SIZE_MULTIPLE, axis=2)
    shape = tf.shape(holes)
    rgb = rgb[:, : shape[1], : shape[2]]
    has_hole = tf.reduce_any(holes, axis=[1, 2, 3])[:, None, None, None]
    return tf.where(has_hole, rgb, tf.constant(255, tf.uint8))


# -- whole pipelines (the SavedModel signature bodies) ---------------------------------------


def inpaint_uint8(generator, image, mask, policy="pad", max_pixels=DEFAULT_MAX_PIXELS,
                  window="auto", max_request_bytes=None, attention=True):
    """uint8 in, uint8 out (body of ``serving_default``; what ``Inpainter`` runs).

    Args:
        generator: an :class:`gi_tf.models.InpaintGenerator` (or a callable with its
            call contract).
        image: uint8 ``[N, H, W, 3]`` RGB.
        mask: uint8 ``[N, H, W, 1]``, ``>= 128`` = hole.
        policy: ``"pad"`` or ``"crop"``.
        max_pixels: refuse images with more pixels (None: no limit).
        window, max_request_bytes: see :func:`run_generator`.
        attention: False leaves the attention map out (``Inpainter.inpaint`` without
            ``return_attention``: the same ``"inpainted"``, without colouring the offsets).

    Returns:
        ``{"inpainted": uint8 [N, H, W, 3], "attention": uint8 [N, H, W, 3]}`` (H, W
        rounded down to multiples of 8 under ``"crop"``; no ``"attention"`` when
        ``attention`` is False).
    """
    image, mask = ensure_layout(image, mask)
    prepared = prepare(image, holes_from_uint8(mask), policy, max_pixels=max_pixels)
    refined, offsets = run_generator(generator, prepared, window, max_request_bytes)
    out = {"inpainted": paste(float_to_uint8(refined), prepared)}
    if attention:
        out["attention"] = attention_image(offsets, prepared.holes)
    return out


def inpaint_float(generator, image, mask, policy="pad", max_pixels=DEFAULT_MAX_PIXELS,
                  window="auto", max_request_bytes=None):
    """float32 [-1, 1] in and out (body of ``inpaint_float``, for pipelines).

    Args:
        image: float32 ``[N, H, W, 3]`` RGB in [-1, 1].
        mask: float32 ``[N, H, W, 1]`` in [0, 1], ``> 0.5`` = hole.
        max_pixels: refuse images with more pixels (None: no limit).
        window, max_request_bytes: see :func:`run_generator`.

    Returns:
        ``{"inpainted": float32 [N, H, W, 3], "offsets": int32 [N, Hn/8, Wn/8, 2]}``:
        known pixels are the input's values exactly, hole pixels the refined prediction
        (clipped to [-1, 1], not quantised); ``offsets`` are the raw attention offsets
        (delta row, delta col) in cells of 8 pixels of the padded image
        (``Hn = ceil(H/8)*8``; ``floor`` under ``"crop"``; a sample on the windowed path
        has offsets only at the grid cells its holes need, 0 elsewhere).
    """
    image, mask = ensure_layout(tf.convert_to_tensor(image, tf.float32),
                                tf.convert_to_tensor(mask, tf.float32))
    # NaN fails both comparisons, so it is refused too.
    with tf.control_dependencies([
            tf.debugging.assert_less_equal(
                tf.abs(image), 1.0, message="image values must be in [-1, 1] (uint8 x as "
                "x / 127.5 - 1), without NaN"),
            tf.debugging.assert_less_equal(
                tf.abs(mask - 0.5), 0.5, message="mask values must be in [0, 1] "
                "(> 0.5 = hole), without NaN")]):
        image, holes = tf.identity(image), mask > FLOAT_MASK_THRESHOLD  # the mask rule
    prepared = prepare(image, holes, policy, to_network=tf.identity, max_pixels=max_pixels)
    refined, offsets = run_generator(generator, prepared, window, max_request_bytes)
    return {"inpainted": paste(tf.cast(refined, tf.float32), prepared), "offsets": offsets}


def decode_image(data, max_pixels=DEFAULT_MAX_PIXELS):
    """uint8 RGB ``[H, W, 3]`` from one encoded PNG/JPEG/BMP/GIF/WebP string.

    Grey is repeated to RGB, alpha dropped, 16-bit PNG scaled to 8 bits
    (``tf.image.convert_image_dtype``); undecodable bytes raise ``InvalidArgumentError``.
    More than ``max_pixels`` pixels (None: no limit) is an ``InvalidArgumentError`` too,
    raised from the header's size *before* decoding
    (:func:`gi_tf.utils.image_io.encoded_image_size`; formats whose header is not read
    there are checked after decoding).
    """
    checks = []
    if max_pixels is not None:
        declared = encoded_image_size(data)
        checks.append(check_pixels(declared[0], declared[1], max_pixels))
    with tf.control_dependencies(checks):
        image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
    if max_pixels is not None:
        shape = tf.shape(image)
        with tf.control_dependencies([check_pixels(shape[0], shape[1], max_pixels)]):
            image = tf.identity(image)
    image.set_shape([None, None, 3])
    return image


def decode_mask(data, max_pixels=DEFAULT_MAX_PIXELS):
    """uint8 ``[H, W, 1]`` mask (255 = hole) from an encoded file: hole where blue >= 128.

    Blue is the first channel of OpenCV's BGR decode, the one the original and
    :func:`gi_tf.utils.image_io.read_mask` threshold (for grey or black/white masks every
    channel is the same).
    """
    holes = decode_image(data, max_pixels)[..., 2:3] >= MASK_THRESHOLD
    return tf.cast(holes, tf.uint8) * 255


def inpaint_encoded(generator, image_bytes, mask_bytes, max_pixels=DEFAULT_MAX_PIXELS,
                    window="auto", max_request_bytes=None):
    """Encoded files in, PNG bytes out (body of ``inpaint_encoded``).

    Each instance is decoded (:func:`decode_image`, :func:`decode_mask`), inpainted on
    its own with :func:`inpaint_uint8` (so sizes may differ between instances) and
    encoded as PNG. The ``_bytes`` suffix of the outputs makes TF Serving's REST API
    return them as ``{"b64": ...}``.

    Args:
        image_bytes: string ``[N]``, encoded RGB images.
        mask_bytes: string ``[N]``, encoded masks of the same sizes.
        max_pixels: refuse images (and masks) with more pixels, before decoding them.
        window, max_request_bytes: see :func:`run_generator` (each instance is planned
        and bounded on its own).

    Returns:
        ``{"inpainted_bytes": string [N], "attention_bytes": string [N]}`` (PNG files).
    """
    image_bytes = tf.ensure_shape(image_bytes, [None], name="image_bytes_must_be_N")
    mask_bytes = tf.ensure_shape(mask_bytes, [None], name="mask_bytes_must_be_N")
    with tf.control_dependencies([tf.debugging.assert_equal(
            tf.shape(image_bytes), tf.shape(mask_bytes),
            message="image_bytes and mask_bytes must have the same length")]):
        pairs = (tf.identity(image_bytes), tf.identity(mask_bytes))

    def one(pair):
        out = inpaint_uint8(generator, decode_image(pair[0], max_pixels)[None],
                            decode_mask(pair[1], max_pixels)[None], max_pixels=max_pixels,
                            window=window, max_request_bytes=max_request_bytes)
        return tf.io.encode_png(out["inpainted"][0]), tf.io.encode_png(out["attention"][0])

    inpainted, attention = tf.map_fn(one, pairs, fn_output_signature=(tf.string, tf.string))
    return {"inpainted_bytes": inpainted, "attention_bytes": attention}


def make_uint8_function(generator, policy="pad", max_pixels=DEFAULT_MAX_PIXELS, window="auto",
                        max_request_bytes=None, attention=True):
    """``tf.function`` ``(image, mask) -> {"inpainted", "attention"}``, dynamic N/H/W.

    The same graph as the SavedModel's ``serving_default`` for the same arguments
    (``attention=False``: ``{"inpainted"}`` only, see :func:`inpaint_uint8`).
    """

    @tf.function(input_signature=[IMAGE_SPEC, MASK_SPEC], autograph=False)
    def serve(image, mask):
        return inpaint_uint8(generator, image, mask, policy, max_pixels=max_pixels,
                             window=window, max_request_bytes=max_request_bytes,
                             attention=attention)

    return serve
