"""Built-in example images for ``gi-app``: no download, no files shipped.

Held-out procedural textures from :mod:`gi_tf.data.builtin_images` (never used for training),
with a small red disc on one of them as an "object to remove", plus the held-out
scikit-image photographs when the ``[demo]`` extra is installed. If
:mod:`gi_tf.data.builtin_images` cannot be imported, one small checkerboard of this module's
own stands in.
"""

import numpy as np

from gi_tf.utils import files
from gi_tf.utils.image_io import write_image_atomic

EXAMPLE_SIZE = 256
TEXTURE_EXAMPLES = ("bricks", "tiles", "dots", "stripes")


def add_disc(image, centre, radius, colour=None):
    """A copy of uint8 RGB ``image`` with a filled disc (the object a user paints over).

    ``colour`` defaults to the complement of the image's mean colour, so it stands out.
    """
    out = image.copy()
    if colour is None:
        colour = 255 - np.round(image.reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    inside = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2
    out[inside] = colour
    return out


def checkerboard(size=EXAMPLE_SIZE, cell=16):
    """uint8 RGB ``[size, size, 3]`` two-colour checkerboard (the fallback example)."""
    yy, xx = np.mgrid[0:size, 0:size]
    odd = ((yy // cell + xx // cell) % 2).astype(bool)
    image = np.empty((size, size, 3), np.uint8)
    image[odd], image[~odd] = (40, 90, 160), (230, 210, 150)
    return image


def example_images(size=EXAMPLE_SIZE):
    """``[(name, uint8 RGB [H, W, 3]), ...]`` for the page's example gallery."""
    try:
        # lazy: a checkerboard stands in when it cannot be imported
        from gi_tf.data import builtin_images
    except ImportError:
        return [("checkerboard", add_disc(checkerboard(size), (size // 2, size // 2),
                                          size // 10))]
    examples = []
    for index, kind in enumerate(TEXTURE_EXAMPLES):
        image = builtin_images.texture(builtin_images.HELD_OUT_SEED, index, size, kind=kind)
        if index == 0:
            image = add_disc(image, (size // 2, size // 2), size // 10)
        examples.append((kind, image))
    if builtin_images.photos_available():
        for name in builtin_images.HELD_OUT_PHOTOS:
            examples.append((name, builtin_images.photo(name)))
    return examples


def write_examples(directory, size=EXAMPLE_SIZE):
    """Write :func:`example_images` as PNG files into ``directory``; returns their paths."""
    return [write_image_atomic(files.join(directory, f"{name}.png"), image)
            for name, image in example_images(size)]
