"""Reading and writing images and masks (uint8 RGB in memory), with clear errors.

Files are decoded with OpenCV (BGR); the conversion to RGB happens here and nowhere else.
Conversions follow the authors' ``test.py``: :func:`to_float` (``x / 127.5 - 1``) and
:func:`to_uint8_truncate` (clamp, then truncate). The mask rule (what counts as a hole) is
written once, here: :func:`holes_from_mask`, :data:`MASK_THRESHOLD`,
:data:`FLOAT_MASK_THRESHOLD`; the graph functions use the same constants. Readers take
``return_notes=True`` for the conversions they made (16 -> 8 bits, grey -> RGB, alpha
dropped) and ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`), checked on the file's
header before decoding (:func:`encoded_image_size`), raising :class:`ImageTooLargeError`.
"""

import os

import numpy as np

from gi_tf.utils import files

_WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DEFAULT_MAX_PIXELS = 50_000_000  # e.g. 8660 x 5770; a 12 MP photo is 4x below it
_HEADER_BYTES = 32
MASK_THRESHOLD = 128  # a uint8 mask pixel >= 128 is a hole (the original's > 127.5 on 0..255)
FLOAT_MASK_THRESHOLD = 0.5  # a float mask pixel (in [0, 1]) > 0.5 is a hole
MASK_RULE = (f"bool (True = hole), uint8 (>= {MASK_THRESHOLD} = hole) or float in [0, 1] "
             f"(> {FLOAT_MASK_THRESHOLD} = hole)")


class ImageTooLargeError(ValueError):
    """An image with more pixels than the limit (found before decoding where possible)."""


def pixel_limit_message(what, height, width, max_pixels):
    """The sentence of :class:`ImageTooLargeError` (``what``: e.g. ``"image file x.png"``)."""
    return (f"{what} is {width}x{height} = {height * width / 1e6:.1f} megapixels, above the "
            f"limit of {max_pixels / 1e6:g} megapixels (max_pixels={max_pixels}); raise the "
            "limit (--max_pixels) if the image is meant to be this large")


def check_pixels(what, height, width, max_pixels):
    """Raise :class:`ImageTooLargeError` when ``height * width > max_pixels`` (None: no limit)."""
    if max_pixels is not None and int(height) * int(width) > max_pixels:
        raise ImageTooLargeError(pixel_limit_message(what, int(height), int(width), max_pixels))


def encoded_image_size(data):
    """int64 ``[2]`` = (height, width) that encoded image bytes declare; (-1, -1) if unknown.

    TensorFlow ops (usable in a graph: ``inpaint_encoded`` runs it, and eagerly:
    :func:`declared_size`); nothing is decoded. Read from the header: PNG (``IHDR``),
    JPEG (the frame header, ``tf.io.extract_jpeg_shape``), GIF (logical screen), BMP
    (info header; negative heights of top-down files count by magnitude), WebP (``VP8``,
    ``VP8L``, ``VP8X`` canvas). Other formats give (-1, -1). A JPEG whose header cannot
    be parsed raises ``InvalidArgumentError`` (its decode would fail the same way).

    Args:
        data: scalar string tensor (or bytes), the encoded file.
    """
    # lazy: TensorFlow not needed for reading files or --help
    import tensorflow as tf

    data = tf.convert_to_tensor(data, tf.string)
    head = tf.strings.substr(tf.strings.join([data, b"\0" * _HEADER_BYTES]), 0, _HEADER_BYTES)
    octets = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

    def number(start, length, big_endian=False):
        order = range(length) if big_endian else range(length - 1, -1, -1)
        value = tf.constant(0, tf.int64)
        for k in order:
            value = value * 256 + octets[start + k]
        return value

    def starts(magic, at=0):
        return tf.equal(tf.strings.substr(head, at, len(magic)), magic)

    bmp_height = number(22, 4)
    bmp_height = tf.where(bmp_height >= 2 ** 31, 2 ** 32 - bmp_height, bmp_height)
    vp8l = number(21, 4)
    webp = starts(b"RIFF") & starts(b"WEBP", 8)
    known = [  # (condition, height, width), first match wins
        (starts(_PNG_MAGIC), number(20, 4, True), number(16, 4, True)),
        (starts(b"GIF8"), number(8, 2), number(6, 2)),
        (starts(b"BM") & tf.equal(number(14, 4), 12), number(20, 2), number(18, 2)),
        (starts(b"BM"), bmp_height, number(18, 4)),
        (webp & starts(b"VP8 ", 12), number(28, 2) % 16384, number(26, 2) % 16384),
        (webp & starts(b"VP8L", 12), (vp8l // 16384) % 16384 + 1, vp8l % 16384 + 1),
        (webp & starts(b"VP8X", 12), number(27, 3) + 1, number(24, 3) + 1),
    ]
    size = tf.constant([-1, -1], tf.int64)
    for condition, height, width in reversed(known):
        size = tf.where(condition, tf.stack([height, width]), size)
    return tf.cond(starts(_JPEG_MAGIC),
                   lambda: tf.cast(tf.io.extract_jpeg_shape(data)[:2], tf.int64),
                   lambda: size)


_declared_size_fn = None


def declared_size(data):
    """``(height, width)`` from the header of encoded ``data`` (bytes), or None when the
    format's header is not read here or cannot be parsed (then decoding says what is
    wrong). See :func:`encoded_image_size`."""
    global _declared_size_fn
    # lazy: TensorFlow not needed for reading files or --help
    import tensorflow as tf

    if _declared_size_fn is None:
        _declared_size_fn = tf.function(
            encoded_image_size, input_signature=[tf.TensorSpec([], tf.string)])
    try:
        height, width = _declared_size_fn(tf.constant(bytes(data))).numpy()
    except tf.errors.OpError:
        return None
    return None if height < 0 else (int(height), int(width))


def _cv2():
    import cv2  # lazy, keeps `import gi_tf.utils.image_io` cheap

    return cv2


def _decode(path, kind, max_pixels=DEFAULT_MAX_PIXELS):
    """File -> (array as OpenCV decodes it: uint8/uint16, [H, W, C] BGR(A), C in 1..4).

    The pixel limit is checked on the header before decoding, and again after it.
    """
    path = os.fspath(path)
    if not files.exists(path):
        raise FileNotFoundError(f"{kind} file not found: {path}")
    if files.isdir(path):
        raise ValueError(f"{kind} path is a directory, not a file: {path}")
    try:
        data = files.read_bytes(path)
    except OSError as err:
        raise ValueError(f"cannot read {kind} file {path}: {err.strerror or err}") from err
    return _decode_bytes(data, path, kind, max_pixels)


def _decode_bytes(data, path, kind, max_pixels=DEFAULT_MAX_PIXELS):
    """A file's bytes -> the array of :func:`_decode` (``path`` only names it in errors)."""
    cv2 = _cv2()
    data = np.frombuffer(data, dtype=np.uint8)
    if data.size == 0:
        raise ValueError(f"{kind} file is empty: {path}")
    if max_pixels is not None:
        size = declared_size(data.tobytes())
        if size is not None:
            check_pixels(f"{kind} file {path}", *size, max_pixels)
    # JPEG cannot carry alpha: decode it like cv2.imread (EXIF orientation applied); keep
    # other formats unchanged so that alpha and 16-bit depth are visible here.
    if data[:3].tobytes() == _JPEG_MAGIC:
        flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH
    else:
        flags = cv2.IMREAD_UNCHANGED
    try:
        image = cv2.imdecode(data, flags)
    except cv2.error as err:  # e.g. above OpenCV's own pixel bound
        raise ValueError(f"cannot decode {kind} file {path}: {str(err).strip()}") from err
    if image is None or image.size == 0:
        raise ValueError(
            f"cannot decode {kind} file {path}: not an image format OpenCV reads, "
            "or the file is truncated/corrupt"
        )
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            f"{kind} file {path} has {image.dtype} pixels; only 8- and 16-bit images are supported"
        )
    check_pixels(f"{kind} file {path}", image.shape[0], image.shape[1], max_pixels)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{kind} file {path} decodes to unsupported shape {image.shape}")
    return image


def read_image(path, return_notes=False, max_pixels=DEFAULT_MAX_PIXELS):
    """Read an image file as uint8 RGB.

    Conversions (each adds a note): 16-bit -> 8-bit by ``round(x / 257)`` (65535 -> 255);
    grey -> RGB by repeating the channel; grey+alpha and RGBA -> drop alpha (pixels are
    not composited over a background).

    Args:
        path: str or path-like; any format OpenCV decodes (PNG, JPEG, BMP, TIFF, WebP...).
        return_notes: also return the list of conversion notes.
        max_pixels: refuse images with more pixels (module doc); None = no limit.

    Returns:
        uint8 array ``[H, W, 3]``, RGB; or ``(image, notes)`` with ``return_notes=True``.

    Raises:
        FileNotFoundError: the path does not exist (the message names it).
        ValueError: a directory, unreadable, empty, corrupt or non-image file, or an
            unsupported pixel type (the message names the path);
            :class:`ImageTooLargeError` above ``max_pixels``.
    """
    return _image_from_decoded(_decode(path, "image", max_pixels), return_notes)


def image_from_bytes(data, path, return_notes=False, max_pixels=DEFAULT_MAX_PIXELS):
    """:func:`read_image` of a file's bytes already read (e.g. through Apache Beam's
    filesystems); ``path`` names the file in errors. Same decoding, checks and notes."""
    return _image_from_decoded(_decode_bytes(data, os.fspath(path), "image", max_pixels),
                               return_notes)


def _image_from_decoded(image, return_notes):
    notes = []
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
        notes.append("converted 16-bit to 8-bit (value / 257, rounded)")
    channels = image.shape[-1]
    if channels in (2, 4):
        alpha = image[..., -1]
        opaque = bool(np.all(alpha == 255))
        notes.append("dropped the alpha channel" + (
            "" if opaque else " (it was not fully opaque; colours are kept as stored, "
            "not composited)"))
        image = image[..., :-1]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
        notes.append("converted grayscale to RGB")
    else:
        image = image[..., ::-1]
    image = np.ascontiguousarray(image)
    return (image, notes) if return_notes else image


def read_mask(path, return_notes=False, max_pixels=DEFAULT_MAX_PIXELS):
    """Read a mask file as a boolean hole map (True = hole, to be filled).

    The hole test is the original's: the **first channel of OpenCV's BGR decode** (blue;
    for grey or black-and-white masks any channel) is >= 128 for 8-bit files (> 127.5)
    and >= 32768 for 16-bit files (the same pixels after OpenCV's 16 -> 8-bit shift). The
    alpha channel of RGBA / grey+alpha files is **ignored**, as ``cv2.imread`` ignores it,
    so transparent pixels count by their stored colour. Notes report ignored transparency
    and colour masks whose channels differ (only blue is used, so e.g. pure red strokes
    are not holes).

    Args:
        path: str or path-like.
        return_notes: also return the list of notes.
        max_pixels: as :func:`read_image`.

    Returns:
        bool array ``[H, W]``; or ``(mask, notes)`` with ``return_notes=True``.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_image`, naming the path.
    """
    return _mask_from_decoded(_decode(path, "mask", max_pixels), return_notes)


def mask_from_bytes(data, path, return_notes=False, max_pixels=DEFAULT_MAX_PIXELS):
    """:func:`read_mask` of a file's bytes already read; ``path`` names the file in errors."""
    return _mask_from_decoded(_decode_bytes(data, os.fspath(path), "mask", max_pixels),
                              return_notes)


def _mask_from_decoded(image, return_notes):
    notes = []
    channels = image.shape[-1]
    if channels in (2, 4):
        alpha = image[..., -1]
        if not np.all(alpha == np.iinfo(image.dtype).max):
            notes.append("mask alpha channel ignored (transparent pixels count by their colour)")
        image = image[..., :-1]
    if image.shape[-1] == 3 and not (np.array_equal(image[..., 0], image[..., 1])
                                     and np.array_equal(image[..., 0], image[..., 2])):
        notes.append("mask channels differ; holes are read from the blue channel only "
                     "(as the original test.py does)")
    first = image[..., 0]
    if first.dtype == np.uint16:
        first = (first >> 8).astype(np.uint8)  # OpenCV's 16 -> 8-bit shift: >= 32768 = hole
    mask = holes_from_mask(first)
    return (mask, notes) if return_notes else mask


def write_image_atomic(path, image, jpeg_quality=95):
    """Write a uint8 RGB (or grey) image so that readers never see a partial file.

    The file is encoded in memory (``cv2.imencode``) and written with
    :func:`gi_tf.utils.files.write_bytes`: a unique temporary file beside ``path``, flushed
    (and fsynced on a local disk), then renamed over ``path``. On any failure the
    temporary file is removed and an existing file at ``path`` is left untouched. Parent
    directories are created; an existing file's permission bits are kept.

    Args:
        path: destination, local or any TF filesystem (``gs://``, ``ram://``); the
            extension picks the format: ``.png`` or ``.jpg``/``.jpeg``.
        image: uint8 ``[H, W, 3]`` RGB, or ``[H, W]`` / ``[H, W, 1]`` grey.
        jpeg_quality: 0..100, JPEG only.

    Returns:
        ``path`` as a str.

    Raises:
        ValueError: unsupported extension, dtype or shape (naming the path).
        OSError: a :class:`gi_tf.utils.files.FileWriteError`: the directory cannot be
            created or written (the message names the path and the cause; the subclass
            follows errno, e.g. PermissionError).
    """
    cv2 = _cv2()
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _WRITE_EXTENSIONS:
        raise ValueError(f"cannot write {path}: extension {ext!r} is not one of "
                         f"{', '.join(_WRITE_EXTENSIONS)}")
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"cannot write {path}: image must be uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 3:
        image = rgb_to_bgr(image)
    elif image.ndim != 2:
        raise ValueError(f"cannot write {path}: image must be [H,W,3] RGB or [H,W] grey, "
                         f"got shape {image.shape}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext != ".png" else []
    ok, encoded = cv2.imencode(ext, np.ascontiguousarray(image), params)
    if not ok:
        raise ValueError(f"cannot write {path}: OpenCV failed to encode the image as {ext}")

    return files.write_bytes(path, encoded.tobytes())


def to_float(image):
    """uint8 pixels -> float32 in [-1, 1] by ``x / 127.5 - 1`` (the original's mapping).

    Args:
        image: uint8 array of any shape (RGB or BGR alike).

    Returns:
        float32 array of the same shape; 0 -> -1, 255 -> 1.

    Raises:
        ValueError: the input is not uint8 (catches converting twice).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"to_float expects uint8 pixels; got dtype {image.dtype}")
    return image.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def to_uint8_truncate(image):
    """[-1, 1] floats -> uint8 exactly like the original's output conversion.

    ``(x + 1) * 127.5`` in float32, clamped to [0, 255], then **truncated** toward zero
    (TF ``saturate_cast``), not rounded: 0.999 -> 254, 1.0 -> 255, -1.01 -> 0. NaN -> 0.

    Args:
        image: float array of any shape, nominally in [-1, 1].

    Returns:
        uint8 array of the same shape.
    """
    x = np.asarray(image, dtype=np.float32)
    scaled = (x + np.float32(1.0)) * np.float32(127.5)
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.clip(scaled, 0.0, 255.0).astype(np.uint8)


def _reverse_channels(image, name):
    image = np.asarray(image)
    if image.ndim < 1 or image.shape[-1] != 3:
        raise ValueError(f"{name} expects a last dimension of 3; got shape {image.shape}")
    return np.ascontiguousarray(image[..., ::-1])


def rgb_to_bgr(image):
    """Reverse the last axis of ``[..., 3]`` (RGB -> BGR); returns a contiguous copy."""
    return _reverse_channels(image, "rgb_to_bgr")


def bgr_to_rgb(image):
    """Reverse the last axis of ``[..., 3]`` (BGR -> RGB); returns a contiguous copy."""
    return _reverse_channels(image, "bgr_to_rgb")


def holes_from_mask(mask):
    """The mask rule: a bool hole map (True = hole) from a mask array of any shape.

    bool: True = hole; uint8: ``>= MASK_THRESHOLD`` (128, the original's ``> 127.5``);
    float: values must lie in [0, 1] (NaN and infinities refused, as is a 0..255 float
    mask, which would otherwise become all hole), ``> FLOAT_MASK_THRESHOLD`` (0.5) = hole.
    The graph's version of this rule is
    :func:`gi_tf.inference.preprocessing.holes_from_uint8` and the float check of
    :func:`gi_tf.inference.preprocessing.inpaint_float` (same constants).

    Raises:
        TypeError: any other dtype. ValueError: float values outside [0, 1] or NaN.

    Example:
        >>> holes_from_mask(np.array([0, 127, 128, 255], np.uint8)).tolist()
        [False, False, True, True]
    """
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return mask
    if mask.dtype == np.uint8:
        return mask >= MASK_THRESHOLD
    if np.issubdtype(mask.dtype, np.floating):
        if mask.size and not (np.abs(mask.astype(np.float64) - 0.5) <= 0.5).all():
            raise ValueError(
                f"a float mask must hold values in [0, 1] (> {FLOAT_MASK_THRESHOLD} = hole), "
                f"without NaN; got range [{mask.min()}, {mask.max()}] (pass uint8 for 0..255 "
                "masks)")
        return mask > FLOAT_MASK_THRESHOLD
    raise TypeError(f"mask must be {MASK_RULE}; got dtype {mask.dtype}")
