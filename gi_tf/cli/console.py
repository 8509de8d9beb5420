"""What a gi_tf command prints: one line per event, in the tool's own words.

Every console script goes through :func:`gi_tf.cli.runner.run_app`, which calls
:func:`setup` before TensorFlow is imported. From then on:

* **Python warnings** (a skipped damaged checkpoint, a converted grey image) print as one
  line, ``gi-inpaint: warning: skipping checkpoint ...``, without the
  ``UserWarning`` class and the source line Python adds.
* **TensorFlow's and Keras' Python log records** show at warning level and above only,
  and each once: their INFO lines ("Sharding callback duration", "Using
  MirroredStrategy", "Collective all_reduce tensors ...") describe their internals
  (gi-train says which devices it uses in its own line), and TensorFlow adds a handler
  of its own (every line twice, once as ``INFO:tensorflow:``) when it is imported
  before absl's handler is installed, which :func:`setup` therefore installs first.
  The tool's own INFO lines (progress, "Done: ...") stay.
* **TensorFlow's C++ INFO lines** (``cpu_feature_guard``'s "This TensorFlow binary is
  optimized ...") are hidden: ``TF_CPP_MIN_LOG_LEVEL=1`` unless the user set the
  variable. Warnings and errors of the C++ runtime still show.
* **Errors** are one line: ``gi-train: error: <reason> (see --help)`` for a usage error
  (:func:`usage_error`), ``gi-train: error: <reason>`` for the others (each CLI's
  ``main``); never the full ``--help``.

What is *not* quieted, because it cannot be done cleanly (the lines are harmless):

* ``cudart_stub.cc ... Could not find cuda drivers on your machine, GPU will not be
  used.`` (once or twice): TensorFlow's GPU-enabled wheel probes for the CUDA runtime
  when its libraries load, through absl's C++ logging before it is initialised; no
  setting made from Python reaches it (``TF_CPP_MIN_LOG_LEVEL=3`` does not either).
* ``cuda_platform.cc ... failed call to cuInit``: the same probe, at *error* level on a
  machine without an NVIDIA driver; only ``TF_CPP_MIN_LOG_LEVEL=3`` hides it, and that
  would hide TensorFlow's real errors too. Set it yourself on a CPU-only machine if the
  line bothers you.
"""

import importlib.util
import logging
import os
import sys
import warnings

from absl import logging as absl_logging

# TensorFlow's C++ INFO lines hidden; its warnings and errors kept.
TF_CPP_MIN_LOG_LEVEL = "1"
PYTHON_LOGGERS = ("tensorflow", "keras")  # third-party loggers kept at WARNING

_program = None


def program_name(module_name=None):
    """How the running command is called: ``gi-train``, or ``python -m gi_tf.cli.train``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not name or name.endswith(".py") or name == "-c":
        if module_name in (None, "__main__"):  # python -m: the module's real name
            spec = getattr(sys.modules.get("__main__"), "__spec__", None)
            module_name = spec.name if spec is not None else None
        return f"python -m {module_name}" if module_name else "gi_tf"
    return name


def _package_dirs(names):
    """Folders of the installed packages ``names`` (found without importing them)."""
    folders = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for folder in (spec.submodule_search_locations or []) if spec else []:
            folders.append(os.path.join(os.path.realpath(folder), ""))
    return tuple(folders)


class _QuietThirdPartyInfo(logging.Filter):
    """Drops INFO (and DEBUG) records logged from inside TensorFlow or Keras.

    Some TensorFlow modules log through absl's logger directly ("Sharding callback
    duration: 187 microseconds" at every checkpoint), so the level of the
    ``tensorflow`` logger does not reach them; their file does.
    """

    def __init__(self, packages=PYTHON_LOGGERS):
        super().__init__()
        self._folders = None
        self._packages = packages

    def filter(self, record):
        if record.levelno >= logging.WARNING:
            return True
        if self._folders is None:
            self._folders = _package_dirs(self._packages)
        path = os.path.realpath(record.pathname) if record.pathname else ""
        return not path.startswith(self._folders)


def one_line(text):
    """``text`` on one line (line breaks of a multi-line reason become spaces)."""
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    del category, filename, lineno, line  # the tool's own words only
    stream = file if file is not None else sys.stderr
    try:
        stream.write(f"{_program or program_name()}: warning: {one_line(message)}\n")
    except OSError:  # a closed stream: as warnings.showwarning, never fail on a warning
        pass


def setup(program=None, environ=None):
    """Configure this process's output for a console script (module doc). Idempotent.

    Call it before TensorFlow is imported: the C++ log level is read once, when
    TensorFlow's libraries load.

    Args:
        program: the command's name used in messages (default :func:`program_name`).
        environ: the environment to set ``TF_CPP_MIN_LOG_LEVEL`` in (``os.environ``).
    """
    global _program
    _program = program or program_name()
    env = os.environ if environ is None else environ
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_CPP_MIN_LOG_LEVEL)
    # absl's handler on the root logger before TensorFlow is imported: TensorFlow then
    # does not add a second handler of its own (tf_logging.get_logger).
    absl_logging.use_absl_handler()
    for name in PYTHON_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    handler = absl_logging.get_absl_handler()
    if not any(isinstance(f, _QuietThirdPartyInfo) for f in handler.filters):
        handler.addFilter(_QuietThirdPartyInfo())
    warnings.showwarning = _show_warning


def usage_error(reason, program=None):
    """Print ``<program>: error: <reason> (see --help)`` on stderr and exit with status 1.

    A usage error is a wrong command line: an unknown flag, a bad flag value, flags that
    exclude each other. The full ``--help`` is not printed: it buried the reason.
    """
    program = program or _program or program_name()
    sys.stderr.write(f"{program}: error: {one_line(reason)} (see --help)\n")
    sys.stderr.flush()
    raise SystemExit(1)
