"""The fixed inputs gi-parity feeds to both sides, drawn from a seed (NumPy only).

Every array depends only on ``(seed, purpose)`` through
:func:`gi_tf.parity.weights.name_seed`, so the tool and the tests rebuild the same inputs
without files. Images are smooth random colour fields (uniform noise on a coarse grid,
bilinearly enlarged), so that the attention has structure to match; holes are
rectangles. Conventions: images RGB uint8 (the authors' side gets them channel-reversed,
BGR, as ``cv2.imread`` gives), masks 1 = hole.
"""

import dataclasses

import cv2
import numpy as np

from gi_tf.parity.weights import name_seed


@dataclasses.dataclass(frozen=True)
class AttentionCase:
    """One contextual-attention comparison (foreground/background ``[batch, h, w, c]``)."""

    name: str
    batch: int
    height: int
    width: int
    channels: int
    rate: int
    fuse: bool
    with_mask: bool = True
    same: bool = False  # foreground is background (as inside the generator)


ATTENTION_CASES = (
    AttentionCase("b2 32x32 c16 rate 2 fuse", 2, 32, 32, 16, 2, True),
    AttentionCase("b2 32x32 c16 rate 2 no fuse", 2, 32, 32, 16, 2, False),
    AttentionCase("b3 24x40 c8 rate 1 fuse", 3, 24, 40, 8, 1, True),
    AttentionCase("b2 48x32 c8 rate 4 fuse", 2, 48, 32, 8, 4, True),
    AttentionCase("b1 64x64 c32 rate 2 fuse f=b", 1, 64, 64, 32, 2, True, same=True),
    AttentionCase("b2 32x24 c8 rate 2 no mask", 2, 32, 24, 8, 2, True, with_mask=False),
)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Sizes of the generator, test.py and training comparisons."""

    generator_batch: int = 2
    generator_height: int = 128
    generator_width: int = 96
    server_height: int = 133  # test.py crops to 128 x 96
    server_width: int = 101
    train_batch: int = 2
    train_size: int = 64
    train_box: int = 32
    train_delta: int = 8


def _rng(seed, purpose):
    return np.random.default_rng(name_seed(seed, purpose))


def smooth_images(rng, batch, height, width, cell=8):
    """uint8 ``[batch, height, width, 3]``: uniform noise on a ``cell`` grid, enlarged."""
    out = np.empty((batch, height, width, 3), np.uint8)
    for i in range(batch):
        small = rng.uniform(0, 255, (max(2, height // cell), max(2, width // cell), 3))
        big = cv2.resize(small.astype(np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)
        out[i] = np.clip(np.round(big), 0, 255).astype(np.uint8)
    return out


def random_box(rng, height, width, low=0.25, high=0.5):
    """``(top, left, h, w)`` of a rectangle covering ``low..high`` of each side."""
    h = int(rng.integers(int(height * low), int(height * high) + 1))
    w = int(rng.integers(int(width * low), int(width * high) + 1))
    return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w


def box_mask(height, width, box):
    """float32 ``[1, height, width, 1]`` with ones inside ``box = (top, left, h, w)``."""
    top, left, h, w = box
    mask = np.zeros((1, height, width, 1), np.float32)
    mask[:, top:top + h, left:left + w] = 1.0
    return mask


def attention_inputs(case, seed):
    """``(foreground, background, mask or None)`` float32 for an :class:`AttentionCase`."""
    rng = _rng(seed, f"attention/{case.name}")
    shape = (case.batch, case.height, case.width, case.channels)
    foreground = rng.normal(size=shape).astype(np.float32)
    background = foreground if case.same else rng.normal(size=shape).astype(np.float32)
    mask = None
    if case.with_mask:
        mask = box_mask(case.height, case.width, random_box(rng, case.height, case.width))
    return foreground, background, mask


def generator_inputs(seed, sizes=Sizes()):
    """``(image_rgb uint8 [B, H, W, 3], mask float32 [1, H, W, 1])``."""
    rng = _rng(seed, "generator")
    h, w = sizes.generator_height, sizes.generator_width
    images = smooth_images(rng, sizes.generator_batch, h, w)
    return images, box_mask(h, w, random_box(rng, h, w))


def server_inputs(seed, sizes=Sizes()):
    """``(image_rgb uint8 [H, W, 3], mask_image uint8 [H, W, 3])`` for ``test.py``."""
    rng = _rng(seed, "server")
    h, w = sizes.server_height, sizes.server_width
    image = smooth_images(rng, 1, h, w)[0]
    mask = box_mask(h, w, random_box(rng, h, w))[0]
    return image, np.repeat((mask * 255).astype(np.uint8), 3, axis=2)


@dataclasses.dataclass(frozen=True)
class TrainingDraws:
    """One update's draws, in the authors' form (one box and one mask for the batch)."""

    top: int
    left: int
    mask: np.ndarray  # float32 [1, S, S, 1], the box shrunk by (dh, dw) per side
    alpha_local: np.ndarray  # float32 [B, 1]
    alpha_global: np.ndarray  # float32 [B, 1]


def training_inputs(seed, sizes=Sizes()):
    """``(images float32 [B, S, S, 3] in 0..255, TrainingDraws)``.

    The draws follow ``random_bbox``/``bbox2mask`` of the released code: top and left
    uniform in ``[0, S - box)``, the hole shrunk by ``0 .. max_delta // 2`` per side.
    """
    rng = _rng(seed, "training")
    s, box, delta = sizes.train_size, sizes.train_box, sizes.train_delta
    images = smooth_images(rng, sizes.train_batch, s, s).astype(np.float32)
    top, left = (int(v) for v in rng.integers(0, s - box, 2))
    dh, dw = (int(v) for v in rng.integers(0, delta // 2 + 1, 2))
    mask = box_mask(s, s, (top + dh, left + dw, box - 2 * dh, box - 2 * dw))
    alphas = rng.uniform(size=(2, sizes.train_batch, 1)).astype(np.float32)
    return images, TrainingDraws(top, left, mask, alphas[0], alphas[1])
