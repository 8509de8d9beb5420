"""gi-export: write a gi_tf checkpoint as a SavedModel in TF Serving's versioned layout.

Usage::

    python -m gi_tf.cli.export --checkpoint=runs/places2 \\
        --export_dir=export/saved_models/gi_tf [--version=3]

``--checkpoint`` is a checkpoint prefix or a directory whose latest checkpoint is used
(``gi-train``'s ``--model_dir``, ``gi-import-tf1``'s ``--output``). The SavedModel goes to
``<export_dir>/<version>/`` (default version: the next free integer), written to a
hidden temporary directory first and renamed into place. Signatures and serving
instructions: ``export/README.md``.
"""

from absl import app
from absl import flags
from absl import logging

from gi_tf.cli.runner import run_app
from gi_tf.inference import DEFAULT_ATTENTION_CHUNK_ELEMENTS
from gi_tf.inference import DEFAULT_MAX_REQUEST_GB
from gi_tf.utils import files
from gi_tf.utils.image_io import DEFAULT_MAX_PIXELS

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    flags.DEFINE_string(
        "checkpoint", None,
        "gi_tf checkpoint: a prefix (model_dir/ckpt-100) or a directory whose latest "
        "checkpoint is used.", flag_values=flag_values)
    flags.DEFINE_string(
        "export_dir", None,
        "Model base path (TF Serving's base_path); the SavedModel goes to "
        "<export_dir>/<version>/.", flag_values=flag_values)
    flags.DEFINE_integer(
        "version", None, "Version directory name (positive integer); default: the next free "
        "integer in --export_dir.", lower_bound=1, flag_values=flag_values)
    flags.DEFINE_integer(
        "attention_chunk_elements", DEFAULT_ATTENTION_CHUNK_ELEMENTS,
        "Bound on the attention's score entries per image held at once, baked into the "
        "graph: large images are processed in chunks of rows (same results, bounded "
        "memory). 0 = never chunk.", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_integer(
        "max_pixels", DEFAULT_MAX_PIXELS,
        "Largest image (height x width) the signatures accept; bigger requests get an "
        "InvalidArgument error, encoded ones before they are decoded (decompression "
        "bombs). 0 = no limit.", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_float(
        "max_request_gb", DEFAULT_MAX_REQUEST_GB,
        "Largest estimated working memory (GB) of one request, baked into the graph: the "
        "signatures plan each image from its mask (windowed or whole-image path) and refuse "
        "a request above this with InvalidArgument naming the estimate, before anything "
        "heavy runs. 0 = no bound.", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_bool(
        "warmup", True,
        "Write assets.extra/tf_serving_warmup_requests: small requests TF Serving replays "
        "when it loads the version, one per signature and path (windowed / whole image), "
        "so the first real request does not pay for graph optimisation.",
        flag_values=flag_values)
    flags.mark_flags_as_required(["checkpoint", "export_dir"], flag_values=flag_values)


def export(checkpoint, export_dir, version=None,
           attention_chunk_elements=DEFAULT_ATTENTION_CHUNK_ELEMENTS,
           max_pixels=DEFAULT_MAX_PIXELS, max_request_gb=DEFAULT_MAX_REQUEST_GB, warmup=True):
    """Export and print what was written; returns the version directory.

    Raises:
        FileNotFoundError: no checkpoint at ``checkpoint``.
        FileExistsError: the version directory exists.
        ValueError: the checkpoint does not hold a gi_tf generator.
    """
    # Imported here so that --help does not load TensorFlow.
    from gi_tf.inference import export as export_lib
    from gi_tf.models.checkpoints import resolve_checkpoint  # lazy: TensorFlow start-up

    prefix = resolve_checkpoint(checkpoint)  # fail fast, before building anything
    if version is not None:
        target = files.join(files.abspath(export_dir), str(version))
        if files.exists(target):
            raise FileExistsError(f"export version {target!r} already exists; pick another "
                                  "--version or leave it out to use the next free one")
    print(f"Exporting {prefix} ...")
    path = export_lib.export_saved_model(
        prefix, export_dir, version=version,
        attention_chunk_elements=attention_chunk_elements or None,
        max_pixels=max_pixels or None, max_request_gb=max_request_gb or None, warmup=warmup)
    print(f"Wrote SavedModel {path}" + (" (with TF Serving's warm-up requests)" if warmup
                                        else ""))
    print("Signatures: " + ", ".join(export_lib.SIGNATURE_KEYS) + " (see export/README.md)")
    print(f"Serve it with: tensorflow_model_server --rest_api_port=8501 --model_name=gi_tf "
          f"--model_base_path={files.dirname(path)}")
    return path


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    if "verbosity" in flag_values and not flag_values["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # TF's saver logs every step at INFO
    try:
        export(flag_values.checkpoint, flag_values.export_dir, version=flag_values.version,
               attention_chunk_elements=flag_values.attention_chunk_elements,
               max_pixels=flag_values.max_pixels, max_request_gb=flag_values.max_request_gb,
               warmup=flag_values.warmup)
    except (FileNotFoundError, FileExistsError, ValueError, files.FileError) as err:
        raise SystemExit(f"gi-export: error: {err}") from err


def run():
    """Console-script entry point (``gi-export``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
