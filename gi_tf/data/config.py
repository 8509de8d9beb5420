"""The data configurations, importable without TensorFlow (``gi-train --help``, configs).

:class:`MaskConfig` (how training holes are drawn: :mod:`gi_tf.data.masks` draws them),
:class:`DataConfig` (where training images come from: :mod:`gi_tf.data.pipeline` reads
them) and the names of the built-in sources (:mod:`gi_tf.data.sources`). Each config is
checked when it is made (``__post_init__``), so an invalid one cannot exist.
"""

import dataclasses
import math

from gi_tf.utils.options import option

MASK_KINDS = ("box", "free", "mixed")
BUILTIN_TEXTURES = "builtin:textures"
BUILTIN_WALLPAPERS = "builtin:wallpapers"
BUILTIN_SOURCES = (BUILTIN_TEXTURES, BUILTIN_WALLPAPERS)
DEFAULT_TEXTURE_COUNT = 1024


def texture_count(source):
    """Image count of a ``builtin:<textures|wallpapers>[:N]`` source."""
    name, _, count = source.partition(":")[2].partition(":")
    if f"builtin:{name}" not in BUILTIN_SOURCES or not (count == "" or count.isdigit()) \
            or count == "0":
        raise ValueError(f"DataConfig.source={source!r}: unknown built-in dataset "
                         f"(use '{BUILTIN_TEXTURES}' or '{BUILTIN_TEXTURES}:<count>'; "
                         f"likewise '{BUILTIN_WALLPAPERS}')")
    return int(count) if count else DEFAULT_TEXTURE_COUNT


@dataclasses.dataclass(frozen=True)
class MaskConfig:
    """How training masks are drawn.

    Attributes:
        kind: ``"box"`` (DeepFill v1), ``"free"`` (brush strokes) or ``"mixed"``.
        box_height: int, box height in pixels (128 released).
        box_width: int, box width in pixels (128 released).
        max_delta_height: int >= 0, total shrink range of the hole inside the box; each
            side shrinks by ``0 .. max_delta_height // 2`` (32 released).
        max_delta_width: int >= 0, horizontal counterpart.
        vertical_margin: int >= 0, minimal distance of the box to the top/bottom border.
        horizontal_margin: int >= 0, minimal distance to the left/right border.
        free_ratio: float in ``[0, 1]``, share of free-form masks when ``kind="mixed"``.
        per_sample: bool; False draws one mask per batch and repeats it (the original).
        max_strokes, min_segments, max_segments, min_stroke_width, max_stroke_width,
        mean_segment_length, mean_angle, angle_range, flip_strokes: brush parameters,
            see :func:`gi_tf.data.brush_strokes.free_form_mask` (``flip_strokes`` is its
            ``flip``).
    """

    kind: str = option("box", "Training holes: box (DeepFill v1), free (brush strokes) or "
                       "mixed.", choices=MASK_KINDS)
    box_height: int = option(128, "Box height in pixels (128 released, at 256).")
    box_width: int = option(128, "Box width in pixels (128 released, at 256).")
    max_delta_height: int = option(32, "Total vertical hole shrink inside the box (32 "
                                   "released, at 256).")
    max_delta_width: int = option(32, "Total horizontal hole shrink inside the box.")
    vertical_margin: int = option(0, "Minimal box distance to top/bottom.")
    horizontal_margin: int = option(0, "Minimal box distance to the sides.")
    free_ratio: float = option(0.5, "Share of free-form holes for kind=mixed.")
    per_sample: bool = option(True, "One mask per image (False: one per batch, as released).")
    max_strokes: int = option(3, "Brush strokes per free-form hole (at most).")
    min_segments: int = option(4, "Segments per stroke (at least).")
    max_segments: int = option(11, "Segments per stroke (at most).")
    min_stroke_width: float = option(12 / 256, "Thinnest stroke, as a share of the image side.")
    max_stroke_width: float = option(40 / 256, "Thickest stroke, as a share of the image side.")
    mean_segment_length: float = option(1 / 8, "Mean segment length, as a share of the side.")
    mean_angle: float = option(2 * math.pi / 5, "Mean turn between segments (radians).")
    angle_range: float = option(2 * math.pi / 15, "Range of the turn around the mean.")
    flip_strokes: bool = option(True, "Randomly mirror strokes.")

    def __post_init__(self):
        self.validate()  # an invalid MaskConfig cannot exist

    def validate(self):
        """Raise ``ValueError`` naming the first invalid field; return ``self``.

        Runs when the config is made (``__post_init__``, ``dataclasses.replace`` too).
        """
        def fail(field, rule):
            raise ValueError(f"MaskConfig.{field}={getattr(self, field)!r}: {rule}")

        if self.kind not in MASK_KINDS:
            fail("kind", f"must be one of {MASK_KINDS}")
        for field in ("box_height", "box_width", "max_strokes", "min_segments"):
            if getattr(self, field) < 1:
                fail(field, "must be >= 1")
        for field in ("max_delta_height", "max_delta_width", "vertical_margin",
                      "horizontal_margin", "angle_range"):
            if getattr(self, field) < 0:
                fail(field, "must be >= 0")
        if self.max_delta_height >= self.box_height:
            fail("max_delta_height", "must be < box_height")
        if self.max_delta_width >= self.box_width:
            fail("max_delta_width", "must be < box_width")
        if not 0.0 <= self.free_ratio <= 1.0:
            fail("free_ratio", "must be in [0, 1]")
        if self.max_segments < self.min_segments:
            fail("max_segments", "must be >= min_segments")
        if not 0.0 < self.min_stroke_width <= self.max_stroke_width:
            fail("min_stroke_width", "must be in (0, max_stroke_width]")
        if self.mean_segment_length < 0:
            fail("mean_segment_length", "must be >= 0")
        return self

    def check_image_size(self, height, width):
        """Raise ``ValueError`` if boxes cannot be placed in a ``height x width`` image."""
        if self.kind == "free":
            return
        if height - 2 * self.vertical_margin <= self.box_height:
            raise ValueError(
                f"MaskConfig.box_height={self.box_height} (+2*vertical_margin="
                f"{self.vertical_margin}) must be < image height {height}")
        if width - 2 * self.horizontal_margin <= self.box_width:
            raise ValueError(
                f"MaskConfig.box_width={self.box_width} (+2*horizontal_margin="
                f"{self.horizontal_margin}) must be < image width {width}")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where training images come from and how they are preprocessed.

    Attributes:
        source: str. A folder (searched recursively for ``IMAGE_EXTENSIONS``), a
            ``.flist`` file (one image path per line, see :func:`list_image_files`), a
            TFRecord glob such as ``"data/train-*.tfrecord"`` (written by
            ``gi-make-tfrecords``), or ``"builtin:textures"`` /
            ``"builtin:textures:<count>"`` for procedural textures (no files).
        image_size: int, side of the square output images (256 released).
        random_crop: bool; True: upscale small images, then random crop (Places2);
            False: resize to ``image_size`` (CelebA-HQ, the released default).
        flip: bool, random horizontal flips (not in the released code).
        shuffle_buffer: int >= 0. 0 keeps the source order. Otherwise files and
            textures are fully reshuffled every epoch (a stateless permutation, no
            buffer) and TFRecords are read in a reshuffled file order through a shuffle
            buffer of this many records (each holds one encoded image).
        num_parallel_calls: int, parallel decode calls; -1 means ``tf.data.AUTOTUNE``.
        seed: int, seed of the order, crops and flips.
    """

    source: str = option(help="Training images: a folder, a .flist file, a TFRecord glob "
                         "(*.tfrecord*) or builtin:textures[:N].")
    image_size: int = option(256, "Side of the square training images.")
    random_crop: bool = option(False, "Upscale small images then random-crop (Places2); "
                               "otherwise resize to image_size (CelebA-HQ).")
    flip: bool = option(False, "Random horizontal flips (not in the released code).")
    shuffle_buffer: int = option(1024, "Shuffle buffer over files; 0 = file order.")
    num_parallel_calls: int = option(-1, "Parallel decoders; -1 = AUTOTUNE.")
    seed: int = option(0, "Seed of the order, crops and flips.")

    def __post_init__(self):
        self.validate()  # an invalid DataConfig cannot exist

    def validate(self):
        """Raise ``ValueError`` naming the first invalid field; return ``self``.

        Runs when the config is made (``__post_init__``, ``dataclasses.replace`` too).
        """
        def fail(field, rule):
            raise ValueError(f"DataConfig.{field}={getattr(self, field)!r}: {rule}")

        if not isinstance(self.source, str) or not self.source:
            fail("source", "must be a non-empty path, glob or 'builtin:textures'")
        if self.source.startswith("builtin:"):
            texture_count(self.source)
        if not isinstance(self.image_size, int) or self.image_size < 2:
            fail("image_size", "must be an int >= 2")
        if not isinstance(self.shuffle_buffer, int) or self.shuffle_buffer < 0:
            fail("shuffle_buffer", "must be an int >= 0")
        if self.num_parallel_calls != -1 and self.num_parallel_calls < 1:
            fail("num_parallel_calls", "must be -1 (AUTOTUNE) or >= 1")
        if not isinstance(self.seed, int):
            fail("seed", "must be an int")
        return self
