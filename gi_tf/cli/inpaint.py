"""gi-inpaint: fill the holes of your own images with a trained DeepFill v1 model.

Usage (every flag: ``gi-inpaint --help``; recipes: docs/inpaint.md)::

    gi-inpaint --model=runs/mine --image=photo.jpg --mask=mask.png --output=out/photo.png
    gi-inpaint --model=runs/mine --image_dir=in --mask_dir=masks --output_dir=out

``--model`` is an exported SavedModel (a version directory or an export base) or a gi_tf
checkpoint (prefix or directory). Every job is checked before anything is written; a bad
job writes nothing and the exit status is 1 if any job failed.
"""

import os
import sys
import time

from absl import app
from absl import flags

from gi_tf.cli.runner import run_app
from gi_tf.inference import DEFAULT_ATTENTION_CHUNK_ELEMENTS
from gi_tf.inference import WINDOW_MODES
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS

FLAGS = flags.FLAGS

_IMPORTED = time.perf_counter()  # ~ the process' start (TensorFlow is imported later)

# The network runs at a fraction of the float32 matmul rate (attention, padding, memory
# traffic, and per call a fixed cost that weighs most on small images); --plan's range spans
# the fractions measured end to end on a 2-vCPU AMD EPYC VM: 0.19-0.26 at 256², 1.0-1.25 at
# 512², 1.6-1.8 at 1024x576 (oneDNN's convolutions beat a plain matmul): seconds = FLOPs /
# (rate x fraction).
PLAN_EFFICIENCY = (0.2, 1.8)


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    def string(name, help_text):
        flags.DEFINE_string(name, None, help_text, flag_values=flag_values)

    string("model", "Exported SavedModel (version directory or export base) or gi_tf "
           "checkpoint (prefix or directory).")
    string("image", "Input image (single-image mode; with --mask and --output).")
    string("mask", "Mask image: pixels >= 128 (blue channel) are holes.")
    string("output", "Output image path (.png or .jpg).")
    string("image_dir", "Folder of input images (with --mask_dir and --output_dir).")
    string("mask_dir", "Folder of masks, matched to the images by file name stem.")
    string("output_dir", "Folder for the results (<stem>.png).")
    string("list", "Text file of 'image mask output' lines, paths relative to the current "
           "directory (the original batch_test.py format).")
    flags.DEFINE_multi_string("box", [], "Instead of a mask file: a hole TOP,LEFT,HEIGHT,WIDTH "
                              "in pixels (e.g. 64,32,100,80); repeat for several holes. "
                              "With --image or --image_dir.", flag_values=flag_values)
    string("mask_color", "Instead of a mask file: the hole is painted on the image itself in "
           "this colour, #RRGGBB (e.g. #FF00FF). With --image or --image_dir.")
    flags.DEFINE_integer("mask_tolerance", 0, "With --mask_color: a pixel is a hole when each "
                         "of R, G, B is within this many levels of the colour (0 = exact; "
                         "JPEG blurs colours).", lower_bound=0, upper_bound=255,
                         flag_values=flag_values)
    flags.DEFINE_bool("panel", False, "Also write <output>_panel.png: input | masked | "
                      "result | attention.", flag_values=flag_values)
    flags.DEFINE_enum("policy", "pad", ["pad", "crop"],
                      "pad: any size, output has the input's size; crop: the original "
                      "test.py (output cropped to multiples of 8).", flag_values=flag_values)
    flags.DEFINE_integer("max_side", 0, "If > 0, inpaint a copy whose longer side is at most "
                         "this and paste the upscaled hole back (big photos).", lower_bound=0,
                         flag_values=flag_values)
    flags.DEFINE_integer("crop_to_hole", 0, "If > 0, inpaint only the hole's bounding box "
                         "grown by this many pixels of context.", lower_bound=0,
                         flag_values=flag_values)
    flags.DEFINE_enum("window", "auto", list(WINDOW_MODES),
                      "Exact windowed path: compute the network only where it reaches the "
                      "hole, with the whole image as the attention's background; same result. "
                      "auto: when it saves work; on: always; off: the whole image through the "
                      "network.", flag_values=flag_values)
    flags.DEFINE_bool("plan", False, "Print, per image, the path the model would take (windowed "
                      "or whole image), its FLOPs, the estimated peak memory and time (from "
                      "this machine's float32 matmul rate), without running the network or "
                      "writing anything.", flag_values=flag_values)
    flags.DEFINE_integer("attention_chunk_elements", DEFAULT_ATTENTION_CHUNK_ELEMENTS,
                         "Checkpoints only: bound on the attention's score entries held at "
                         "once (bounded memory for large images, same results); 0 = never "
                         "chunk.", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_integer("max_pixels", DEFAULT_MAX_PIXELS,
                         "Refuse images (and masks) with more pixels than this, read from the "
                         "file's header before decoding (decompression bombs); 0 = no limit.",
                         lower_bound=0, flag_values=flag_values)
    flags.DEFINE_bool("skip_existing", False, "Skip jobs whose output file (and panel) already "
                      "exist, e.g. to finish an interrupted folder run; outputs are written "
                      "atomically, so an existing one is complete.", flag_values=flag_values)
    flags.mark_flag_as_required("model", flag_values=flag_values)


def _mode(flag_values, mask_source=None):
    groups = {
        "single": ("image", "mask", "output"),
        "folders": ("image_dir", "mask_dir", "output_dir"),
        "list": ("list",),
    }
    used = [m for m, names in groups.items() if any(flag_values[n].value for n in names)]
    if len(used) != 1:
        raise app.UsageError("give exactly one of: --image/--mask/--output, "
                             "--image_dir/--mask_dir/--output_dir, or --list")
    missing = [n for n in groups[used[0]] if not flag_values[n].value
               and not (mask_source is not None and n in ("mask", "mask_dir"))]
    if missing:
        hint = (" (or --box / --mask_color instead of a mask file)"
                if {"mask", "mask_dir"} & set(missing) else "")
        raise app.UsageError("missing " + ", ".join("--" + n for n in missing) + hint)
    return used[0]


def mask_source(flag_values):
    """The holes of ``--box`` or ``--mask_color`` (a mask source), or None (mask files).

    Raises:
        app.UsageError: two ways of giving holes at once, a malformed box or colour, or
            ``--mask_tolerance`` without ``--mask_color``.
    """
    # lazy: TensorFlow not needed for --help
    from gi_tf.inference import mask_sources

    sources = [n for n in ("box", "mask_color") if flag_values[n].value]
    mask_files = [n for n in ("mask", "mask_dir", "list") if flag_values[n].value]
    if len(sources) > 1 or (sources and mask_files):
        raise app.UsageError("give the holes one way: a mask file (--mask, --mask_dir or "
                             "--list), --box, or --mask_color; got "
                             + " and ".join("--" + n for n in sources + mask_files))
    if flag_values["mask_tolerance"].present and not flag_values.mask_color:
        raise app.UsageError("--mask_tolerance applies only with --mask_color")
    try:
        if flag_values.box:
            return mask_sources.box_mask(flag_values.box)
        if flag_values.mask_color:
            return mask_sources.color_mask(flag_values.mask_color, flag_values.mask_tolerance)
    except ValueError as err:
        raise app.UsageError(f"--{sources[0]}: {err}") from err
    return None


def build_jobs(flag_values):
    """The :class:`gi_tf.inference.file_jobs.Job` list the flags ask for."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.inference import file_jobs

    source = mask_source(flag_values)
    mode = _mode(flag_values, source)
    if mode == "single":
        return [file_jobs.Job(flag_values.image, source or flag_values.mask,
                              flag_values.output)]
    if mode == "folders":
        return file_jobs.jobs_from_folders(
            flag_values.image_dir, flag_values.mask_dir, flag_values.output_dir, source)
    return file_jobs.jobs_from_list(flag_values.list)


class ModelLoadError(RuntimeError):
    """The model could not be loaded (ends the run; not a per-job error)."""


def check_model_path(path):
    """Raise ``FileNotFoundError`` unless ``path`` holds a SavedModel or a checkpoint."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.inference.inpainter import is_saved_model
    from gi_tf.models.checkpoints import resolve_checkpoint  # lazy: TensorFlow start-up

    if not is_saved_model(path):
        try:
            resolve_checkpoint(path)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"--model={path!r} is neither a SavedModel (a directory with saved_model.pb, "
                f"or an export base with integer versions) nor a gi_tf checkpoint ({err})"
            ) from err


class LazyInpainter:
    """Loads the model on first use, so that bad inputs fail before the (slow) load."""

    def __init__(self, path, attention_chunk_elements, max_pixels=DEFAULT_MAX_PIXELS):
        self.path = path
        self.attention_chunk_elements = attention_chunk_elements
        self.max_pixels = max_pixels
        self.inpainter = None
        self.load_seconds = None

    def __call__(self):
        if self.inpainter is None:
            # lazy: TensorFlow not needed for --help
            from gi_tf.inference.inpainter import Inpainter

            print(f"Loading {self.path} ...", flush=True)
            start = time.perf_counter()
            try:
                self.inpainter = Inpainter.open(self.path, self.attention_chunk_elements,
                                                max_pixels=self.max_pixels)
            except (OSError, ValueError) as err:
                raise ModelLoadError(f"cannot load --model={self.path!r}: {err}") from err
            self.load_seconds = time.perf_counter() - start
        return self.inpainter


def timing_text(seconds, load_seconds=None, process_seconds=None):
    """What a job's time counts: ``"1.40 s reading, inpainting, writing (+ model load
    5.2 s; process 9.8 s so far, incl. TensorFlow start-up)"``."""
    text = f"{seconds:.2f} s reading, inpainting, writing"
    extra = []
    if load_seconds is not None:
        extra.append(f"+ model load {load_seconds:.1f} s")
    if process_seconds is not None:
        extra.append(f"process {process_seconds:.1f} s so far, incl. TensorFlow start-up")
    return text + (f" ({'; '.join(extra)})" if extra else "")


def _report(result, load_seconds=None):
    for note in result.notes:
        print(f"note: {note}")
    if result.ok:
        if result.skipped:
            print(result.message)
            return
        seconds = result.seconds - (load_seconds or 0.0)
        print(f"{result.message} "
              f"({timing_text(seconds, load_seconds, time.perf_counter() - _IMPORTED)})")
    else:
        print(f"gi-inpaint: error: {result.job.image}: {result.message}", file=sys.stderr)


def run_jobs(jobs, get_inpainter, options):
    """Run every job (progress line for several); returns the list of JobResults."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.inference import file_jobs

    if len(jobs) == 1:
        result = file_jobs.run_job(get_inpainter, jobs[0], options)
        _report(result, getattr(get_inpainter, "load_seconds", None))
        return [result]
    progress = file_jobs.JobProgress(len(jobs))
    results = []
    for job in jobs:
        results.append(file_jobs.run_job(get_inpainter, job, options))
        progress.add(results[-1])
    for result in results:
        if result.notes or not result.ok:
            _report(result)
    done = sum(r.ok for r in results)
    skipped = sum(r.skipped for r in results)
    print(f"{done - skipped} of {len(results)} images written"
          + (f", {skipped} skipped (their outputs existed)" if skipped else "")
          + ("" if done == len(results) else f"; {len(results) - done} failed (see above)"))
    return results


def _gigabytes(n):
    return f"{n / 1e9:.2f} GB"


def _seconds(x):
    """Two significant digits: 0.31, 4.2, 37, 410."""
    return f"{x:.0f}" if x >= 100 else f"{x:.2g}"


def plan_seconds(flops, gflops, efficiency=PLAN_EFFICIENCY):
    """``(low, high)`` seconds of ``flops`` at ``gflops`` x each of the efficiency bounds."""
    return tuple(flops / (gflops * 1e9 * e) for e in sorted(efficiency, reverse=True))


def rate_text(gflops, cache_path, measured_now):
    """How the rate was obtained, e.g. ``"measured rate 41 GFLOP/s, cached in ~/.cache/..."``."""
    if cache_path is None:
        where = "measured now, cache not writable"
    else:
        home = os.path.expanduser("~")
        shown = "~" + cache_path[len(home):] if cache_path.startswith(home + os.sep) else cache_path
        where = ("measured now, cached in " if measured_now else "cached in ") + shown
    return f"float32 matmul rate {gflops:.0f} GFLOP/s, {where}"


def print_plans(jobs, get_inpainter, options):
    """``--plan``: one line per job with the path, FLOPs, memory and time estimates."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.benchmarks.yardstick import cached_matmul_gflops
    from gi_tf.inference import file_jobs  # lazy: TensorFlow start-up

    inpainter = get_inpainter()
    gflops, cache_path, measured_now = cached_matmul_gflops()
    low_eff, high_eff = sorted(PLAN_EFFICIENCY)
    failed = 0
    for job in jobs:
        try:
            loaded = file_jobs.load_job(job, options)
            if not loaded.holes.any():
                print(f"{job.image}: no hole; the output would be the input unchanged")
                continue
            cost = inpainter.plan(loaded.image.shape, loaded.holes, options.window)
        except (OSError, ValueError) as err:
            failed += 1
            print(f"gi-inpaint: error: {job.image}: {err}", file=sys.stderr)
            continue
        height, width = loaded.image.shape[:2]
        path = (f"windowed path, {cost['windows']} window(s)" if cost["windowed"]
                else "whole image")
        share = cost["flops"] / cost["whole_flops"]
        low, high = plan_seconds(cost["flops"], gflops)
        print(f"{job.image} ({width}x{height}, {int(loaded.holes.sum()):,} hole pixels): "
              f"{path}; {cost['flops'] / 1e9:,.1f} GFLOP ({share:.0%} of the whole image's "
              f"{cost['whole_flops'] / 1e9:,.1f}); estimated peak memory "
              f"{_gigabytes(cost['peak_bytes'])}; estimated {_seconds(low)}-{_seconds(high)} s on this "
              f"machine (the network runs at {low_eff:.0%}-{high_eff:.0%} of the "
              f"{rate_text(gflops, cache_path, measured_now)}; TensorFlow start-up and the "
              f"model load not included)")
    if options.max_side or options.crop_to_hole:
        print("note: the plan describes the image as given; --max_side / --crop_to_hole "
              "shrink what the network sees")
    return 1 if failed else 0


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    # lazy: TensorFlow not needed for --help
    from gi_tf.inference.file_jobs import InpaintOptions

    options = InpaintOptions(policy=flag_values.policy, max_side=flag_values.max_side or None,
                             crop_to_hole=flag_values.crop_to_hole, panel=flag_values.panel,
                             window=flag_values.window,
                             max_pixels=flag_values.max_pixels or None,
                             skip_existing=flag_values.skip_existing)
    if options.policy == "crop" and (options.max_side or options.crop_to_hole):
        raise app.UsageError("--policy=crop cannot be combined with --max_side/--crop_to_hole")
    if options.max_side is not None and options.max_side < 8:
        raise app.UsageError(f"--max_side must be 0 (off) or at least 8; got {options.max_side}")
    try:
        jobs = build_jobs(flag_values)
        check_model_path(flag_values.model)
    except (OSError, ValueError) as err:
        raise SystemExit(f"gi-inpaint: error: {err}") from err
    get_inpainter = LazyInpainter(flag_values.model,
                                  flag_values.attention_chunk_elements or None,
                                  max_pixels=options.max_pixels)
    if flag_values.plan:
        try:
            return print_plans(jobs, get_inpainter, options)
        except ModelLoadError as err:
            raise SystemExit(f"gi-inpaint: error: {err}") from err
    try:
        results = run_jobs(jobs, get_inpainter, options)
    except ModelLoadError as err:
        raise SystemExit(f"gi-inpaint: error: {err}") from err
    return 0 if all(r.ok for r in results) else 1


def run():
    """Console-script entry point (``gi-inpaint``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
