"""Evaluation: score any inpainting method on the same images and holes, per mask kind.

As in LaMa's evaluator, scoring is separate from the model. A *method* is a callable
``method(image, holes) -> result`` or ``-> (result, attention)``, with ``image`` uint8
RGB ``[H, W, 3]``, ``holes`` bool ``[H, W]`` (True = hole), ``result`` and ``attention``
uint8 RGB ``[H, W, 3]``. :func:`evaluate` runs every method on every :data:`Sample`,
scores it with :func:`gi_tf.evaluation.metrics.image_metrics` and keeps a few examples for the
picture grid; :func:`summarize` averages per (mask kind, method). Writers live in
:mod:`gi_tf.evaluation.report`, the OpenCV baselines in :mod:`gi_tf.evaluation.baselines`.

Inputs come from folders (:func:`folder_samples`): an image folder and either a mask
folder (same relative names, any image extension; a pixel >= 128 is a hole) or
generated holes (:func:`generated_mask`, ``"box"`` or ``"free"``, reproducible from a
seed and the image's index).

Example:
    >>> from gi_tf.evaluation.baselines import baseline_methods
    >>> image = np.full((32, 32, 3), 90, np.uint8); holes = np.zeros((32, 32), bool)
    >>> holes[8:16, 8:16] = True
    >>> result = evaluate(baseline_methods(patchmatch=False), [Sample("a", image, holes, "box")],
    ...                   progress=False)
    >>> [row["method"] for row in result.summary()]
    ['ground truth', 'OpenCV Telea', 'OpenCV NS']
"""

import collections
import math
import os
import time

import numpy as np

from gi_tf.data import masks as masks_lib
from gi_tf.evaluation import metrics as metrics_lib
from gi_tf.inference.inpainter import Inpainter
from gi_tf.inference.inpainter import is_saved_model
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS
from gi_tf.utils.image_io import read_image
from gi_tf.utils.image_io import read_mask
from gi_tf.utils.image_io import write_image_atomic
from gi_tf.utils.progress import Progress

GROUND_TRUTH = "ground truth"
MASK_KINDS = ("box", "free")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

Sample = collections.namedtuple("Sample", ["name", "image", "holes", "kind"])
Sample.__doc__ = """One evaluation input: ``name`` str, ``image`` uint8 RGB [H, W, 3],
``holes`` bool [H, W] (True = hole), ``kind`` str (the table's group, e.g. mask kind)."""


# -- inputs -------------------------------------------------------------------------------


def generated_mask(kind, height, width, seed, index=0):
    """A reproducible evaluation hole, bool ``[H, W]``, fixed by ``(kind, H, W, seed, index)``.

    ``"box"``: the released code's box mask scaled to the image: a box of half the
    image's height and width at a uniform position, each side shrunk by up to 1/16 of
    the image side (a 128 px box shrunk by up to 16 px per side at 256 px, as released).
    ``"free"``: brush strokes (:func:`gi_tf.data.masks.free_form_mask`, sizes relative to
    the image).
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"mask kind must be one of {MASK_KINDS}; got {kind!r}")
    box_h, box_w = max(1, height // 2), max(1, width // 2)
    config = masks_lib.MaskConfig(kind=kind, box_height=box_h, box_width=box_w,
                                  max_delta_height=box_h // 4, max_delta_width=box_w // 4)
    holes, _ = masks_lib.sample_masks(config, 1, height, width, [int(seed), int(index)])
    return np.asarray(holes)[0, ..., 0] > 0.5


def list_images(folder):
    """Sorted relative paths of the image files under ``folder`` (recursive).

    Raises:
        FileNotFoundError: ``folder`` is not a directory or holds no image file.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder {folder!r} is not a directory")
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith("."):
                found.append(os.path.relpath(os.path.join(root, name), folder))
    if not found:
        raise FileNotFoundError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) under {folder!r}")
    return sorted(found)


def find_mask(mask_folder, relative_path):
    """The mask file for image ``relative_path``: same relative name, any image extension.

    Raises:
        FileNotFoundError: naming the image and the folder searched.
    """
    stem = os.path.splitext(relative_path)[0]
    for candidate in [relative_path] + [stem + ext for ext in IMAGE_EXTENSIONS]:
        path = os.path.join(mask_folder, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"no mask for image {relative_path!r} in {mask_folder!r} (expected "
        f"{stem}.png or another image file with the same relative name)")


def folder_samples(image_folder, mask_folder=None, kinds=MASK_KINDS, seed=0, limit=None,
                   max_pixels=DEFAULT_MAX_PIXELS):
    """Yield :data:`Sample` s: each image with its mask file, or with each generated kind.

    Args:
        image_folder: folder of images (read as uint8 RGB, any size).
        mask_folder: folder of masks with the same relative names (>= 128 = hole); the
            sample kind is then ``"given"``. None: generate one hole per kind in ``kinds``.
        kinds: generated mask kinds, a subset of :data:`MASK_KINDS`.
        seed: seed of generated masks (hole of image ``i`` = ``generated_mask(kind, H, W,
            seed, i)``).
        limit: optional maximum number of images (the first, in sorted order).
        max_pixels: refuse images and masks with more pixels, before decoding them
            (:mod:`gi_tf.utils.image_io`); None: no limit.
    """
    names = list_images(image_folder)[:limit]
    for index, name in enumerate(names):
        image = read_image(os.path.join(image_folder, name), max_pixels=max_pixels)
        if mask_folder is not None:
            holes = read_mask(find_mask(mask_folder, name), max_pixels=max_pixels)
            if holes.shape != image.shape[:2]:
                raise ValueError(f"mask of {name!r} is {holes.shape[1]}x{holes.shape[0]}, the "
                                 f"image is {image.shape[1]}x{image.shape[0]}")
            yield Sample(name, image, holes, "given")
            continue
        for kind in kinds:
            holes = generated_mask(kind, image.shape[0], image.shape[1], seed, index)
            yield Sample(name, image, holes, kind)


def count_samples(image_folder, mask_folder=None, kinds=MASK_KINDS, limit=None):
    """How many samples :func:`folder_samples` yields with these arguments."""
    images = len(list_images(image_folder)[:limit])
    return images if mask_folder is not None else images * len(kinds)


def saving_masks(samples, directory):
    """Pass samples through, writing each hole as ``directory/<kind>/<name stem>.png``
    (255 = hole), so that generated masks can be reused with a mask folder."""
    for sample in samples:
        stem = os.path.splitext(sample.name)[0]
        write_image_atomic(os.path.join(directory, sample.kind, stem + ".png"),
                           np.asarray(sample.holes, bool).astype(np.uint8) * np.uint8(255))
        yield sample


def load_inpainter(path, max_pixels=DEFAULT_MAX_PIXELS):
    """An :class:`gi_tf.inference.inpainter.Inpainter` from a SavedModel or a gi_tf checkpoint
    (``max_pixels``: the largest image it takes; None = no limit)."""
    if is_saved_model(path):
        return Inpainter.load(path, max_pixels=max_pixels)
    return Inpainter.from_checkpoint(path, max_pixels=max_pixels)


def inpainter_method(inpainter, **inpaint_kwargs):
    """A method running ``inpainter.inpaint`` (extra keyword arguments passed on, e.g.
    ``max_side``); it returns the result and the colour-coded attention map."""

    def inpaint(image, holes):
        return inpainter.inpaint(image, holes, return_attention=True, **inpaint_kwargs)

    return inpaint


# -- the loop -----------------------------------------------------------------------------


class Evaluation:
    """Result of :func:`evaluate`.

    Attributes:
        methods: method names, in table order.
        rows: per-sample dicts ``image, mask_kind, hole_fraction, method, ms`` and the
            :data:`gi_tf.evaluation.metrics.METRICS` (``ground truth`` rows carry only the
            TV metrics, the reference for the methods' TV).
        examples: the first ``num_examples`` samples as dicts ``sample`` (:data:`Sample`),
            ``results`` ``{method: uint8 [H, W, 3]}``, ``attention`` ``{method: uint8}``.
    """

    def __init__(self, methods):
        self.methods = list(methods)
        self.rows = []
        self.examples = []

    def summary(self):
        """Mean rows per (mask kind, method); see :func:`summarize`."""
        return summarize(self.rows)


def _call(name, method, sample, holes):
    """Run one method; returns (result uint8, attention or None, milliseconds)."""
    start = time.perf_counter()
    out = method(sample.image, holes)
    elapsed_ms = 1000.0 * (time.perf_counter() - start)
    attention = None
    if isinstance(out, tuple):
        out, attention = out
    out = np.asarray(out)
    if out.shape != sample.image.shape or out.dtype != np.uint8:
        raise ValueError(f"method {name!r} returned {out.dtype} {out.shape} for {sample.name!r}; "
                         f"expected uint8 {sample.image.shape}")
    return out, (None if attention is None else np.asarray(attention)), elapsed_ms


def _progress_bar(total, enabled):
    if not enabled:
        return None
    return Progress(total, unit="sample")


def evaluate(methods, samples, num_examples=4, progress=True, total=None, warmup=True):
    """Run every method on every sample and score it.

    Args:
        methods: dict ``{name: method}`` (insertion order is the table order).
        samples: iterable of :data:`Sample`.
        num_examples: samples kept, with every method's result, for the example grid.
        progress: show progress (:class:`gi_tf.utils.progress.Progress`: a live line on a
            terminal, a plain line per 10% elsewhere; ``total`` samples, None if unknown).
        total: number of samples, for the progress bar.
        warmup: run each method once on the first sample before timing (so ``ms`` does
            not include graph tracing).

    Returns:
        :class:`Evaluation`.

    Raises:
        ValueError: a method returned something other than uint8 of the image's shape.
    """
    result = Evaluation(methods)
    bar = _progress_bar(total, progress)
    for count, sample in enumerate(samples, start=1):
        holes = metrics_lib.holes_2d(sample.holes, sample.image.shape)
        if warmup and count == 1:
            for name, method in methods.items():
                _call(name, method, sample, holes)
        base = {"image": sample.name, "mask_kind": sample.kind,
                "hole_fraction": float(holes.mean())}
        result.rows.append(dict(base, method=GROUND_TRUTH,
                                tv=metrics_lib.total_variation(sample.image),
                                tv_hole=metrics_lib.total_variation(sample.image, holes)))
        example = {"sample": Sample(sample.name, sample.image, holes, sample.kind),
                   "results": {}, "attention": {}}
        for name, method in methods.items():
            out, attention, elapsed_ms = _call(name, method, sample, holes)
            row = dict(base, method=name, ms=elapsed_ms)
            row.update(metrics_lib.image_metrics(sample.image, out, holes))
            result.rows.append(row)
            example["results"][name] = out
            if attention is not None:
                example["attention"][name] = attention
        if len(result.examples) < num_examples:
            result.examples.append(example)
        if bar is not None:
            bar.update(count)
    if not result.rows:
        raise ValueError("no samples to evaluate")
    return result


def summarize(rows, metrics=metrics_lib.METRICS):
    """Means per ``(mask_kind, method)``, plus ``("all", method)`` when there are several kinds.

    Rows keep first-seen order of kinds and methods. A mean over values that include
    ``inf`` (a perfect PSNR) is ``inf``; ``nan`` values (no hole pixels) are skipped.

    Returns:
        list of dicts ``mask_kind, method, count`` and the mean of each metric present
        (and of ``ms``).
    """
    groups = collections.OrderedDict()
    kinds = list(dict.fromkeys(row["mask_kind"] for row in rows))
    for row in rows:
        targets = (row["mask_kind"], "all") if len(kinds) > 1 else (row["mask_kind"],)
        for kind in targets:
            groups.setdefault((kind, row["method"]), []).append(row)
    out = []
    for kind in kinds + (["all"] if len(kinds) > 1 else []):
        for (group_kind, method), members in groups.items():
            if group_kind != kind:
                continue
            mean = {"mask_kind": kind, "method": method, "count": len(members)}
            for key in tuple(metrics) + ("ms",):
                values = [m[key] for m in members if key in m and not math.isnan(m[key])]
                if values:
                    mean[key] = float(np.mean(values))
            out.append(mean)
    return out


def best_method(summary, metric, kind="all", exclude=(GROUND_TRUTH,)):
    """Name of the method with the best mean ``metric`` for ``kind`` (None if absent).

    Best is highest for :data:`gi_tf.evaluation.metrics.HIGHER_IS_BETTER`, closest to the ground
    truth row for TV, lowest otherwise.
    """
    rows = [r for r in summary if r["mask_kind"] == kind and r["method"] not in exclude
            and metric in r and not math.isnan(r[metric])]
    if not rows:
        return None
    if metric in metrics_lib.TV_METRICS:
        truth = [r for r in summary if r["mask_kind"] == kind and r["method"] == GROUND_TRUTH]
        if truth and metric in truth[0]:
            return min(rows, key=lambda r: abs(r[metric] - truth[0][metric]))["method"]
    pick = max if metric in metrics_lib.HIGHER_IS_BETTER else min
    return pick(rows, key=lambda r: r[metric])["method"]
