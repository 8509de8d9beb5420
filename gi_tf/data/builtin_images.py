"""Built-in demo images: procedural textures (always) and sample photographs (optional).

Nothing here downloads anything. Every image is uint8 RGB ``[size, size, 3]`` and a pure
function of its arguments, so a seed names a dataset (:data:`TRAIN_SEED`,
:data:`HELD_OUT_SEED`). Textures (:func:`texture`, kinds :data:`TEXTURE_KINDS`) are
periodic or near-periodic patterns, plus non-periodic ``noise`` as a control. Photographs
(:func:`photo`, :data:`PHOTOS`) come from scikit-image's package data (the ``[demo]``
extra), public domain or CC0 only, with licence and author per image; the
:data:`HELD_OUT_PHOTOS` are never used for training.
"""

import collections

import cv2
import numpy as np

TEXTURE_KINDS = ("stripes", "tiles", "bricks", "dots", "weave", "waves", "noise")
TRAIN_SEED = 0
HELD_OUT_SEED = 1

Photo = collections.namedtuple("Photo", ["name", "loader", "licence", "author", "colour"])
Photo.__doc__ = """A scikit-image sample photograph: ``name``; ``loader``, the
``skimage.data`` function; ``licence`` and ``author`` as stated in that function's
docstring (scikit-image 0.26); ``colour``, False for grey images (used as R = G = B)."""

PHOTOS = (
    Photo("astronaut", "astronaut", "public domain", "NASA (Eileen Collins)", True),
    Photo("chelsea", "chelsea", "CC0", "Stefan van der Walt", True),
    Photo("coffee", "coffee", "CC0", "Rachel Michetti", True),
    Photo("rocket", "rocket", "public domain", "SpaceX", True),
    Photo("hubble_deep_field", "hubble_deep_field", "public domain", "NASA", True),
    Photo("retina", "retina", "CC0", "Mikael Haggstrom", True),
    Photo("brick", "brick", "CC0", "CC0Textures (Bricks25)", False),
    Photo("grass", "grass", "CC0", "linolafett (DeviantArt)", False),
    Photo("gravel", "gravel", "CC0", "CC0Textures (Gravel04)", False),
    Photo("camera", "camera", "CC0", "Lav Varshney", False),
)
HELD_OUT_PHOTOS = ("astronaut", "chelsea", "coffee")
TRAIN_PHOTOS = tuple(p.name for p in PHOTOS if p.name not in HELD_OUT_PHOTOS)


# -- textures -----------------------------------------------------------------------------


def _palette(rng):
    """Two contrasting RGB colours in [0, 255] (float64 [2, 3])."""
    base = rng.uniform(20, 235, 3)
    other = np.clip(base + rng.choice([-1.0, 1.0], 3) * rng.uniform(50, 140, 3), 0, 255)
    return np.stack([base, other])


def _warp(rng, y, x, size, strength):
    """Coordinates bent by a smooth random sinusoidal displacement (near-periodicity)."""
    amplitude = strength * rng.uniform(0, size / 24)
    wavelength = rng.uniform(size / 3, 1.5 * size, 2)
    phase = rng.uniform(0, 2 * np.pi, 2)
    return (y + amplitude * np.sin(2 * np.pi * x / wavelength[0] + phase[0]),
            x + amplitude * np.sin(2 * np.pi * y / wavelength[1] + phase[1]))


def _stripes(rng, y, x, period):
    angle = rng.uniform(0, np.pi)
    wave = np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period)
    return (wave > 0).astype(np.float64) if rng.uniform() < 0.5 else 0.5 + 0.5 * wave


def _tiles(rng, y, x, period):
    other = period * rng.uniform(0.5, 2.0)
    t = ((np.floor(x / period) + np.floor(y / other)) % 2) * rng.uniform(0.5, 1.0)
    grout = max(1.0, period / 10)
    return np.where((x % period < grout) | (y % other < grout), 1.0, t)


def _bricks(rng, y, x, period):
    brick_h, brick_w = period / 2, period
    row = np.floor(y / brick_h)
    shifted = x + (row % 2) * brick_w / 2
    mortar_w = max(1.0, period / 14)
    mortar = (y % brick_h < mortar_w) | (shifted % brick_w < mortar_w)
    shades = rng.uniform(0.55, 1.0, 97)
    index = (row.astype(np.int64) * 31 + np.floor(shifted / brick_w).astype(np.int64)) % 97
    return np.where(mortar, 0.0, shades[index])


def _dots(rng, y, x, period):
    if rng.uniform() < 0.5:  # hexagonal packing: every other row shifted by half a period
        x = x + (np.floor(y / period) % 2) * period / 2
    dy, dx = (y % period) - period / 2, (x % period) - period / 2
    return (np.hypot(dy, dx) < period * rng.uniform(0.2, 0.45)).astype(np.float64)


def _weave(rng, y, x, period):
    band = max(2.0, period * rng.uniform(0.5, 0.8))
    cell_y, cell_x = np.floor(y / period), np.floor(x / period)
    horizontal = (y % period) < band
    vertical = (x % period) < band
    over = (cell_y + cell_x) % 2 == 0  # which strand lies on top in this cell
    return np.where(horizontal & vertical, np.where(over, 1.0, 0.6),
                    np.where(horizontal, 1.0, np.where(vertical, 0.6, 0.1)))


def _waves(rng, y, x, size):
    t = np.zeros_like(x)
    for _ in range(6):
        fy, fx = rng.integers(-5, 6, 2)
        t += np.sin(2 * np.pi * (fy * y + fx * x) / size + rng.uniform(0, 2 * np.pi))
    return 0.5 + t / 12.0


def _value_noise(rng, size):
    """Non-periodic value noise in [0, 1]: octaves of upsampled random grids."""
    t = np.zeros((size, size))
    for octave in range(4):
        cells = 2 + 3 * 2 ** octave
        grid = rng.uniform(0, 1, (cells, cells))
        t += cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC) / 2 ** octave
    t -= t.min()
    return t / max(t.max(), 1e-9)


def texture_kind(seed, index):
    """Kind (one of :data:`TEXTURE_KINDS`) of texture ``index`` of ``seed``."""
    return TEXTURE_KINDS[int(np.random.default_rng([seed, index, 1]).integers(len(TEXTURE_KINDS)))]


def texture(seed, index, size, kind=None):
    """One procedural texture, uint8 RGB ``[size, size, 3]``, fixed by its arguments.

    Args:
        seed: int >= 0, names the dataset (e.g. :data:`TRAIN_SEED`).
        index: int >= 0, the image within it.
        size: int >= 8, side in pixels.
        kind: one of :data:`TEXTURE_KINDS`, or None for :func:`texture_kind`.

    Example:
        >>> texture(0, 3, 32).shape
        (32, 32, 3)
    """
    if int(size) < 8:
        raise ValueError(f"texture size must be >= 8 pixels; got {size!r}")
    kind = texture_kind(seed, index) if kind is None else kind
    if kind not in TEXTURE_KINDS:
        raise ValueError(f"texture kind must be one of {TEXTURE_KINDS}; got {kind!r}")
    size = int(size)
    rng = np.random.default_rng([seed, index, 2])
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    period = size * rng.uniform(1 / 14, 1 / 4)
    if kind != "noise":
        y, x = _warp(rng, y, x, size, strength=rng.choice([0.0, 1.0]))
    patterns = {"stripes": _stripes, "tiles": _tiles, "bricks": _bricks, "dots": _dots,
                "weave": _weave}
    if kind in patterns:
        t = patterns[kind](rng, y, x, period)
    elif kind == "waves":
        t = _waves(rng, y, x, size)
    else:
        t = _value_noise(rng, size)
    colours = _palette(rng)
    image = colours[0] * (1.0 - t[..., None]) + colours[1] * t[..., None]
    gy, gx = rng.uniform(-0.15, 0.15, 2)
    light = 1.0 + gy * (y / size - 0.5) + gx * (x / size - 0.5)
    image = image * light[..., None] + rng.normal(0, rng.uniform(1, 5), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def textures(seed, count, size, start=0):
    """Textures ``start .. start + count - 1`` of ``seed``: uint8 ``[count, size, size, 3]``."""
    return np.stack([texture(seed, start + i, size) for i in range(int(count))]) if count else \
        np.zeros((0, size, size, 3), np.uint8)


# -- photographs --------------------------------------------------------------------------


def photos_available():
    """True when scikit-image (the ``[demo]`` extra) can be imported."""
    try:
        # lazy: optional dependency (the [demo] extra)
        import skimage.data  # noqa: F401
    except ImportError:
        return False
    return True


def _photo_entry(name):
    for entry in PHOTOS:
        if entry.name == name:
            return entry
    raise ValueError(f"unknown photo {name!r}; known: {[p.name for p in PHOTOS]}")


def photo(name):
    """Full-size photograph ``name`` from scikit-image's package data, uint8 RGB.

    Raises:
        ImportError: scikit-image is not installed (``pip install gi_tf[demo]``).
        ValueError: ``name`` is not in :data:`PHOTOS`.
    """
    entry = _photo_entry(name)
    try:
        # lazy: optional dependency (the [demo] extra)
        import skimage.data
    except ImportError as err:
        raise ImportError("sample photographs need scikit-image: pip install 'gi_tf[demo]'") \
            from err
    image = np.asarray(getattr(skimage.data, entry.loader)())
    if image.dtype != np.uint8:
        raise ValueError(f"photo {name!r} is {image.dtype}, expected uint8")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def photo_crop(image, seed, index, size):
    """A random square crop of ``image`` (a random 1/3..full fraction of its short side)
    resized (area) to ``size``; uint8 RGB ``[size, size, 3]``, fixed by the arguments."""
    rng = np.random.default_rng([seed, index, 3])
    height, width = image.shape[:2]
    side = int(round(min(height, width) * rng.uniform(1 / 3, 1.0)))
    side = max(side, min(size, height, width))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    crop = image[top:top + side, left:left + side]
    interpolation = cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def photo_crops(seed, count, size, names=TRAIN_PHOTOS):
    """``count`` crops cycling through the photographs ``names``: uint8 ``[count, S, S, 3]``."""
    if not names:
        raise ValueError("names must list at least one photo")
    images = {name: photo(name) for name in names}
    out = [photo_crop(images[names[i % len(names)]], seed, i, size) for i in range(int(count))]
    return np.stack(out) if out else np.zeros((0, size, size, 3), np.uint8)


# -- demo datasets ------------------------------------------------------------------------


def training_images(count, size, seed=TRAIN_SEED, photo_fraction=0.0, synthetic=None):
    """A training pool: synthetic images of ``seed`` and, optionally, photo crops.

    Args:
        count: int, number of images N.
        size: int, side in pixels.
        seed: int, texture and crop seed (held-out images use another one).
        photo_fraction: float in [0, 1], share of crops of :data:`TRAIN_PHOTOS`
            (needs scikit-image); the rest are synthetic.
        synthetic: ``fn(seed, count, size) -> uint8 [count, size, size, 3]``, the
            synthetic images: :func:`textures` (default) or e.g.
            :func:`gi_tf.data.borrowing.wallpapers` (gi-demo's borrowing task).

    Returns:
        uint8 ``[N, size, size, 3]`` RGB, shuffled (fixed by ``seed``).
    """
    if not 0.0 <= photo_fraction <= 1.0:
        raise ValueError(f"photo_fraction must be in [0, 1]; got {photo_fraction!r}")
    num_photos = int(round(count * photo_fraction))
    parts = [(synthetic or textures)(seed, count - num_photos, size)]
    if num_photos:
        parts.append(photo_crops(seed, num_photos, size, TRAIN_PHOTOS))
    images = np.concatenate(parts)
    return images[np.random.default_rng([seed, 4]).permutation(len(images))]


def held_out_images(count, size, seed=HELD_OUT_SEED, photos=False):
    """Held-out evaluation images as ``(name, image, group)`` tuples.

    ``count`` textures of ``seed`` (group ``"textures"``; names say the kind, e.g.
    ``"texture-003-bricks"``) and, with ``photos=True``, one centre-weighted crop of
    each of :data:`HELD_OUT_PHOTOS` (group ``"photos"``), never seen in training.
    """
    out = [(f"texture-{i:03d}-{texture_kind(seed, i)}", texture(seed, i, size), "textures")
           for i in range(int(count))]
    if photos:
        for index, name in enumerate(HELD_OUT_PHOTOS):
            out.append((f"photo-{name}", photo_crop(photo(name), seed, index, size), "photos"))
    return out


def in_memory_dataset(images, batch_size, seed=TRAIN_SEED):
    """An endless, shuffled ``tf.data.Dataset`` of batches of an in-memory image pool.

    Args:
        images: uint8 RGB ``[N, S, S, 3]``, e.g. from :func:`training_images`.
        batch_size: int, images per batch.
        seed: int, seed of the order: a fresh permutation every pass, drawn with stateless
            ops from ``seed`` and the pass number alone, so the order does not depend on
            TensorFlow's global seed or on what ran before in the process.

    Returns:
        ``tf.data.Dataset`` of float32 ``[batch_size, S, S, 3]`` RGB batches in [-1, 1]
        (``x / 127.5 - 1``). Files and ``DataConfig`` sources go through
        :func:`gi_tf.data.pipeline.make_dataset` instead.
    """
    import tensorflow as tf  # lazy: the images alone (gi-demo --help, the JAX side) need no TF

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 [N, S, S, 3]; got {images.dtype} {images.shape}")
    table, count = tf.constant(images), len(images)
    base_seed = tf.constant([int(seed), 0], tf.int64)

    def pick(counter):
        pass_seed = tf.random.experimental.stateless_fold_in(base_seed, counter // count)
        index = tf.random.experimental.index_shuffle(counter % count, pass_seed, count - 1)
        return tf.gather(table, index)

    dataset = tf.data.Dataset.range(2 ** 62).map(pick)
    dataset = dataset.batch(int(batch_size), drop_remainder=True)
    dataset = dataset.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0)
    return dataset.prefetch(2)
