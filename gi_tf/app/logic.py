"""What ``gi-app`` does with a request, without any web framework: testable NumPy code.

The page (:mod:`gi_tf.app.page`) hands :func:`handle_request` the value of its image editor and
shows what comes back. The editor value is a dict as Gradio's ``gr.ImageEditor`` gives it
with ``type="numpy"`` and ``image_mode="RGBA"``::

    {"background": uint8 [H, W, 4] (or [H, W, 3] / [H, W]) or None,
     "layers": [uint8 [H, W, 4], ...],   # the brush strokes, transparent elsewhere
     "composite": uint8 [H, W, 4] or None}

Data flow: :func:`editor_to_arrays` (background -> RGB image flattened on white, brush
layers' alpha -> hole mask) -> :func:`check_request` (size limits, a mask that is neither
empty nor everything) -> :func:`run_inpaint` (``Inpainter.inpaint`` with the large-image
strategies of :class:`AppConfig`) -> :class:`Outcome` (result, attention map, status text).

Every problem a user can cause raises :class:`InputError` with a sentence meant for the
page, never a stack trace.
"""

import dataclasses
import time

import numpy as np

from gi_tf.inference import WINDOW_MODES

# A brush pixel with any opacity is a hole: anti-aliased stroke edges are filled too,
# so no half-covered pixel of the painted object survives.
MIN_STROKE_ALPHA = 1
# max_side="auto" (the default): full resolution when the model's plan estimates the request
# within DEFAULT_MAX_REQUEST_GB, else a copy whose longer side is DEFAULT_MAX_SIDE.
AUTO = "auto"
DEFAULT_MAX_SIDE = 1024
DEFAULT_MAX_REQUEST_GB = 4.0
DEFAULT_MAX_PIXELS = 40_000_000  # about a 7700 x 5200 photo


NO_IMAGE_MESSAGE = (
    "No image yet (the canvas is empty or one flat colour): upload a PNG, JPEG or WebP "
    "image (a file the browser cannot show as an image is not loaded) or pick an example, "
    "then paint over what should go and press Inpaint.")


class InputError(ValueError):
    """A problem with what the user gave the page; the message is shown there as it is."""


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """How the page inpaints (built from ``gi-app``'s flags).

    Attributes:
        max_side: ``"auto"`` (default): full resolution when the model's plan
            (``Inpainter.plan``: windowed or whole-image path) estimates the request's
            working memory within ``max_request_gb``, else a copy whose longer side is
            :data:`DEFAULT_MAX_SIDE` (the page says so and why). An int: the network never
            sees an image (or hole window) whose longer side exceeds it; bigger ones are
            downscaled, inpainted and only the hole is pasted back at full resolution
            (``Inpainter.inpaint(max_side=...)``, see :mod:`gi_tf.inference.large_images`).
            None = always full resolution.
        max_request_gb: the ``"auto"`` rule's memory budget per request.
        crop_to_hole: 0 = the whole image is context; a margin in pixels = only the
            hole's bounding box grown by it is processed (``crop_to_hole=...``).
        max_pixels: larger uploads are refused with a message (H * W).
        window: ``"auto"``, ``"on"`` or ``"off"``: the exact windowed path
            (``Inpainter.inpaint(window=...)``; same result, computed only where it
            reaches the hole).
    """

    max_side: object = AUTO
    max_request_gb: float = DEFAULT_MAX_REQUEST_GB
    crop_to_hole: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS
    window: str = "auto"

    def validate(self):
        if self.max_side not in (None, AUTO) and (not isinstance(self.max_side, int)
                                                  or self.max_side < 8):
            raise ValueError(f"max_side must be 'auto', None or at least 8; got "
                             f"{self.max_side!r}")
        if self.max_request_gb <= 0:
            raise ValueError(f"max_request_gb must be positive; got {self.max_request_gb}")
        if self.crop_to_hole < 0:
            raise ValueError(f"crop_to_hole must be >= 0 (0 = off); got {self.crop_to_hole}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive; got {self.max_pixels}")
        if self.window not in WINDOW_MODES:
            raise ValueError(f"window must be one of {WINDOW_MODES}; got {self.window!r}")
        return self


@dataclasses.dataclass
class Outcome:
    """What the page shows after a request.

    Attributes:
        result: uint8 RGB ``[H, W, 3]``, the input with the hole filled (known pixels
            are the input's, bit for bit).
        attention: uint8 RGB ``[H, W, 3]``, colour-coded attention offsets (white =
            from itself or not computed).
        holes: bool ``[H, W]``, the mask that was filled.
        status: one markdown paragraph for the status line.
    """

    result: np.ndarray
    attention: np.ndarray
    holes: np.ndarray
    status: str


def _as_uint8(array, what):
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * np.uint8(255)
    raise InputError(f"The {what} has an unsupported pixel format ({array.dtype}); "
                     "upload an 8-bit PNG or JPEG image.")


def _is_blank(image):
    """True for the editor's empty canvas: fully transparent, or one flat colour.

    Painting before uploading gives an opaque white canvas; a flat image has nothing to
    borrow from either, so both are treated as "no image".
    """
    if image.ndim == 3 and image.shape[-1] == 4 and not image[..., 3].any():
        return True
    pixels = image.reshape(-1, image.shape[-1]) if image.ndim == 3 else image.reshape(-1, 1)
    return len(pixels) > 0 and bool((pixels == pixels[0]).all())


def background_to_rgb(background):
    """The editor's background as uint8 RGB, transparent pixels composited onto white.

    Args:
        background: uint8 ``[H, W]`` grey, ``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA.

    Returns:
        ``(rgb uint8 [H, W, 3], notes)``; notes is a list of sentences for the page.

    Raises:
        InputError: no image (None, or a blank canvas: fully transparent or one flat
            colour), or an array that is not an image.
    """
    image = None if background is None else _as_uint8(background, "image")
    if image is None or _is_blank(image):
        raise InputError(NO_IMAGE_MESSAGE)
    notes = []
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4) or min(image.shape[:2]) < 1:
        raise InputError(f"The upload is not an image the page can use (array shape "
                         f"{image.shape}); upload a PNG or JPEG.")
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    elif image.shape[-1] == 4:
        alpha = image[..., 3:].astype(np.float32) / 255.0
        if np.any(alpha < 1.0):
            notes.append("The image has transparent parts; they were filled with white.")
        rgb = image[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        image = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image), notes


def layers_to_holes(layers, size):
    """The hole mask: every pixel painted on any brush layer (alpha >= 1).

    Args:
        layers: list of uint8 RGBA ``[H, W, 4]`` arrays (None entries are skipped).
        size: ``(H, W)`` of the background.

    Returns:
        bool ``[H, W]``, True = hole (all False when nothing was painted).

    Raises:
        InputError: a layer of another size, or a layer without an alpha channel.
    """
    holes = np.zeros(tuple(size), bool)
    for index, layer in enumerate(layers or []):
        if layer is None:
            continue
        layer = _as_uint8(layer, "brush layer")
        if layer.ndim != 3 or layer.shape[-1] != 4:
            raise InputError(f"Brush layer {index + 1} has no transparency (shape "
                             f"{layer.shape}); the mask is read from the layers' alpha.")
        if layer.shape[:2] != tuple(size):
            raise InputError(f"Brush layer {index + 1} is {layer.shape[1]}x{layer.shape[0]} "
                             f"but the image is {size[1]}x{size[0]}; clear the editor and "
                             "paint again.")
        holes |= layer[..., 3] >= MIN_STROKE_ALPHA
    return holes


def editor_to_arrays(value):
    """Editor value -> ``(image uint8 RGB [H, W, 3], holes bool [H, W], notes)``.

    Raises:
        InputError: no image, an unusable image, or mismatched layers.
    """
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InputError("The editor sent something that is not an image; upload a PNG "
                         "or JPEG.")
    image, notes = background_to_rgb(value.get("background"))
    holes = layers_to_holes(value.get("layers"), image.shape[:2])
    return image, holes, notes


def check_request(image, holes, config):
    """Refuse what cannot or should not run, with a sentence for the page.

    Raises:
        InputError: image above ``config.max_pixels``, nothing painted, or everything
            painted (DeepFill copies from known pixels, so some must remain).
    """
    height, width = image.shape[:2]
    if height * width > config.max_pixels:
        raise InputError(
            f"The image is too large for this page ({width}x{height} = "
            f"{height * width / 1e6:.1f} megapixels; the limit is "
            f"{config.max_pixels / 1e6:.1f}). Crop it with the editor's crop tool or "
            "downscale it first, or use gi-inpaint, which handles any size.")
    if not holes.any():
        raise InputError("Nothing is painted yet: choose the brush and paint over the "
                         "region to fill, then press Inpaint.")
    if holes.all():
        raise InputError("The whole image is painted: DeepFill fills a hole by borrowing "
                         "from the rest of the image, so leave some of it unpainted.")


def strategy_notes(holes, config):
    """Sentences saying how a large image is processed (empty when nothing special).

    Uses :mod:`gi_tf.inference.large_images`' own window and working-size rules, so the note
    describes exactly what :meth:`Inpainter.inpaint` does.
    """
    # lazy: TensorFlow not needed for gi-app --help
    from gi_tf.inference.large_images import hole_window
    from gi_tf.inference.large_images import working_size  # lazy: TensorFlow start-up

    height, width = holes.shape
    notes = []
    if config.crop_to_hole:
        window = hole_window(holes, config.crop_to_hole)
        height, width = window.bottom - window.top, window.right - window.left
        if (height, width) != holes.shape:
            notes.append(f"Only a {width}x{height} window around the hole (margin "
                         f"{config.crop_to_hole} px) was processed.")
    if config.max_side not in (None, AUTO):
        small_h, small_w = working_size(height, width, config.max_side)
        if (small_h, small_w) != (height, width):
            notes.append(f"The network worked on a {small_w}x{small_h} copy (longer side "
                         f"at most {config.max_side} px); the filled hole was upscaled and "
                         "pasted into the full-resolution image.")
    return notes


def resolve_max_side(inpainter, image, holes, config):
    """``(config with a concrete max_side, notes)``: the ``"auto"`` rule from the plan.

    Full resolution when the model's plan (``Inpainter.plan``) estimates the request's
    working memory within ``config.max_request_gb``; else :data:`DEFAULT_MAX_SIDE`, with a
    sentence saying why. A model that cannot plan (an old export) gets the reduced copy.
    """
    if config.max_side != AUTO:
        return config, []
    # lazy: TensorFlow not needed for gi-app --help
    from gi_tf.inference.large_images import working_size

    height, width = image.shape[:2]
    if max(height, width) <= DEFAULT_MAX_SIDE:
        return dataclasses.replace(config, max_side=None), []
    try:
        cost = inpainter.plan(image.shape, holes, config.window)
    except (AttributeError, ValueError):
        cost = None
    if cost is not None and cost["peak_bytes"] <= config.max_request_gb * 1e9:
        return dataclasses.replace(config, max_side=None), []
    small_h, small_w = working_size(height, width, DEFAULT_MAX_SIDE)
    why = ("this model cannot estimate its cost" if cost is None else
           f"at full resolution it would need an estimated {cost['peak_bytes'] / 1e9:.1f} GB "
           f"of memory, more than this page's {config.max_request_gb:g} GB "
           "(gi-app --max_request_gb)")
    note = (f"The photo was reduced to {small_w}x{small_h} for the network because {why}; "
            "the filled hole was upscaled and pasted into the full-resolution image.")
    return dataclasses.replace(config, max_side=DEFAULT_MAX_SIDE), [note]


def run_inpaint(inpainter, image, holes, config):
    """Run ``inpainter`` with the config's large-image strategies.

    Returns:
        ``(result, attention)``, uint8 RGB ``[H, W, 3]`` each.

    Raises:
        InputError: the inpainter rejected the mask (e.g. it covers the whole window).
    """
    strategy = {"max_side": config.max_side}
    if config.crop_to_hole:  # passed only when on: False is the Inpainter's default
        strategy["crop_to_hole"] = config.crop_to_hole
    if config.window != "auto":  # likewise: "auto" is the Inpainter's default
        strategy["window"] = config.window
    try:
        return inpainter.inpaint(image, holes, return_attention=True, **strategy)
    except ValueError as err:
        raise InputError(f"Could not inpaint: {err}.") from err


def status_text(image, holes, seconds, notes):
    """One markdown paragraph: what was filled, how long it took, and any notes."""
    height, width = image.shape[:2]
    count = int(holes.sum())
    done = (f"Filled {count} pixels ({100.0 * count / holes.size:.1f} % of the "
            f"{width}x{height} image) in {seconds:.1f} s.")
    return " ".join([done] + list(notes))


def handle_request(inpainter, value, config):
    """The whole request: editor value -> :class:`Outcome`.

    Raises:
        InputError: anything wrong with the request (see the functions above).
    """
    image, holes, notes = editor_to_arrays(value)
    check_request(image, holes, config)
    config, reduced = resolve_max_side(inpainter, image, holes, config)
    notes = notes + (reduced or strategy_notes(holes, config))
    start = time.perf_counter()
    result, attention = run_inpaint(inpainter, image, holes, config)
    seconds = time.perf_counter() - start
    return Outcome(result=result, attention=attention, holes=holes,
                   status=status_text(image, holes, seconds, notes))
