"""Inpainting files: jobs from arguments, folders or lists; checks; atomic outputs; panels.

The library side of ``gi-inpaint``. A :class:`Job` is one (image, mask, output) triple
of paths. Every job is read and checked *before* anything is written (unreadable file,
size mismatch, full mask, output that cannot be written), so a bad job writes nothing;
good outputs are written atomically (:func:`gi_tf.utils.image_io.write_image_atomic`).

Conversions are reported as notes, not errors: grayscale / RGBA / 16-bit images are
converted to 8-bit RGB (:func:`gi_tf.utils.image_io.read_image`), and an empty mask gives the
input unchanged.
"""

import collections
import dataclasses
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from gi_tf.inference import mask_sources
from gi_tf.inference.inpainter import crop_arrays_to_multiple
from gi_tf.inference.preprocessing import FULL_MASK_MESSAGE
from gi_tf.utils import files
from gi_tf.utils import image_io
from gi_tf.utils.progress import Progress
from gi_tf.utils.visualize import side_by_side

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
OUTPUT_EXTENSIONS = (".png", ".jpg", ".jpeg")
PANEL_SUFFIX = "_panel.png"
PANEL_LABELS = ("input", "masked", "result", "attention")

Job = collections.namedtuple("Job", ["image", "mask", "output"])
Job.__doc__ = "Paths of one inpainting job: input image, mask, output image."

Loaded = collections.namedtuple("Loaded", ["image", "holes", "notes"])
Loaded.__doc__ = "A checked job input: uint8 RGB [H, W, 3], bool holes [H, W], notes."


@dataclasses.dataclass(frozen=True)
class InpaintOptions:
    """How ``gi-inpaint`` runs each job.

    Attributes:
        policy: ``"pad"`` (result has the input's size) or ``"crop"`` (the original
            test.py: top-left crop to multiples of 8).
        max_side: None or the longest side the network sees (large-image strategy).
        crop_to_hole: 0 (off) or the context margin around the hole's bounding box.
        panel: also write ``<output stem>_panel.png`` (input | masked | result |
            attention).
        window: ``"auto"``, ``"on"`` or ``"off"``: the exact windowed path
            (``Inpainter.inpaint(window=...)``).
        max_pixels: refuse images and masks with more pixels, read from the file's
            header before decoding (:mod:`gi_tf.utils.image_io`); None = no limit.
        skip_existing: skip a job whose output (and panel) already exist. Outputs are
            written atomically, so an existing one is complete: rerunning a killed job
            list with it finishes the rest without redoing anything.
    """

    policy: str = "pad"
    max_side: int = None
    crop_to_hole: int = 0
    panel: bool = False
    window: str = "auto"
    max_pixels: int = image_io.DEFAULT_MAX_PIXELS
    skip_existing: bool = False


# -- building jobs ---------------------------------------------------------------------------


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _images_in(directory):
    if not files.isdir(directory):
        raise FileNotFoundError(f"not a directory: {directory}")
    names = sorted(n for n in files.listdir(directory)
                   if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS)
    return [files.join(directory, n) for n in names]


def jobs_from_folders(image_dir, mask_dir, output_dir, mask_source=None):
    """One job per image in ``image_dir``; its mask is the file of the same stem in ``mask_dir``.

    Outputs are ``output_dir/<stem>.png``. An image without a mask is an error naming it
    (a missing mask is a mistake more often than an intent). With ``mask_source`` (a
    :mod:`gi_tf.inference.mask_sources` box or colour mask) instead of ``mask_dir``, every
    image gets its holes from it.

    Raises:
        FileNotFoundError: a directory is missing, or an image has no mask.
        ValueError: no images, or two masks share a stem.
    """
    images = _images_in(image_dir)
    if not images:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {image_dir}")
    if mask_source is not None:
        return [Job(p, mask_source, files.join(output_dir, _stem(p) + ".png")) for p in images]
    masks = {}
    for path in _images_in(mask_dir):
        if _stem(path) in masks:
            raise ValueError(f"two masks for {_stem(path)!r}: {masks[_stem(path)]} and {path}")
        masks[_stem(path)] = path
    missing = [p for p in images if _stem(p) not in masks]
    if missing:
        raise FileNotFoundError(f"no mask in {mask_dir} for {len(missing)} image(s), e.g. "
                                f"{missing[0]} (masks are matched by file name stem)")
    return [Job(p, masks[_stem(p)], files.join(output_dir, _stem(p) + ".png")) for p in images]


def jobs_from_list(list_path):
    """Jobs from a text file of ``image mask output`` lines (the original batch_test.py).

    Paths are whitespace-separated, relative to the current directory (as the original);
    blank lines and lines starting with ``#`` are skipped.

    Raises:
        ValueError: a line without exactly three paths (naming the line number).
    """
    jobs = []
    for number, line in enumerate(files.read_text(list_path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3:
            raise ValueError(f"{list_path}:{number}: expected 'image mask output', got "
                             f"{len(parts)} field(s): {line!r}")
        jobs.append(Job(*parts))
    if not jobs:
        raise ValueError(f"{list_path} lists no jobs")
    return jobs


# -- checking ---------------------------------------------------------------------------------


def panel_path(output):
    """``<output without extension>_panel.png``."""
    return os.path.splitext(output)[0] + PANEL_SUFFIX


def check_writable(path):
    """Raise ``ValueError``/``PermissionError`` naming ``path`` if it cannot be written.

    Checks the extension and, for local paths, that a file can be created in the nearest
    existing parent directory (missing directories are created when writing). Other
    filesystems (``gs://``, ``ram://``) have no cheap probe: a failed write names the path.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in OUTPUT_EXTENSIONS:
        raise ValueError(f"output {path}: extension {ext or '(none)'!r} is not one of "
                         f"{', '.join(OUTPUT_EXTENSIONS)}")
    if files.isdir(path):
        raise ValueError(f"output {path} is a directory")
    if not files.is_local(path):
        return
    parent = os.path.dirname(os.path.abspath(files.local_path(path)))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError(f"output {path} cannot be written: {parent} is not a directory")
    try:  # an unnamed temporary file: a real test (read-only FS, root) leaving nothing
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as err:
        raise PermissionError(f"output {path} cannot be written: cannot create files in "
                              f"{parent} ({err.strerror or err})") from err


def load_job(job, options=InpaintOptions()):
    """Read and check a job's inputs and outputs; nothing is written.

    ``job.mask`` is a mask file's path or a mask source (:mod:`gi_tf.inference.mask_sources`:
    boxes, or a colour painted on the image).

    Returns:
        :class:`Loaded` (notes name conversions and an empty mask).

    Raises:
        FileNotFoundError, ValueError, PermissionError: with a message naming the file.
    """
    check_writable(job.output)
    if options.panel:
        check_writable(panel_path(job.output))
    image, notes = image_io.read_image(job.image, return_notes=True,
                                       max_pixels=options.max_pixels)
    if isinstance(job.mask, (mask_sources.BoxMask, mask_sources.ColorMask)):
        holes, mask_notes = job.mask.holes(image), []
    else:
        holes, mask_notes = image_io.read_mask(job.mask, return_notes=True,
                                               max_pixels=options.max_pixels)
    return check_pair(job, image, notes, holes, mask_notes)


def check_pair(job, image, image_notes, holes, mask_notes):
    """The checks of a read image and its holes (:func:`load_job`'s, also gi-inpaint-beam's).

    Returns:
        :class:`Loaded`.

    Raises:
        ValueError: the sizes differ, or the mask covers the whole image.
    """
    notes = ([f"{job.image}: {n}" for n in image_notes]
             + [f"{job.mask}: {n}" for n in mask_notes])
    if holes.shape != image.shape[:2]:
        raise ValueError(f"image {job.image} is {image.shape[1]}x{image.shape[0]} but mask "
                         f"{job.mask} is {holes.shape[1]}x{holes.shape[0]} (width x height)")
    if holes.all():
        raise ValueError(f"mask {job.mask}: {FULL_MASK_MESSAGE}")
    if not holes.any():
        notes.append(f"{job.mask}: mask has no hole; the output is the input unchanged")
    return Loaded(image, holes, notes)


# -- running ----------------------------------------------------------------------------------


def masked_view(image, holes):
    """The input with its hole painted white (the original README's visualisation)."""
    return np.where(holes[..., None], np.uint8(255), image)


def make_panel(image, holes, result, attention):
    """input | masked | result | attention, labelled (result may be cropped: policy crop)."""
    return side_by_side([image, masked_view(image, holes), result, attention],
                        labels=list(PANEL_LABELS))


def inpaint_loaded(inpainter, loaded, options=InpaintOptions()):
    """``(result, attention)`` for a :class:`Loaded` job (no network call for an empty mask)."""
    if not loaded.holes.any():
        image = loaded.image
        if options.policy == "crop":
            image = crop_arrays_to_multiple(image[None], loaded.holes[None])[0][0]
        return image, np.full(image.shape, 255, np.uint8)
    return inpainter.inpaint(loaded.image, loaded.holes, return_attention=True,
                             policy=options.policy, max_side=options.max_side,
                             crop_to_hole=options.crop_to_hole or False,
                             window=options.window)


def write_outputs(job, loaded, result, attention, options=InpaintOptions()):
    """Write the result (and panel) atomically; returns the paths written."""
    written = []
    if options.panel:
        panel = make_panel(loaded.image, loaded.holes, result, attention)
        written.append(image_io.write_image_atomic(panel_path(job.output), panel))
    written.insert(0, image_io.write_image_atomic(job.output, result))
    return written


JobResult = collections.namedtuple("JobResult", ["job", "ok", "message", "notes", "seconds",
                                               "skipped"], defaults=(False,))
JobResult.__doc__ = ("Outcome of one job: ok flag, error message or written paths, notes, "
                     "time, skipped (its outputs existed: InpaintOptions.skip_existing).")


def outputs_exist(job, options=InpaintOptions()):
    """True when every file the job would write (output, and panel if asked) exists."""
    paths = [job.output] + ([panel_path(job.output)] if options.panel else [])
    return all(files.isfile(path) for path in paths)


def run_job(get_inpainter, job, options=InpaintOptions()):
    """Check, inpaint and write one job; errors are returned, not raised.

    Args:
        get_inpainter: callable returning the :class:`gi_tf.Inpainter` (called only when
            the network is needed, so bad inputs fail before a model is loaded).
        job: the :class:`Job`.
        options: :class:`InpaintOptions`.

    Returns:
        :class:`JobResult`.
    """
    start = time.perf_counter()
    notes = []
    if options.skip_existing and outputs_exist(job, options):
        return JobResult(job, True, f"skipped: {job.output} exists", [], 0.0, skipped=True)
    try:
        loaded = load_job(job, options)
        notes = loaded.notes
        inpainter = get_inpainter() if loaded.holes.any() else None
        result, attention = inpaint_loaded(inpainter, loaded, options)
        written = write_outputs(job, loaded, result, attention, options)
    except (OSError, ValueError) as err:
        return JobResult(job, False, str(err), notes, time.perf_counter() - start)
    except tf.errors.OpError as err:  # e.g. out of memory: report, go on with the next job
        return JobResult(job, False, f"{type(err).__name__}: {err.message}", notes,
                         time.perf_counter() - start)
    return JobResult(job, True, "wrote " + ", ".join(written), notes,
                     time.perf_counter() - start)


class JobProgress:
    """The progress line of a run of several jobs: images done, how many failed, time.

    ``keras.utils.Progbar`` prints every value as a float average (``failed: 0.0000e+00``);
    a count of failed images is a whole number. Shown by :class:`gi_tf.utils.progress.Progress`:
    on a terminal the line is redrawn after each job; elsewhere (a log file, CI) a plain
    line is written per 10% of the jobs (and at the last one).

    Args:
        total: int, number of jobs.
        stream: where to write (``sys.stdout``).
    """

    def __init__(self, total, stream=None):
        self.total = int(total)
        self.failed = 0
        self._display = Progress(self.total, unit="image", stream=stream)

    @property
    def done(self):
        return self._display.done

    def line(self):
        """``"3/40 images, 1 failed, 2.4 s"``."""
        return (f"{self.done}/{self.total} images, {self.failed} failed, "
                f"{self._display.elapsed():.1f} s")

    def add(self, result):
        """Count one finished job (a :class:`JobResult`) and show the line."""
        self.failed += int(not result.ok)
        self._display.done += 1
        self._display.update(self._display.done, text=self.line())
