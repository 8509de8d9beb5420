"""gi-import-tf1: convert the authors' released TF1 DeepFill v1 checkpoint to gi_tf.

Usage::

    python -m gi_tf.cli.import_tf1 --checkpoint=model_logs/release_places2_256 \\
        --output=models/places2_256

``--checkpoint`` is the downloaded model directory (with ``checkpoint`` or, as Google
Drive serves it, ``checkpoint.txt``) or a prefix such as
``release_places2_256/snap-0``. ``--output`` receives a generator-only gi_tf
checkpoint plus ``model_config.json`` (and ``tf1_import.json``: source, self-check
figures, licence), which ``gi-inpaint``, ``gi-export``
and ``gi_tf.Inpainter.from_checkpoint`` load. The imported model takes and gives
**RGB** (the released weights are BGR; see :mod:`gi_tf.tf1.names`).

Before writing, the tool runs a numeric self-check (imported model vs. the released
weights through an independent path, see :func:`gi_tf.tf1.checkpoint.self_check`),
prints the max difference and refuses to write if it exceeds
``--self_check_tolerance``. The released weights are CC BY-NC 4.0 (research and
education only); the converted checkpoint stays under that licence.
"""

import dataclasses

from absl import app
from absl import flags

from gi_tf.cli.runner import run_app
from gi_tf.utils import files

FLAGS = flags.FLAGS
NAMES_SHOWN = 30  # ignored variable names listed per group
IMPORT_RECORD = "tf1_import.json"
LICENCE_NOTE = ("The released DeepFill v1 weights are CC BY-NC 4.0: research and education "
                "only; do not redistribute them or this conversion.")


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    flags.DEFINE_string(
        "checkpoint", None,
        "Released TF1 checkpoint: its directory (with 'checkpoint' or 'checkpoint.txt') or "
        "a prefix such as release_places2_256/snap-0.", flag_values=flag_values)
    flags.DEFINE_string(
        "output", None, "Directory to write the gi_tf checkpoint and model_config.json to.",
        flag_values=flag_values)
    flags.DEFINE_bool(
        "overwrite", False, "Allow writing into a non-empty --output directory.",
        flag_values=flag_values)
    flags.DEFINE_bool(
        "self_check", True, "Run the numeric self-check before writing.",
        flag_values=flag_values)
    flags.DEFINE_integer(
        "self_check_size", 256, "Height and width of the self-check input (multiple of 8).",
        lower_bound=8, flag_values=flag_values)
    flags.DEFINE_float(
        "self_check_tolerance", 1e-3,
        "Largest accepted max |difference| of the self-check ([-1, 1] scale; one uint8 "
        "level is 2/255 = 0.0078).", lower_bound=0.0, flag_values=flag_values)
    flags.register_validator(
        "self_check_size", lambda size: size % 8 == 0,
        "--self_check_size must be a multiple of 8", flag_values=flag_values)
    flags.mark_flags_as_required(["checkpoint", "output"], flag_values=flag_values)


def check_output(output, prefix, overwrite):
    """Raise ``app.UsageError`` if ``output`` cannot receive the converted checkpoint."""
    output = files.abspath(output)
    if files.abspath(files.dirname(prefix)) == output:
        raise app.UsageError(
            f"--output={output!r} is the TF1 checkpoint's own directory; writing there would "
            "replace its 'checkpoint' index. Choose another directory.")
    if files.exists(output) and not files.isdir(output):
        raise app.UsageError(f"--output={output!r} exists and is not a directory.")
    if files.isdir(output) and files.listdir(output) and not overwrite:
        raise app.UsageError(
            f"--output={output!r} is not empty; pass --overwrite to write into it anyway.")


def _print_names(title, names, limit=NAMES_SHOWN):
    print(f"{title}: {len(names)}")
    for name in names[:limit]:
        print(f"  {name}")
    if len(names) > limit:
        print(f"  ... and {len(names) - limit} more")


def import_checkpoint(checkpoint, output, overwrite=False, run_self_check=True,
                      self_check_size=256, self_check_tolerance=1e-3):
    """Import a TF1 checkpoint and write it as a gi_tf checkpoint; prints a report.

    Returns:
        the written checkpoint prefix.

    Raises:
        FileNotFoundError: no TF1 checkpoint at ``checkpoint``.
        ValueError: the variables do not match the generator, or the self-check failed
            (nothing is written then).
        absl.app.UsageError: ``output`` is not usable.
    """
    # Imported here so that --help does not load TensorFlow.
    from gi_tf.models.checkpoints import save_generator
    from gi_tf.models.config import ModelConfig  # lazy: TensorFlow start-up
    from gi_tf.models.generator import build_generator  # lazy: TensorFlow start-up
    from gi_tf.tf1 import checkpoint as tf1_checkpoint  # lazy: TensorFlow start-up

    prefix = tf1_checkpoint.resolve_tf1_checkpoint(checkpoint)
    check_output(output, prefix, overwrite)
    print(f"Reading {prefix}")
    model_config = ModelConfig()
    generator = build_generator(
        use_attention=model_config.use_attention,
        attention_implementation=model_config.attention_implementation)
    generator, weights = tf1_checkpoint.import_tf1_generator(prefix, generator)
    print(f"Imported {len(weights.generator)} generator variables ({weights.parameters:,} "
          "parameters), converted from BGR to RGB (image inputs of conv1/xconv1/pmconv1, "
          "outputs of conv17/allconv17).")
    _print_names("Ignored critic variables", weights.critic)
    _print_names("Ignored other variables (optimizer state, counters)", weights.other)

    check = None
    if run_self_check:
        print("Running the self-check...")
        check = tf1_checkpoint.self_check(generator, weights, self_check_size, self_check_size)
        print(check.summary())
        if check.max_abs_diff > self_check_tolerance:
            raise ValueError(
                f"Self-check failed: max |diff| {check.max_abs_diff:.3g} > "
                f"--self_check_tolerance={self_check_tolerance}; nothing written.")
    written = save_generator(generator, output, model_config)
    record = write_import_record(output, weights, check)
    print(f"Wrote {written} (+ model_config.json, {files.basename(record)}). {LICENCE_NOTE}")
    return written


def write_import_record(output, weights, check=None):
    """Write ``tf1_import.json`` (source, variables, self-check, licence) atomically."""
    record = {
        "source_prefix": files.abspath(weights.prefix),
        "imported_variables": len(weights.generator),
        "parameters": weights.parameters,
        "ignored_critic_variables": len(weights.critic),
        "ignored_other_variables": len(weights.other),
        "channel_order": "RGB (converted from the released BGR weights)",
        "self_check": None if check is None else dataclasses.asdict(check),
        "licence": LICENCE_NOTE,
    }
    return files.write_json(files.join(output, IMPORT_RECORD), record)


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    try:
        import_checkpoint(
            flag_values.checkpoint,
            flag_values.output,
            overwrite=flag_values.overwrite,
            run_self_check=flag_values.self_check,
            self_check_size=flag_values.self_check_size,
            self_check_tolerance=flag_values.self_check_tolerance,
        )
    except (FileNotFoundError, ValueError, files.FileError) as err:
        raise SystemExit(f"gi-import-tf1: error: {err}") from err


def run():
    """Console-script entry point (``gi-import-tf1``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
