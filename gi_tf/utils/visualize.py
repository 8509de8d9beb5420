"""Colour-coded attention offsets, legends and image panels (all RGB).

The offsets of contextual attention are coloured with the authors' Middlebury colour wheel
(their ``flow_to_image``): white = no offset, saturation = length, hue = direction
(:func:`legend_image`). :func:`offsets_to_rgb` uses ``keras.ops`` only (graphs with
dynamic shapes, JAX); :func:`offsets_to_rgb_numpy` is its float64 reference;
:func:`attention_map` enlarges the 1/8-resolution offsets by pixel duplication. The
original's TensorBoard strips swap red and blue (neuralgym assumes BGR); gi_tf does not.
"""

import functools

import numpy as np

# Segment lengths of the colour wheel: red-yellow, yellow-green, green-cyan, cyan-blue,
# blue-magenta, magenta-red.
_SEGMENTS = (("RY", 15), ("YG", 6), ("GC", 4), ("CB", 11), ("BM", 13), ("MR", 6))
_NUM_COLORS = 55
_EPS64 = float(np.finfo(np.float64).eps)  # added to the maximum radius, as the original does
_UNKNOWN = 1e7  # |offset| above this is "unknown" and treated as 0
_QUIRK_LIMIT = 1023  # |delta| bound of the float64 rounding table (see offsets_to_rgb)


def color_wheel():
    """The authors' 55-entry colour wheel.

    Segments (``i`` counts from 0 inside each segment, ``r(n) = floor(255 * i / n)``):
    RY 15 entries (255, r(15), 0); YG 6 (255 - r(6), 255, 0); GC 4 (0, 255, r(4));
    CB 11 (0, 255 - r(11), 255); BM 13 (r(13), 0, 255); MR 6 (255, 0, 255 - r(6)).

    Returns:
        float64 array ``[55, 3]``, RGB values in 0..255 (a new array on every call).
    """
    rows = []
    for name, n in _SEGMENTS:
        ramp = np.floor(255.0 * np.arange(n) / n)
        full, zero = np.full(n, 255.0), np.zeros(n)
        rows.append({
            "RY": (full, ramp, zero),
            "YG": (255.0 - ramp, full, zero),
            "GC": (zero, full, ramp),
            "CB": (zero, 255.0 - ramp, full),
            "BM": (ramp, zero, full),
            "MR": (full, zero, 255.0 - ramp),
        }[name])
    return np.concatenate([np.stack(r, axis=1) for r in rows], axis=0)


def _check_offsets_shape(shape):
    if len(shape) != 4 or (shape[-1] is not None and shape[-1] != 2):
        raise ValueError(
            f"offsets must have shape [batch, height, width, 2] (delta row, delta col); "
            f"got shape {tuple(shape)}"
        )


def _compute_color_numpy(u, v):
    """Wheel colour of normalised (u = delta row, v = delta col), float64, as the original."""
    wheel = color_wheel()
    rad = np.sqrt(u**2 + v**2)
    angle = np.arctan2(-v, -u) / np.pi  # -0.0 matters: v == 0, u > 0 gives -1, not +1
    fk = (angle + 1) / 2 * (_NUM_COLORS - 1) + 1
    k0 = np.floor(fk).astype(np.int64)
    k1 = k0 + 1
    k1[k1 == _NUM_COLORS + 1] = 1
    f = (fk - k0)[..., None]
    col = (1 - f) * (wheel[k0 - 1] / 255) + f * (wheel[k1 - 1] / 255)
    inside = (rad <= 1)[..., None]
    col = np.where(inside, 1 - rad[..., None] * (1 - col), col * 0.75)
    return np.floor(255 * col).astype(np.uint8)


def offsets_to_rgb_numpy(offsets, running_max=True):
    """Colour-code attention offsets with float64 NumPy, exactly as the original.

    Steps (per sample, in batch order): offsets with ``|.| > 1e7`` become 0; radius
    ``sqrt(drow^2 + dcol^2)``; divide both components by the maximum radius plus float64
    machine eps; angle ``atan2(-dcol, -drow) / pi`` picks a blend of two neighbouring
    wheel entries (wrapping from the last to the first); where the normalised radius is
    <= 1 the colour is faded towards white by ``1 - rad * (1 - colour)``, elsewhere it is
    darkened to 75 % (float64 rounding makes this happen for a few maximum-radius
    offsets, e.g. (19, 29)); the pixel is ``floor(255 * colour)``.

    Args:
        offsets: integer (or float, finite) array ``[B, h, w, 2]``; channel 0 = delta row,
            channel 1 = delta col, in grid cells.
        running_max: True (the original) normalises sample ``i`` by the largest radius in
            samples ``0..i``, so results depend on batch order; False normalises each
            sample by its own maximum.

    Returns:
        uint8 array ``[B, h, w, 3]``, RGB. Zero offset -> (255, 255, 255).

    Raises:
        ValueError: wrong shape, non-numeric dtype or non-finite values.

    Example:
        >>> offsets_to_rgb_numpy(np.zeros([1, 1, 2, 2], np.int32))[0, 0].tolist()
        [[255, 255, 255], [255, 255, 255]]
    """
    x = np.asarray(offsets)
    _check_offsets_shape(x.shape)
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer)
                               or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"offsets must be an integer or float array; got dtype {x.dtype}")
    x = x.astype(np.float64)  # a copy: the original zeroed unknown values in place
    if not np.all(np.isfinite(x)):
        raise ValueError("offsets must be finite")
    if x.size == 0:
        return np.zeros(x.shape[:-1] + (3,), np.uint8)
    u, v = x[..., 0], x[..., 1]
    unknown = (np.abs(u) > _UNKNOWN) | (np.abs(v) > _UNKNOWN)
    u[unknown] = 0
    v[unknown] = 0
    per_sample = np.sqrt(u**2 + v**2).max(axis=(1, 2))
    max_rad = np.maximum.accumulate(per_sample) if running_max else per_sample
    denom = (np.maximum(max_rad, -1.0) + _EPS64)[:, None, None]
    return _compute_color_numpy(u / denom, v / denom)


@functools.lru_cache(maxsize=None)
def _rounding_quirk_codes():
    """Sorted codes ``a * 1024 + b`` of |offsets| (a, b) <= 1023 whose float64 radius,
    normalised by itself, exceeds 1 (so the original darkens them when they are the max)."""
    n = np.arange(_QUIRK_LIMIT + 1, dtype=np.float64)
    a, b = np.meshgrid(n, n, indexing="ij")
    r = np.sqrt(a**2 + b**2) + _EPS64
    over = np.sqrt((a / r) ** 2 + (b / r) ** 2) > 1
    codes = (a * (_QUIRK_LIMIT + 1) + b)[over].astype(np.int32)
    codes.setflags(write=False)
    return codes


def _darkened(ops, u, v, rad_sq, max_sq):
    """Pixels the float64 original sends to its ``* 0.75`` branch (exact table lookup)."""
    table = ops.convert_to_tensor(np.asarray(_rounding_quirk_codes()), dtype="int32")
    au = ops.cast(ops.abs(u), "int32")
    av = ops.cast(ops.abs(v), "int32")
    candidate = (au <= _QUIRK_LIMIT) & (av <= _QUIRK_LIMIT) & (rad_sq == max_sq)
    codes = ops.where(candidate, au * (_QUIRK_LIMIT + 1) + av, -1)
    flat = ops.reshape(codes, (-1,))
    pos = ops.minimum(ops.searchsorted(table, flat), int(table.shape[0]) - 1)
    hit = ops.reshape(ops.take(table, pos, axis=0) == flat, ops.shape(codes))
    return candidate & hit


def _running_max(ops, values):
    """Inclusive running maximum of a non-negative vector [B], without a Python loop."""
    order = ops.cumsum(ops.ones_like(values, dtype="int32"))
    earlier_or_same = order[None, :] <= order[:, None]  # [i, j]: sample j is at or before i
    return ops.max(ops.where(earlier_or_same, values[None, :], 0.0), axis=1, initial=0.0)


def offsets_to_rgb(offsets, running_max=True):
    """Colour-code attention offsets in-graph with ``keras.ops`` (TF graphs and JAX).

    Same math as :func:`offsets_to_rgb_numpy`, computed in float32 with dynamic
    ``B, h, w``; the output may differ from the float64 NumPy original by at most 1 level
    per channel (``floor`` boundaries). Two float64 effects are reproduced exactly, not
    approximated: the sign of zero in ``atan2`` (a pure +delta-row offset takes wheel
    entry 0, not 54), and the rare maximum-radius offsets whose float64 normalised radius
    rounds above 1 and which the original darkens to 75 % (looked up in a table built
    once with NumPy for ``|delta| <= 1023``; larger offsets are never darkened). The
    integer radius test is exact for ``|delta| <= 2896``.

    Args:
        offsets: integer tensor ``[B, h, w, 2]`` (int32 from ``ContextualAttention``);
            channel 0 = delta row, channel 1 = delta col. ``|.| > 1e7`` counts as 0.
        running_max: True (the original) normalises sample ``i`` by the largest radius of
            samples ``0..i`` (batch order matters, computed with a lower-triangular mask);
            False normalises each sample by its own maximum.

    Returns:
        uint8 tensor ``[B, h, w, 3]``, RGB. Zero offset -> (255, 255, 255).

    Raises:
        ValueError: wrong rank / last dimension, or a non-integer dtype.
    """
    from keras import backend  # lazy: the NumPy helpers must not pull in a backend
    from keras import ops  # lazy: the NumPy helpers must not pull in a backend

    offsets = ops.convert_to_tensor(offsets)
    _check_offsets_shape(tuple(offsets.shape))
    dtype = backend.standardize_dtype(offsets.dtype)
    if "int" not in dtype:
        raise ValueError(f"offsets must have an integer dtype (int32); got {dtype}")
    x = ops.cast(offsets, "float32")
    u, v = x[..., 0], x[..., 1]
    unknown = (ops.abs(u) > _UNKNOWN) | (ops.abs(v) > _UNKNOWN)
    u = ops.where(unknown, 0.0, u)
    v = ops.where(unknown, 0.0, v)
    rad_sq = u * u + v * v  # integer-valued, exact in float32 below 2**24
    per_sample = ops.max(rad_sq, axis=(1, 2), initial=0.0)  # [B]; initial: empty maps
    if running_max:
        per_sample = _running_max(ops, per_sample)
    max_sq = per_sample[:, None, None]
    denom = ops.sqrt(max_sq) + _EPS64
    un, vn = u / denom, v / denom
    rad = ops.minimum(ops.sqrt(un * un + vn * vn), 1.0)
    angle = ops.arctan2(-vn, -un) / np.pi
    # float64 NumPy sees atan2(-0.0, negative) = -pi; do not rely on the backend for it.
    angle = ops.where((v == 0.0) & (u > 0.0), -1.0, angle)
    fk = (angle + 1.0) / 2.0 * float(_NUM_COLORS - 1) + 1.0
    k0f = ops.clip(ops.floor(fk), 1.0, float(_NUM_COLORS))
    f = (fk - k0f)[..., None]
    k0 = ops.cast(k0f, "int32")
    k1 = ops.where(k0 == _NUM_COLORS, 1, k0 + 1)
    wheel = ops.convert_to_tensor(color_wheel() / 255.0, dtype="float32")
    col = (1.0 - f) * ops.take(wheel, k0 - 1, axis=0) + f * ops.take(wheel, k1 - 1, axis=0)
    dark = _darkened(ops, u, v, rad_sq, max_sq)[..., None]
    col = ops.where(dark, col * 0.75, 1.0 - rad[..., None] * (1.0 - col))
    return ops.cast(ops.clip(ops.floor(255.0 * col), 0.0, 255.0), "uint8")


def upsample_nearest(image, factor):
    """Enlarge by an integer factor through pixel duplication (exact, no interpolation).

    Args:
        image: array ``[H, W]``, ``[H, W, C]`` or ``[B, H, W, C]``, any dtype.
        factor: positive int; every pixel becomes a ``factor x factor`` block.

    Returns:
        Array of the same dtype, spatial size ``[H * factor, W * factor]``.
    """
    image = np.asarray(image)
    if isinstance(factor, bool) or int(factor) != factor or factor < 1:
        raise ValueError(f"factor must be a positive integer; got {factor!r}")
    if image.ndim not in (2, 3, 4):
        raise ValueError(f"image must be [H,W], [H,W,C] or [B,H,W,C]; got shape {image.shape}")
    row_axis = 1 if image.ndim == 4 else 0
    factor = int(factor)
    return np.repeat(np.repeat(image, factor, axis=row_axis), factor, axis=row_axis + 1)


def _resize_nearest(image, size, row_axis):
    """Nearest resize by index ``floor(i * in / out)``; equals duplication for integer factors."""
    out_h, out_w = (int(s) for s in size)
    in_h, in_w = image.shape[row_axis], image.shape[row_axis + 1]
    rows = np.arange(out_h) * in_h // out_h
    cols = np.arange(out_w) * in_w // out_w
    return np.take(np.take(image, rows, axis=row_axis), cols, axis=row_axis + 1)


def attention_map(offsets, size, running_max=True):
    """Colour offsets (NumPy reference) and enlarge them to an image size by nearest.

    For the generator, offsets have 1/8 of the image size (a 256 x 256 image gives a
    32 x 32 offset grid), so ``size = image.shape[:2]`` duplicates each cell into an
    8 x 8 block. Non-integer factors pick source cell ``floor(i * h / H)``.

    Args:
        offsets: array-like ``[h, w, 2]`` or ``[B, h, w, 2]`` (delta row, delta col).
        size: ``(H, W)`` of the output.
        running_max: see :func:`offsets_to_rgb_numpy` (only matters for batches).

    Returns:
        uint8 RGB ``[H, W, 3]`` or ``[B, H, W, 3]`` (matching the input rank).
    """
    x = np.asarray(offsets)
    single = x.ndim == 3
    rgb = offsets_to_rgb_numpy(x[None] if single else x, running_max=running_max)
    if len(size) != 2 or min(int(s) for s in size) < 1:
        raise ValueError(f"size must be (height, width) with positive values; got {size!r}")
    out = _resize_nearest(rgb, size, row_axis=1)
    return out[0] if single else out


def legend_image(size=65, background=255):
    """A colour-wheel legend: the colour at (centre + d) is the colour of offset d.

    The centre is white (attends to itself); the rim of the disc is fully saturated
    (offset of maximum length); bottom-left is pink (attends to a patch below-left),
    top-right green. Outside the disc is ``background``.

    Args:
        size: side in pixels (>= 3); odd sizes have an exact white centre pixel.
        background: uint8 grey level outside the disc.

    Returns:
        uint8 RGB array ``[size, size, 3]``.
    """
    size = int(size)
    if size < 3:
        raise ValueError(f"size must be at least 3; got {size}")
    half = (size - 1) / 2.0
    grid = (np.arange(size, dtype=np.float64) - half) / half
    u, v = np.meshgrid(grid, grid, indexing="ij")  # u = delta row, v = delta col
    out = _compute_color_numpy(u, v)
    out[u**2 + v**2 > 1.0] = np.uint8(background)
    return out


ATTENTION_LEGEND = (
    "White: the pixel was not filled, or its content came from right where it is. A "
    "colour: it was borrowed from a patch in that direction, stronger colour = farther "
    "away (same layout as the disc: the centre is white, the rim the farthest offset). "
    "Red = from below, light blue = from above, yellow = from the right, violet = from "
    "the left.")
"""How to read an attention map, in plain text; gi-app and the example grids show it."""

_LINE_H = 16  # px of one text line (labels, captions, the legend's reading)
_FONT_SCALE, _FONT_THICKNESS = 0.4, 1  # cv2.FONT_HERSHEY_SIMPLEX, black


def _text_width(text):
    import cv2  # lazy: only needed for text

    return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, _FONT_SCALE, _FONT_THICKNESS)[0][0] + 4


def wrap_text(text, width):
    """``text`` split at spaces into lines that fit ``width`` pixels (a longer word
    gets a line of its own)."""
    lines = []
    for word in text.split():
        if lines and _text_width(lines[-1] + " " + word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def caption_strip(text, width, background=255):
    """uint8 RGB ``[16 * lines, width, 3]``: ``text`` in black, wrapped to ``width``."""
    lines = wrap_text(text, int(width)) or [""]
    return np.concatenate([_label_strip(line, int(width), _LINE_H, background)
                           for line in lines], axis=0)


def legend_panel(width, size=65, background=255):
    """The colour key (:func:`legend_image`) with :data:`ATTENTION_LEGEND` beside it.

    Args:
        width: pixels of the whole panel (at least ``size + 40``).
        size: side of the colour disc.

    Returns:
        uint8 RGB ``[max(size + 8, 16 * lines + 8), width, 3]``.

    >>> legend_panel(400).shape[1:]
    (400, 3)
    """
    width, size = int(width), int(size)
    if width < size + 40:
        raise ValueError(f"width must be at least size + 40 = {size + 40}; got {width}")
    text = caption_strip(ATTENTION_LEGEND, width - size - 12, background)
    panel = np.full((max(size, text.shape[0]) + 8, width, 3), background, np.uint8)
    panel[4:4 + size, 4:4 + size] = legend_image(size, background)
    panel[4:4 + text.shape[0], size + 12:] = text
    return panel


def _as_rgb_panel(image, index):
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * np.uint8(255)
    if image.dtype != np.uint8:
        raise ValueError(f"images[{index}] must be uint8 (or bool); got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"images[{index}] must be [H,W], [H,W,1] or [H,W,3]; got {image.shape}")
    return image


def _label_strip(text, width, height, background):
    import cv2  # lazy: only needed for labels

    strip = np.full((height, width, 3), background, np.uint8)
    if text:
        (_, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, _FONT_SCALE,
                                                _FONT_THICKNESS)
        y = (height + text_h) // 2 - max(baseline // 2, 0) + 1
        cv2.putText(strip, text, (2, y), cv2.FONT_HERSHEY_SIMPLEX, _FONT_SCALE, (0, 0, 0),
                    _FONT_THICKNESS, cv2.LINE_AA)
    return strip


def side_by_side(images, labels=None, pad=4, background=255):
    """Join images left to right into one RGB panel, e.g. input | masked | result | attention.

    Args:
        images: list of uint8 ``[H, W, 3]`` RGB, ``[H, W]`` / ``[H, W, 1]`` grey, or bool
            ``[H, W]`` (True -> 255). Heights may differ; shorter images are padded at
            the bottom with ``background``.
        labels: optional list of strings (or None entries), one per image, drawn in black
            in a strip above each image (text longer than the image is clipped).
        pad: pixels of ``background`` around and between images.
        background: uint8 grey level of padding and label strips.

    Returns:
        uint8 RGB array ``[label_h + max(H) + 2 * pad, sum(W) + (n + 1) * pad, 3]`` where
        ``label_h`` is 16 with labels and 0 without.
    """
    if len(images) == 0:
        raise ValueError("images must not be empty")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(labels)} labels for {len(images)} images")
    pad = int(pad)
    if pad < 0:
        raise ValueError(f"pad must be >= 0; got {pad}")
    panels = [_as_rgb_panel(im, i) for i, im in enumerate(images)]
    height = max(p.shape[0] for p in panels)
    label_h = _LINE_H if labels is not None else 0
    columns = []
    for i, panel in enumerate(panels):
        column = np.full((label_h + height, panel.shape[1], 3), background, np.uint8)
        if label_h:
            column[:label_h] = _label_strip(labels[i], panel.shape[1], label_h, background)
        column[label_h:label_h + panel.shape[0]] = panel
        columns.append(column)
    gap = np.full((label_h + height, pad, 3), background, np.uint8)
    row = np.concatenate([gap] + [part for c in columns for part in (c, gap)], axis=1)
    edge = np.full((pad, row.shape[1], 3), background, np.uint8)
    return np.concatenate([edge, row, edge], axis=0)
