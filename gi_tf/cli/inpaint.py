"""gi-inpaint: fill the holes of your own images with a trained DeepFill v1 model.

Usage::

    # one image (white mask pixels = hole); any size
    python -m gi_tf.cli.inpaint --model=export/saved_models/gi_tf \\
        --image=photo.jpg --mask=mask.png --output=out/photo.png [--panel]

    # a folder (masks matched by file name stem) or a list of "image mask output" lines
    gi-inpaint --model=runs/places2 --image_dir=in --mask_dir=masks --output_dir=out
    gi-inpaint --model=runs/places2 --list=jobs.txt

``--model`` is an exported SavedModel (a version directory or an export base) or a gi_tf
checkpoint (prefix or directory). Large photos: ``--max_side=1024`` inpaints a downscaled
copy and pastes the upscaled hole back; ``--crop_to_hole=256`` processes only the hole's
bounding box grown by 256 px. ``--policy=crop`` reproduces the original test.py (the
output is cropped to a multiple of 8). Every job is checked before anything is written;
a bad job writes nothing and the exit status is 1 if any job failed.
"""

import sys

from absl import app
from absl import flags

from gi_tf.cli.runner import run_app
from gi_tf.inference import DEFAULT_ATTENTION_CHUNK_ELEMENTS

FLAGS = flags.FLAGS


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
    flags.DEFINE_integer("attention_chunk_elements", DEFAULT_ATTENTION_CHUNK_ELEMENTS,
                         "Checkpoints only: bound on the attention's score entries held at "
                         "once (bounded memory for large images, same results); 0 = never "
                         "chunk.", lower_bound=0, flag_values=flag_values)
    flags.mark_flag_as_required("model", flag_values=flag_values)


def _mode(flag_values):
    groups = {
        "single": ("image", "mask", "output"),
        "folders": ("image_dir", "mask_dir", "output_dir"),
        "list": ("list",),
    }
    used = [m for m, names in groups.items() if any(flag_values[n].value for n in names)]
    if len(used) != 1:
        raise app.UsageError("give exactly one of: --image/--mask/--output, "
                             "--image_dir/--mask_dir/--output_dir, or --list")
    missing = [n for n in groups[used[0]] if not flag_values[n].value]
    if missing:
        raise app.UsageError("missing " + ", ".join("--" + n for n in missing))
    return used[0]


def build_jobs(flag_values):
    """The :class:`gi_tf.inference.file_jobs.Job` list the flags ask for."""
    from gi_tf.inference import file_jobs

    mode = _mode(flag_values)
    if mode == "single":
        return [file_jobs.Job(flag_values.image, flag_values.mask, flag_values.output)]
    if mode == "folders":
        return file_jobs.jobs_from_folders(
            flag_values.image_dir, flag_values.mask_dir, flag_values.output_dir)
    return file_jobs.jobs_from_list(flag_values.list)


class ModelLoadError(RuntimeError):
    """The model could not be loaded (ends the run; not a per-job error)."""


def check_model_path(path):
    """Raise ``FileNotFoundError`` unless ``path`` holds a SavedModel or a checkpoint."""
    from gi_tf.inference.inpainter import is_saved_model
    from gi_tf.models.checkpoints import resolve_checkpoint

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

    def __init__(self, path, attention_chunk_elements):
        self.path = path
        self.attention_chunk_elements = attention_chunk_elements
        self.inpainter = None

    def __call__(self):
        if self.inpainter is None:
            from gi_tf.inference.inpainter import Inpainter

            print(f"Loading {self.path} ...", flush=True)
            try:
                self.inpainter = Inpainter.open(self.path, self.attention_chunk_elements)
            except (OSError, ValueError) as err:
                raise ModelLoadError(f"cannot load --model={self.path!r}: {err}") from err
        return self.inpainter


def _report(result):
    for note in result.notes:
        print(f"note: {note}")
    if result.ok:
        print(f"{result.message} ({result.seconds:.2f} s)")
    else:
        print(f"gi-inpaint: error: {result.job.image}: {result.message}", file=sys.stderr)


def run_jobs(jobs, get_inpainter, options):
    """Run every job (progress bar for several); returns the list of JobResults."""
    import keras

    from gi_tf.inference import file_jobs

    if len(jobs) == 1:
        result = file_jobs.run_job(get_inpainter, jobs[0], options)
        _report(result)
        return [result]
    progress = keras.utils.Progbar(len(jobs), unit_name="image")
    results = []
    for job in jobs:
        results.append(file_jobs.run_job(get_inpainter, job, options))
        progress.add(1, values=[("failed", sum(not r.ok for r in results))])
    for result in results:
        if result.notes or not result.ok:
            _report(result)
    done = sum(r.ok for r in results)
    print(f"{done} of {len(results)} images written"
          + ("" if done == len(results) else f"; {len(results) - done} failed (see above)"))
    return results


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    from gi_tf.inference.file_jobs import InpaintOptions

    options = InpaintOptions(policy=flag_values.policy, max_side=flag_values.max_side or None,
                             crop_to_hole=flag_values.crop_to_hole, panel=flag_values.panel)
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
                                  flag_values.attention_chunk_elements or None)
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
