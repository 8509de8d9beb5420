"""gi-inpaint-beam: inpaint a whole dataset with an exported model on Apache Beam.

Usage::

    # on this machine (DirectRunner, no network); masks paired by relative folder and stem
    gi-inpaint-beam --model=export/gi_tf --images='in/**/*.jpg' --masks='masks/**/*.png' \\
        --output_dir=out

    # one mask file, or the same boxes, for every image; two worker processes
    gi-inpaint-beam --model=export/gi_tf --images='in/*.png' --box=64,32,100,80 \\
        --output_dir=out -- --direct_num_workers=2 --direct_running_mode=multi_processing

    # Dataflow (or --runner=FlinkRunner ...): everything after -- goes to PipelineOptions
    gi-inpaint-beam --model=gs://b/models/gi_tf --images='gs://b/in/**' \\
        --masks='gs://b/masks/**' --output_dir=gs://b/out -- --runner=DataflowRunner \\
        --project=my-project --region=europe-west1 --temp_location=gs://b/tmp

Results are ``<output_dir>/<relative folder>/<stem>.png``, the same pixels as ``gi-inpaint
--model=<export>`` (its reading, checks and writing; atomic writes). Every matched image is
one line of ``<output_dir>/manifest.jsonl``: ``written``, ``skipped`` (``--skip_existing``)
or ``failed: <reason>`` (unreadable, size mismatch, full mask, too large, no mask): a bad
input never stops the run. The exit status is 1 if any image failed. Needs Apache Beam
(``pip install 'gi_tf[beam]'``); workers need gi_tf too (``--setup_file`` or a container).
"""

import logging
import sys

from absl import app
from absl import flags

from gi_tf.cli.runner import run_app
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS

FLAGS = flags.FLAGS
MISSING_BEAM = "gi-inpaint-beam needs Apache Beam: pip install 'gi_tf[beam]'"
# Defined here too (not imported from gi_tf.inference.beam): --help works without Beam.
DEFAULT_MAX_BATCH_SIZE = 16
DEFAULT_MAX_BATCH_PIXELS = 16 * 512 * 512
FAILURES_SHOWN = 20


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    def string(name, help_text):
        flags.DEFINE_string(name, None, help_text, flag_values=flag_values)

    string("model", "Exported SavedModel (version directory or export base), readable by "
           "every worker (gs://... on Dataflow).")
    string("images", "Glob of the input images on any filesystem Beam knows (in/**/*.jpg, "
           "gs://bucket/in/*.png); ** crosses folders.")
    string("masks", "Glob of the masks, paired with the images by relative folder and stem "
           "(in/a/x.jpg with masks/a/x.png); or one mask file for every image.")
    flags.DEFINE_multi_string("box", [], "Instead of masks: a hole TOP,LEFT,HEIGHT,WIDTH in "
                              "pixels for every image; repeat for several holes.",
                              flag_values=flag_values)
    string("output_dir", "Folder for the results (<relative folder>/<stem>.png) and "
           "manifest.jsonl.")
    flags.DEFINE_bool("skip_existing", False, "Skip images whose output (and panel) exists, "
                      "e.g. to finish a killed run; outputs are written atomically, so an "
                      "existing one is complete.", flag_values=flag_values)
    flags.DEFINE_integer("max_pixels", DEFAULT_MAX_PIXELS,
                         "Images (and masks) with more pixels than this fail, read from the "
                         "file's header before decoding; 0 = no limit.", lower_bound=0,
                         flag_values=flag_values)
    flags.DEFINE_bool("panel", False, "Also write <output stem>_panel.png: input | masked | "
                      "result | attention.", flag_values=flag_values)
    flags.DEFINE_integer("max_batch_size", DEFAULT_MAX_BATCH_SIZE,
                         "Most images in one model call.", lower_bound=1,
                         flag_values=flag_values)
    flags.DEFINE_integer("max_batch_pixels", DEFAULT_MAX_BATCH_PIXELS,
                         "Most pixels in one batch; a larger image goes alone.",
                         lower_bound=1, flag_values=flag_values)
    for name in ("model", "images", "output_dir"):
        flags.mark_flag_as_required(name, flag_values=flag_values)


def beam_arguments(argv):
    """The arguments for Beam's PipelineOptions: everything after ``--``."""
    rest = list(argv[1:])
    if rest and rest[0] == "--":
        rest = rest[1:]
    unexpected = [a for a in rest if not a.startswith("-")]
    if unexpected:
        raise app.UsageError(f"unexpected positional arguments {unexpected}; Beam's options "
                             "go after --, e.g. -- --runner=DataflowRunner")
    return rest


def build_config(flag_values):
    """The :class:`gi_tf.inference.beam.BeamConfig` of the flags (usage errors raised)."""
    # lazy: Apache Beam is an optional dependency (and not needed for --help)
    from gi_tf.inference import beam as gi_beam

    if bool(flag_values.masks) == bool(flag_values.box):
        raise app.UsageError("give the holes one way: --masks (a glob or one file) or --box")
    try:
        return gi_beam.BeamConfig(
            model=flag_values.model, images=flag_values.images, masks=flag_values.masks,
            box=tuple(flag_values.box), output_dir=flag_values.output_dir,
            skip_existing=flag_values.skip_existing,
            max_pixels=flag_values.max_pixels or None, panel=flag_values.panel,
            max_batch_size=flag_values.max_batch_size,
            max_batch_pixels=flag_values.max_batch_pixels)
    except ValueError as err:
        raise app.UsageError(str(err)) from err


def report(records, manifest_path):
    """Print the failures (the first few) and one summary line; returns the exit status."""
    counts = {"written": 0, "skipped": 0, "failed": 0}
    failures = []
    for record in records:
        status = record["status"]
        if status.startswith("failed"):
            counts["failed"] += 1
            failures.append(record)
        else:
            counts[status] += 1
    for record in failures[:FAILURES_SHOWN]:
        reason = record["status"].partition(": ")[2]
        print(f"gi-inpaint-beam: error: {record['input']}: {reason}", file=sys.stderr)
    if len(failures) > FAILURES_SHOWN:
        print(f"gi-inpaint-beam: ... and {len(failures) - FAILURES_SHOWN} more failures",
              file=sys.stderr)
    print(f"{counts['written']} of {len(records)} images written"
          + (f", {counts['skipped']} skipped (their outputs existed)" if counts["skipped"]
             else "")
          + (f"; {counts['failed']} failed" if counts["failed"] else "")
          + f"; manifest: {manifest_path}")
    return 1 if counts["failed"] else 0


def main(argv, flag_values=FLAGS):
    beam_args = beam_arguments(argv)
    try:
        # lazy: Apache Beam is an optional dependency ([beam] extra)
        import apache_beam  # noqa: F401
    except ImportError:
        raise SystemExit(MISSING_BEAM) from None
    # lazy: TensorFlow and Beam not needed for --help
    from gi_tf.inference import beam as gi_beam

    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    config = build_config(flag_values)
    try:
        records = gi_beam.run(config, beam_args)
    except (OSError, ValueError) as err:
        raise SystemExit(f"gi-inpaint-beam: error: {err}") from err
    return report(records, config.manifest_path)


def run():
    """Console-script entry point (``gi-inpaint-beam``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
