"""gi-parity: run the authors' DeepFill v1 code beside gi_tf and print the differences.

Usage (setup: docs/parity.md)::

    pip install 'gi_tf[parity]'
    gi-parity --original=generative_inpainting --neuralgym=neuralgym

The authors' files are read from the two checkouts (``v1.0.0`` and neuralgym) and run
unchanged under ``tf.compat.v1`` (:mod:`gi_tf.parity.standins` supplies what TensorFlow 2
removed). It compares the attention op, the generator through ``gi-import-tf1`` and one
training step (losses and gradients), prints one table and exits 1 if a row fails;
``--fixture_out`` writes the authors' numbers as the JSON fixture the tests compare against.
"""

import sys

from absl import app
from absl import flags
from absl import logging

from gi_tf.cli.runner import run_app
from gi_tf.utils import files

FLAGS = flags.FLAGS
SECTIONS = ("attention", "generator", "training")


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    flags.DEFINE_string(
        "original", None, "Checkout of JiahuiYu/generative_inpainting at tag v1.0.0 "
        "(holds inpaint_model.py, inpaint_ops.py, inpaint.yml).", flag_values=flag_values)
    flags.DEFINE_string(
        "neuralgym", None, "Checkout of JiahuiYu/neuralgym (holds neuralgym/ops/...).",
        flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Seed of the weights and inputs of both sides.",
                         flag_values=flag_values)
    flags.DEFINE_multi_enum(
        "sections", list(SECTIONS), SECTIONS, "Comparisons to run; repeat the flag for "
        "several (default: all three).", flag_values=flag_values)
    flags.DEFINE_bool(
        "tf32", False, "Allow TensorFloat-32 on GPUs that have it (TensorFlow's default). "
        "Off: both sides compute in true float32, which the tolerances assume.",
        flag_values=flag_values)
    flags.DEFINE_string(
        "fixture_out", None, "Write the authors' numbers for --seed as JSON here (the "
        "test fixture).", flag_values=flag_values)


def configure_tensorflow(tf32=False):
    """True float32 unless ``tf32``; hide TF 1 deprecation notices and tf.layers warnings."""
    # lazy: TensorFlow not needed for --help
    import tensorflow as tf

    from gi_tf.parity.original import hide_tf1_notices  # lazy: TensorFlow start-up

    # TensorFlow runs float32 matmuls and convolutions in TF32 on Ampere and later GPUs
    # (10-bit mantissa, ~1e-3 relative): far above the float32 noise compared here.
    tf.config.experimental.enable_tensor_float_32_execution(tf32)
    hide_tf1_notices()
    logging.set_verbosity(logging.WARNING)  # the authors' logger.info lines


def run_parity(original_dir, neuralgym_dir, seed=0, sections=SECTIONS, fixture_out=None,
               command=None, tf32=False):
    """Run the comparisons, print the table; returns True when every row passes.

    Raises:
        gi_tf.parity.original.CheckoutError: a checkout is missing or incomplete.
        ImportError: tf-keras / PyYAML missing (the ``[parity]`` extra).
    """
    # lazy: TensorFlow not needed for --help
    from gi_tf.parity import original as original_lib

    original_lib.check_checkouts(original_dir, neuralgym_dir)
    configure_tensorflow(tf32)
    # lazy: TensorFlow not needed for --help
    from gi_tf.parity import compare
    from gi_tf.parity import run as run_lib  # lazy: TensorFlow start-up

    original = original_lib.load(original_dir, neuralgym_dir)
    commits = ", ".join(f"{repo} {sha or 'unknown (not a git checkout)'}"
                        for repo, sha in original.commits.items())
    print(f"Authors' code: {commits}")
    rows, fixture = run_lib.run_sections(original, seed, tuple(sections))
    print(compare.format_table(rows))
    failed = [row.what for row in rows if not row.passed]
    print(f"{len(rows) - len(failed)} of {len(rows)} rows pass"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if fixture_out:
        fixture["command"] = command or " ".join(["gi-parity"] + sys.argv[1:])
        files.write_json(fixture_out, fixture)
        print(f"Wrote {fixture_out}")
    return not failed


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    # lazy: TensorFlow not needed for --help
    from gi_tf.parity.original import CheckoutError

    try:
        passed = run_parity(flag_values.original, flag_values.neuralgym, flag_values.seed,
                            flag_values.sections, flag_values.fixture_out,
                            tf32=flag_values.tf32)
    except (CheckoutError, ImportError, files.FileError) as err:
        raise SystemExit(f"gi-parity: error: {err}") from err
    if not passed:
        raise SystemExit(1)


def run():
    """Console-script entry point (``gi-parity``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
