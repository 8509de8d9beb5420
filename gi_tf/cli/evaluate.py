"""gi-eval: score inpainting models and classical baselines on a folder of images.

Usage::

    python -m gi_tf.cli.evaluate --model=demo_output/export --images=photos/ \\
        --mask=box,free --mask_seed=0 --output_dir=eval_out
    python -m gi_tf.cli.evaluate --model="ours=runs/a" --model="no attention=runs/b" \\
        --images=photos/ --masks=holes/ --output_dir=eval_out

``--model`` (repeatable, optional) is a SavedModel (a version directory or an export
base, whose highest version is used) or a gi_tf checkpoint (prefix or directory),
optionally prefixed by a label ``label=path``. Holes come from ``--masks`` (a folder
with the images' relative names, any image extension, pixel >= 128 = hole) or are
generated (``--mask=box,free`` with ``--mask_seed``; they are saved to
``<output_dir>/masks/<kind>/`` for reuse with ``--masks``). OpenCV Telea and
Navier-Stokes run on the same inputs, and PatchMatch (the paper's baseline) when
pypatchmatch is installed (``pip install "gi_tf[patchmatch]"``; otherwise a line says it
was skipped and why). Written to ``--output_dir``: ``metrics.csv``
(per image), ``summary.csv``, ``metrics.md`` (table method x metric x mask kind) and
``examples.png`` (input | masked | each method | attention map); metric definitions in
:mod:`gi_tf.evaluation.metrics`.
"""

import datetime
import os
import re
import shlex

from absl import app
from absl import flags
from absl import logging

from gi_tf.cli.runner import run_app
from gi_tf.inference import WINDOW_MODES
from gi_tf.utils import files
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    fv = {"flag_values": flag_values}
    flags.DEFINE_multi_string("model", [], "SavedModel or checkpoint to evaluate, as PATH or "
                              "LABEL=PATH; repeat for several.", **fv)
    flags.DEFINE_string("images", None, "Folder of images (searched recursively).", **fv)
    flags.DEFINE_string("masks", None, "Folder of masks with the images' relative names "
                        "(>= 128 = hole). Without it holes are generated (--mask).", **fv)
    flags.DEFINE_list("mask", ["box", "free"], "Generated mask kinds: box, free.", **fv)
    flags.DEFINE_integer("mask_seed", 0, "Seed of the generated masks.", **fv)
    flags.DEFINE_string("output_dir", "eval_output", "Where the reports go (created).", **fv)
    flags.DEFINE_integer("limit", None, "Evaluate only the first N images (sorted).",
                         lower_bound=1, **fv)
    flags.DEFINE_integer("num_examples", 4, "Rows of examples.png.", lower_bound=0, **fv)
    flags.DEFINE_bool("baselines", True, "Also run OpenCV Telea and Navier-Stokes (and "
                      "PatchMatch, see --patchmatch).", **fv)
    flags.DEFINE_bool("patchmatch", True, "With --baselines: also run PatchMatch (the "
                      "pypatchmatch package, extra [patchmatch]); skipped with a printed "
                      "reason when it is not installed.", **fv)
    flags.DEFINE_float("radius", 3.0, "OpenCV inpainting radius in pixels.", **fv)
    flags.DEFINE_integer("max_side", None, "Downscale images whose longer side exceeds this "
                         "before the network (see Inpainter.inpaint).", lower_bound=8, **fv)
    flags.DEFINE_enum("window", "auto", list(WINDOW_MODES), "Exact windowed path for "
                      "checkpoints (same result, computed only where it reaches the hole): "
                      "auto = when it saves work, on, off (see Inpainter.inpaint).", **fv)
    flags.DEFINE_integer("max_pixels", DEFAULT_MAX_PIXELS, "Refuse images (and masks) with "
                         "more pixels than this, read from the file's header before decoding "
                         "(decompression bombs); 0 = no limit.", lower_bound=0, **fv)
    flags.DEFINE_bool("progress", True, "Show a progress bar.", **fv)
    flags.mark_flag_as_required("images", flag_values=flag_values)


# Folder names that say what a folder holds, not which model it is: the label is the
# folder above (demo_output/export -> demo_output).
GENERIC_FOLDER_NAMES = frozenset({"export", "exports", "saved_model", "saved_models",
                                  "checkpoint", "checkpoints", "ckpt", "model", "models"})
_CHECKPOINT_FILE = re.compile(r"^ckpt(-\d+)?(\.index|\.data-\d+-of-\d+)?$")


def model_label(path):
    """The model's own name for a report, from its path: the export's directory above the
    version (``runs/places2/3`` -> ``places2``), the checkpoint run's name
    (``runs/a/ckpt-100`` -> ``a``), skipping folder names that only say what they hold
    (:data:`GENERIC_FOLDER_NAMES`: ``demo_output/export`` -> ``demo_output``).

    >>> model_label("demo_output/export/1"), model_label("runs/a/ckpt-100")
    ('demo_output', 'a')
    """
    parts = [p for p in os.path.normpath(path).split(os.sep) if p not in ("", ".")]
    if len(parts) > 1 and (parts[-1].isdigit() or _CHECKPOINT_FILE.match(parts[-1])):
        parts = parts[:-1]
    while len(parts) > 1 and parts[-1].lower() in GENERIC_FOLDER_NAMES:
        parts = parts[:-1]
    return parts[-1] if parts else path


def parse_model_spec(spec):
    """``(label, path)`` from ``"label=path"`` or ``"path"`` (label: :func:`model_label`)."""
    label, sep, path = spec.partition("=")
    if not sep or os.sep in label or not label:
        path = spec
        label = model_label(path)
    return label, path


def build_methods(model_specs, baselines, radius, max_side=None, patchmatch=True,
                  window="auto", max_pixels=DEFAULT_MAX_PIXELS):
    """``{label: method}``: each model (loaded now), then the classical baselines."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.evaluation.baselines import baseline_methods
    from gi_tf.evaluation.evaluate import inpainter_method  # lazy: TensorFlow start-up
    from gi_tf.evaluation.evaluate import load_inpainter  # lazy: TensorFlow start-up

    methods = {}
    for spec in model_specs:
        label, path = parse_model_spec(spec)
        if label in methods:
            raise ValueError(f"two models are labelled {label!r}; use LABEL=PATH")
        methods[label] = inpainter_method(load_inpainter(path, max_pixels), max_side=max_side,
                                          window=window)
    if baselines:
        methods.update(baseline_methods(radius, patchmatch=patchmatch))
    if not methods:
        raise ValueError("nothing to evaluate: give --model or keep --baselines")
    return methods


def command_line(program, flag_values):
    """``program`` and the flags given explicitly, shell-quoted (for the report header)."""
    parts = [program]
    for name in flag_values:
        flag = flag_values[name]
        # An alias (DEFINE_alias) is marked present together with its flag: list it once.
        is_alias = type(flag).__name__ == "_FlagAlias"
        if flag.present and flag.name == name and not is_alias:
            parts += [shlex.quote(s) for s in flag_values[name].serialize().splitlines()]
    return " ".join(parts)


def _header(fv, methods, num_samples):
    holes = (f"masks from {fv.masks}" if fv.masks else
             f"generated {', '.join(fv.mask)} masks, seed {fv.mask_seed} "
             f"(saved in {os.path.join(fv.output_dir, 'masks')})")
    return "\n".join([
        f"# gi-eval ({datetime.datetime.now().astimezone().isoformat(timespec='seconds')})", "",
        f"Command: `{command_line('gi-eval', fv)}`", "",
        f"Images: {fv.images} ({num_samples} samples); holes: {holes}.", "",
        "Methods: " + ", ".join(methods) + "."])


def evaluate_folder(fv):
    """Run the evaluation the flags describe; returns the markdown table."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.evaluation import evaluate as ev
    from gi_tf.evaluation import report as eval_report  # lazy: TensorFlow start-up

    kinds = tuple(fv.mask)
    if not fv.masks and (not kinds or set(kinds) - set(ev.MASK_KINDS)):
        raise ValueError(f"--mask must list kinds from {ev.MASK_KINDS}; got {list(kinds)}")
    total = ev.count_samples(fv.images, fv.masks, kinds, fv.limit)
    methods = build_methods(fv.model, fv.baselines, fv.radius, fv.max_side, fv.patchmatch,
                            fv.window, fv.max_pixels or None)
    samples = ev.folder_samples(fv.images, fv.masks, kinds, fv.mask_seed, fv.limit,
                                max_pixels=fv.max_pixels or None)
    if not fv.masks:
        samples = ev.saving_masks(samples, os.path.join(fv.output_dir, "masks"))
    print(f"Evaluating {', '.join(methods)} on {total} samples")
    result = ev.evaluate(methods, samples, num_examples=fv.num_examples, progress=fv.progress,
                         total=total)
    table = eval_report.write_outputs(result, fv.output_dir,
                                      header=_header(fv, methods, total),
                                      chosen=f"the first {fv.num_examples}; --num_examples")
    print("\n" + table + "\n")
    names = eval_report.output_names(result)
    print(f"Wrote {', '.join(names[:-1])} and {names[-1]} to {fv.output_dir}")
    return table


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)
    try:
        evaluate_folder(flag_values)
    except (FileNotFoundError, ValueError, files.FileError) as err:
        raise SystemExit(f"gi-eval: error: {err}") from err


def run():
    """Console-script entry point (``gi-eval``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
