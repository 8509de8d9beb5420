"""What a gi_tf command prints: one line per event, in the tool's own words.

:func:`gi_tf.cli.runner.run_app` calls :func:`setup` before TensorFlow is imported. Then
Python warnings print as ``gi-inpaint: warning: ...``; TensorFlow's and Keras' log records
show from warning level, each once (absl's handler is installed first); C++ INFO lines are
hidden (``TF_CPP_MIN_LOG_LEVEL=1`` unless set); errors are one line (:func:`usage_error`
adds ``(see --help)``). TensorFlow's start-up lines, written before absl logging exists
(:data:`STARTUP_LINES`), are dropped by an import hook that reads file descriptor 2 through
a filter during the first ``import tensorflow``; a user's ``TF_CPP_MIN_LOG_LEVEL=0`` turns
it off. Not quieted: C++ warnings printed while a program runs (only level 2 would hide
them, real ones too), and a crash during the import may lose its last stderr lines.
"""

import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import threading
import warnings

from absl import logging as absl_logging

# TensorFlow's C++ INFO lines hidden; its warnings and errors kept.
TF_CPP_MIN_LOG_LEVEL = "1"
PYTHON_LOGGERS = ("tensorflow", "keras")  # third-party loggers kept at WARNING

_program = None

# TensorFlow's start-up lines that say nothing to a user (module doc); each a pattern of
# one whole stderr line. CUINIT only counts when NO_DRIVER was seen first.
NO_DRIVER = re.compile(r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine")
CUINIT = re.compile(r"^E\d{4} .*cuda_platform\.cc:\d+\] failed call to cuInit")
STARTUP_LINES = (
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called are "
               r"written to STDERR$"),
    re.compile(r"^I\d{4} .*port\.cc:\d+\] oneDNN custom operations are on\."),
    re.compile(r"^I\d{4} .*" + NO_DRIVER.pattern),
    re.compile(r"^I\d{4} .*cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized"),
    re.compile(r"^To enable the following instructions: .* rebuild TensorFlow with the "
               r"appropriate compiler flags\.$"),
)


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


class StartupFilter:
    """Decides, line by line, what of TensorFlow's start-up output is passed on."""

    def __init__(self):
        self.no_driver = False
        self.dropped = 0

    def keep(self, line):
        """False for a line of :data:`STARTUP_LINES` (``line`` without its newline)."""
        if NO_DRIVER.search(line):
            self.no_driver = True
        drop = any(p.search(line) for p in STARTUP_LINES) or (
            self.no_driver and CUINIT.search(line) is not None)
        self.dropped += drop
        return not drop


class _FilteredStderr:
    """File descriptor 2 read through a :class:`StartupFilter` while the block runs.

    A thread reads the pipe that fd 2 points to and writes the kept lines to the real
    stderr as they come (a hang shows its output; nothing is held until the end).
    """

    def __init__(self):
        self.filter = StartupFilter()

    def _forward(self, read_fd, out_fd):
        pending = b""
        try:
            while True:
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if self.filter.keep(line.decode("utf-8", "replace")):
                        os.write(out_fd, line + b"\n")
        finally:
            os.close(read_fd)
        if pending and self.filter.keep(pending.decode("utf-8", "replace")):
            os.write(out_fd, pending)

    def __enter__(self):
        sys.stderr.flush()
        self._saved = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._thread = threading.Thread(target=self._forward, args=(read_fd, self._saved),
                                        name="gi_tf-stderr-filter", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        try:
            sys.stderr.flush()
        finally:
            os.dup2(self._saved, 2)  # the pipe's last writer gone: the thread sees EOF
            self._thread.join()
            os.close(self._saved)
        return False


class _QuietTensorFlowLoader(importlib.abc.Loader):
    def __init__(self, loader, finder):
        self._loader, self._finder = loader, finder

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if self._finder in sys.meta_path:  # once
            sys.meta_path.remove(self._finder)
        with _FilteredStderr():
            self._loader.exec_module(module)
            # the cuInit probe runs at the first device query; no setting is fixed by it
            module.config.list_physical_devices()


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Import hook: the first ``import tensorflow`` runs through :class:`_FilteredStderr`."""

    def __init__(self):
        self._finding = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow" or self._finding:
            return None
        self._finding = True
        try:  # the finders below this one answer
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding = False
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietTensorFlowLoader(spec.loader, self)
        return spec


def quiet_tensorflow_startup(environ=None):
    """Install :class:`QuietTensorFlowImport` unless TensorFlow is imported already or the
    user set ``TF_CPP_MIN_LOG_LEVEL=0`` (show everything). Returns whether it did."""
    env = os.environ if environ is None else environ
    if "tensorflow" in sys.modules or env.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0":
        return False
    if not any(isinstance(f, QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlowImport())
    return True


def setup(program=None, environ=None):
    """Configure this process's output for a console script (module doc). Idempotent.

    Call it before TensorFlow is imported: the C++ log level is read once, when
    TensorFlow's libraries load.

    Args:
        program: the command's name used in messages (default :func:`program_name`).
        environ: the environment to set ``TF_CPP_MIN_LOG_LEVEL`` in; by default
            ``os.environ``, and then TensorFlow's start-up lines are filtered too.
    """
    global _program
    _program = program or program_name()
    env = os.environ if environ is None else environ
    if environ is None:  # this process: before the default below, the user's own choice
        quiet_tensorflow_startup(env)
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
