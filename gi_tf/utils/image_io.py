"""Reading and writing images and masks (uint8 RGB in memory), with clear errors.

Everything gi_tf keeps in memory is **RGB**. Files are decoded with OpenCV, which yields
BGR(A); the conversion happens here and nowhere else. The released DeepFill v1 weights
expect BGR in [-1, 1]; :mod:`gi_tf.inference.inpainter` handles that with :func:`rgb_to_bgr`.

Conventions reproduced from the authors' ``test.py`` (JiahuiYu/generative_inpainting,
branch ``v1.0.0``):

* pixels map to [-1, 1] by ``x / 127.5 - 1`` (:func:`to_float`);
* outputs map back by ``(x + 1) * 127.5``, clamped to [0, 255] and **truncated** toward
  zero, not rounded (TF's ``saturate_cast``; :func:`to_uint8_truncate`);
* a mask pixel is a hole where the first channel of OpenCV's BGR decode (blue; any
  channel of a grey or black-and-white mask) is > 127.5, i.e. >= 128 (:func:`read_mask`).

Readers take an optional ``return_notes=True`` and then also return a list of short
human-readable notes about conversions (16-bit -> 8-bit, grey -> RGB, dropped alpha), so
command-line tools can print them. JPEG files get their EXIF orientation applied (as
``cv2.imread`` does); other formats are used as stored.
"""

import os

import numpy as np

from gi_tf.utils import files

_WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_JPEG_MAGIC = b"\xff\xd8\xff"


def _cv2():
    import cv2  # lazy, keeps `import gi_tf.utils.image_io` cheap

    return cv2


def _decode(path, kind):
    """File -> (array as OpenCV decodes it: uint8/uint16, [H, W, C] BGR(A), C in 1..4)."""
    cv2 = _cv2()
    path = os.fspath(path)
    if not files.exists(path):
        raise FileNotFoundError(f"{kind} file not found: {path}")
    if files.isdir(path):
        raise ValueError(f"{kind} path is a directory, not a file: {path}")
    try:
        data = np.frombuffer(files.read_bytes(path), dtype=np.uint8)
    except OSError as err:
        raise ValueError(f"cannot read {kind} file {path}: {err.strerror or err}") from err
    if data.size == 0:
        raise ValueError(f"{kind} file is empty: {path}")
    # JPEG cannot carry alpha: decode it like cv2.imread (EXIF orientation applied); keep
    # other formats unchanged so that alpha and 16-bit depth are visible here.
    if data[:3].tobytes() == _JPEG_MAGIC:
        flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH
    else:
        flags = cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(data, flags)
    if image is None or image.size == 0:
        raise ValueError(
            f"cannot decode {kind} file {path}: not an image format OpenCV reads, "
            "or the file is truncated/corrupt"
        )
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            f"{kind} file {path} has {image.dtype} pixels; only 8- and 16-bit images are supported"
        )
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{kind} file {path} decodes to unsupported shape {image.shape}")
    return image


def read_image(path, return_notes=False):
    """Read an image file as uint8 RGB.

    Conversions (each adds a note): 16-bit -> 8-bit by ``round(x / 257)`` (65535 -> 255);
    grey -> RGB by repeating the channel; grey+alpha and RGBA -> drop alpha (pixels are
    not composited over a background).

    Args:
        path: str or path-like; any format OpenCV decodes (PNG, JPEG, BMP, TIFF, WebP...).
        return_notes: also return the list of conversion notes.

    Returns:
        uint8 array ``[H, W, 3]``, RGB; or ``(image, notes)`` with ``return_notes=True``.

    Raises:
        FileNotFoundError: the path does not exist (the message names it).
        ValueError: a directory, unreadable, empty, corrupt or non-image file, or an
            unsupported pixel type (the message names the path).
    """
    image = _decode(path, "image")
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


def read_mask(path, return_notes=False):
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

    Returns:
        bool array ``[H, W]``; or ``(mask, notes)`` with ``return_notes=True``.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_image`, naming the path.
    """
    image = _decode(path, "mask")
    notes = []
    threshold = 32768 if image.dtype == np.uint16 else 128
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
    mask = image[..., 0] >= threshold
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


def normalise_mask(mask):
    """Bring a mask to the generator's layout: float32 ``[N, H, W, 1]``, 1 = hole, 0 = known.

    Accepted values: bool (True = hole); uint8 (>= 128 = hole); float in [0, 1]
    (> 0.5 = hole; nominally {0, 1}). Other dtypes, and floats outside [0, 1] or
    non-finite, are rejected rather than guessed (a 0..255 float mask would otherwise
    become all hole).

    Accepted shapes: ``[H, W]`` and ``[H, W, 1]`` -> ``N = 1``; ``[N, H, W]``;
    ``[N, H, W, 1]``. A 3-D array whose last dimension is 1 is read as ``[H, W, 1]``.

    Args:
        mask: array-like (NumPy or eager tensor).

    Returns:
        float32 array ``[N, H, W, 1]`` with values in {0, 1}.

    Raises:
        ValueError: unsupported dtype, value range or shape (named in the message).

    Example:
        >>> normalise_mask(np.array([[0, 200]], np.uint8)).reshape(-1).tolist()
        [0.0, 1.0]
    """
    m = np.asarray(mask)
    if m.dtype == bool:
        hole = m
    elif m.dtype == np.uint8:
        hole = m >= 128
    elif np.issubdtype(m.dtype, np.floating):
        if m.size and not np.all(np.isfinite(m)):
            raise ValueError("float mask contains NaN or infinity")
        if m.size and (m.min() < 0.0 or m.max() > 1.0):
            raise ValueError(f"float mask values must be in [0, 1] (1 = hole); got range "
                             f"[{m.min()}, {m.max()}]; pass uint8 for 0..255 masks")
        hole = m > 0.5
    else:
        raise ValueError(f"mask dtype {m.dtype} is not supported; use bool, uint8 "
                         "(>= 128 = hole) or float in [0, 1] (> 0.5 = hole)")
    if m.ndim == 2:
        hole = hole[None, :, :, None]
    elif m.ndim == 3:
        hole = hole[None] if m.shape[-1] == 1 else hole[..., None]
    elif m.ndim != 4 or m.shape[-1] != 1:
        raise ValueError(f"mask shape {m.shape} is not supported; use [H,W], [H,W,1], "
                         "[N,H,W] or [N,H,W,1]")
    if 0 in hole.shape[:3]:
        raise ValueError(f"mask shape {m.shape} is empty")
    return hole.astype(np.float32)
