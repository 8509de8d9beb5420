"""gi-app: a local web page to paint a hole and see it filled (needs ``gi_tf[app]``).

Usage::

    gi-app --model=export/saved_models/places2   # a SavedModel or a gi_tf checkpoint
    gi-app                                       # the gi-demo quickstart model, if any

then open http://127.0.0.1:7860. Without ``--model`` the page uses the model ``gi-demo``
writes under ``demo_out/`` (``--quickstart_dir``); when there is none it runs a freshly
initialised network and says on the page how to get a real one. Big photos are handled
as by ``gi-inpaint``: ``--max_side`` bounds what the network sees (the filled hole is
upscaled and pasted back), ``--crop_to_hole`` processes only a window around the hole.
"""

import importlib.util
import logging

from absl import app
from absl import flags

from gi_tf.app.logic import AppConfig
from gi_tf.app.logic import AUTO
from gi_tf.app.logic import DEFAULT_MAX_PIXELS
from gi_tf.app.logic import DEFAULT_MAX_REQUEST_GB
from gi_tf.app.logic import DEFAULT_MAX_SIDE
from gi_tf.app.served_model import choose_model
from gi_tf.app.served_model import QUICKSTART_DIR
from gi_tf.cli.runner import run_app
from gi_tf.inference import WINDOW_MODES

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    flags.DEFINE_string(
        "model", None,
        "SavedModel (version or export base directory) or gi_tf checkpoint (directory or "
        "prefix). Default: the gi-demo quickstart model under --quickstart_dir, else an "
        "untrained network (with a warning on the page).", flag_values=flag_values)
    flags.DEFINE_string(
        "quickstart_dir", QUICKSTART_DIR,
        "Where to look for gi-demo's model when --model is not given.",
        flag_values=flag_values)
    flags.DEFINE_string("host", "127.0.0.1",
                        "Address to serve on (0.0.0.0 exposes the page to the network).",
                        flag_values=flag_values)
    flags.DEFINE_integer("port", 7860, "Port to serve on.", lower_bound=1, upper_bound=65535,
                         flag_values=flag_values)
    flags.DEFINE_integer(
        "max_side", None,
        "Longest side the network processes; larger images (or hole windows) are "
        "downscaled and the filled hole pasted back at full size. 0 = no limit. Default: "
        f"full resolution when the model's plan estimates the request within "
        f"--max_request_gb, else {DEFAULT_MAX_SIDE} (the page says so).",
        lower_bound=0, flag_values=flag_values)
    flags.DEFINE_float(
        "max_request_gb", DEFAULT_MAX_REQUEST_GB,
        "Memory budget (GB) of one full-resolution request under the default --max_side.",
        lower_bound=0.001, flag_values=flag_values)
    flags.DEFINE_integer(
        "crop_to_hole", 0,
        "If > 0, process only the hole's bounding box grown by this margin in pixels.",
        lower_bound=0, flag_values=flag_values)
    flags.DEFINE_integer(
        "max_pixels", DEFAULT_MAX_PIXELS,
        "Refuse uploads with more pixels than this (with a message on the page).",
        lower_bound=1, flag_values=flag_values)
    flags.DEFINE_enum(
        "window", "auto", list(WINDOW_MODES),
        "Exact windowed path (same result, computed only where it reaches the hole): "
        "auto = when it saves work, on, off.", flag_values=flag_values)
    flags.DEFINE_integer(
        "attention_chunk_elements", None,
        "Bound on the attention's score entries held at once, for checkpoints and the "
        "untrained fallback (results are unchanged). Default: gi_tf.inference.inpainter's.",
        lower_bound=1, flag_values=flag_values)
    flags.register_validator(
        "max_side", lambda side: side is None or side == 0 or side >= 8,
        "--max_side must be 0 (no limit) or at least 8", flag_values=flag_values)


def app_config(flag_values=FLAGS):
    """The :class:`gi_tf.app.logic.AppConfig` the flags describe."""
    side = flag_values.max_side
    return AppConfig(max_side=AUTO if side is None else side or None,
                     max_request_gb=flag_values.max_request_gb,
                     crop_to_hole=flag_values.crop_to_hole,
                     max_pixels=flag_values.max_pixels,
                     window=flag_values.window).validate()


def main(argv):
    """Load the model, build the page and serve it until interrupted."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {' '.join(argv[1:])}")
    if importlib.util.find_spec("gradio") is None:  # fail before loading a model
        raise app.UsageError("gi-app needs Gradio, an optional dependency: "
                             "pip install 'gi_tf[app]'")
    # lazy: optional Gradio; TensorFlow not needed for --help
    from gi_tf.app.page import build_app
    from gi_tf.app.page import launch  # lazy: TensorFlow start-up

    try:
        served = choose_model(FLAGS.model, FLAGS.quickstart_dir, FLAGS.attention_chunk_elements)
    except FileNotFoundError as err:
        raise app.UsageError(str(err)) from err
    except (OSError, ValueError) as err:  # damaged or foreign model files: say which
        raise SystemExit(f"gi-app: error: cannot load --model={FLAGS.model!r}: {err}") from err
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own health checks
    print(served.banner().replace("**", ""))
    page = build_app(served, app_config())
    print(f"gi-app: serving on http://{FLAGS.host}:{FLAGS.port} (Ctrl+C to stop)")
    launch(page, host=FLAGS.host, port=FLAGS.port, block=True)


def run():
    """Console entry point."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
