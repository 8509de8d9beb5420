"""``gi-bench``: speed and memory figures of gi_tf on this machine.

    python -m gi_tf.cli.bench                  # every section (tens of minutes on 2 cores)
    python -m gi_tf.cli.bench --quick          # tiny sizes: a smoke test
    python -m gi_tf.cli.bench --sections=attention,generator --repeats=5 \\
        --output_json=bench.json

Sections (``--sections``, comma list, default all; the matmul yardstick always runs):
yardstick, attention, generator, memory, precision, training, original (gi_tf beside the
authors' v1.0.0 graph, built by gi-parity's loader from ``--original``/``--neuralgym``
checkouts; skipped without them), saved_model, large (big
photos end to end: the windowed and the whole-image paths, their exactness), stability
(hundreds of small gi-train steps: finite losses, resident memory per step), beam, startup
(fresh processes: gi-export, gi-inpaint to the first result, ops per signature, the first
request with and without TF Serving's warm-up). Each prints
a table as it finishes; ``--output_json`` also writes every figure together with the
machine description and the settings.
"""

from absl import app
from absl import flags
from absl import logging

from gi_tf.benchmarks import SECTION_ORDER
from gi_tf.benchmarks.common import BenchSettings
from gi_tf.cli import config_flags
from gi_tf.cli.runner import run_app
from gi_tf.utils import files

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    fv = {"flag_values": flag_values}
    flags.DEFINE_string("sections", "all",
                        f"Comma-separated sections out of {list(SECTION_ORDER)}.", **fv)
    config_flags.define_config_flags(BenchSettings, flag_values)
    flags.DEFINE_string("output_json", None, "Also write the full report here (atomically).",
                        **fv)


def settings_from_flags(flag_values):
    """The :class:`~gi_tf.benchmarks.common.BenchSettings` of the parsed flags (validated)."""
    return config_flags.config_from_flags(BenchSettings, flag_values).validate()


def write_json_atomic(path, report):
    """Write ``report`` as indented JSON (sections in run order) atomically, to a local
    path or any TF filesystem (:func:`gi_tf.utils.files.write_json`)."""
    files.write_json(files.abspath(path), report, sort_keys=False)


def run_benchmark(flag_values=FLAGS):
    """Runs the requested sections, prints their tables; returns the report dict."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.benchmarks.runner import parse_sections
    from gi_tf.benchmarks.runner import run_sections  # lazy: TensorFlow start-up

    try:
        names = parse_sections(flag_values.sections)
        settings = settings_from_flags(flag_values)
    except ValueError as exc:
        raise app.UsageError(str(exc)) from exc
    if settings.checkpoint:  # refused before any section runs (they would each fail)
        # lazy: TensorFlow not needed for --help
        from gi_tf.models.checkpoints import resolve_checkpoint
        try:
            resolve_checkpoint(settings.checkpoint)
        except (OSError, ValueError) as err:
            raise SystemExit(f"gi-bench: error: --checkpoint: {err}") from None
    print(f"gi-bench: sections {names}{' (quick)' if settings.quick else ''}. Figures depend "
          "on the machine and its load; compare ratios within one run.\n")
    report = run_sections(names, settings)
    if flag_values.output_json:
        try:
            write_json_atomic(flag_values.output_json, report)
        except files.FileError as err:
            raise SystemExit(f"gi-bench: error: {err}") from err
        print(f"wrote {flag_values.output_json}")
    return report


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    logging.set_verbosity(logging.WARNING)  # TF's export chatter would bury the tables
    run_benchmark(flag_values)  # returns None: app.run would print a returned value


def run():
    """Console-script entry point (``gi-bench``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
