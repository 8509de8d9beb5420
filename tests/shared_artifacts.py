"""Artefacts built once per test session and shared by every xdist worker.

A generator checkpoint (with and without contextual attention) and one SavedModel export
cost seconds to minutes each; many test files need the same ones. :func:`shared_dir`
builds an artefact once, in pytest's base temporary directory (the folder that all
workers of one ``pytest`` run share), under a file lock, and every later caller (in this
worker or another) gets the finished directory. The directory's name carries a hash of
the ``gi_tf`` package source and of this file, so an artefact is never reused across a
change of the code that built it (and a stale one from another run is never picked up:
each run has its own base temporary directory anyway).

The fixtures over these (``tests/conftest.py``): ``shared_checkpoint``,
``shared_checkpoint_no_attention``, ``shared_export``, ``shared_smoke_run`` (see their
docstrings). A test that
writes into an artefact must copy it first: the directories are shared.
"""

import hashlib
import json
import os
import shutil

try:
    import fcntl
except ImportError:  # not POSIX: each worker builds its own copy (still correct)
    fcntl = None

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join(os.path.dirname(TESTS_DIR), "gi_tf")

# The seeded, untrained generators' seed. The numbers do not matter (every test that
# uses an artefact compares against a reference computed from the same weights).
SEED = 0
# The shared export's attention chunk bound: small enough that a 250x333 request runs the
# chunked attention inside the SavedModel (32x42 grid: 1.8M scores, so 5 chunks of 7
# rows), so tests/inference/test_export.py's parity also covers chunking.
EXPORT_CHUNK_ELEMENTS = 900_000

_SOURCE_HASH = None


def source_hash():
    """A short hash of every file of the ``gi_tf`` package and of this module."""
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        digest = hashlib.sha256()
        paths = [os.path.abspath(__file__)]
        for folder, dirs, names in os.walk(PACKAGE_DIR):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            paths += [os.path.join(folder, n) for n in sorted(names)
                      if not n.endswith((".pyc", ".pyo"))]
        for path in paths:
            digest.update(os.path.relpath(path, PACKAGE_DIR).encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
        _SOURCE_HASH = digest.hexdigest()[:12]
    return _SOURCE_HASH


def session_root(tmp_path_factory):
    """The folder all workers of this pytest run share (pytest's base temp directory).

    Under xdist each worker's base temp is ``.../pytest-N/popen-gwK``: its parent is the
    run's own; without xdist it is the base temp itself.
    """
    base = str(tmp_path_factory.getbasetemp())
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = os.path.dirname(base)
    return base


def shared_dir(tmp_path_factory, name, build):
    """The directory of artefact ``name``: ``build(directory)`` fills it, once per run.

    ``build`` gets an empty directory of its own; when it returns, the directory is
    renamed into place (so a half-built artefact is never seen) and a later call, in any
    worker, returns it without building. A failed build leaves nothing and raises in the
    caller (the next caller tries again).
    """
    root = os.path.join(session_root(tmp_path_factory), "shared-artefacts")
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f"{name}-{source_hash()}")
    if os.path.isdir(final):
        return final
    with open(final + ".lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.path.isdir(final):  # another worker built it while this one waited
                return final
            staging = final + f".tmp-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            os.makedirs(staging)
            try:
                build(staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            os.rename(staging, final)
            return final
        finally:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)


# -- the artefacts ----------------------------------------------------------------------------


def build_checkpoint(directory, use_attention=True):
    """A seeded, untrained generator saved as a gi_tf checkpoint (model_config.json too)."""
    import keras

    from gi_tf.models import build_generator
    from gi_tf.models.checkpoints import save_generator
    from gi_tf.models.config import ModelConfig

    keras.utils.set_random_seed(SEED)
    save_generator(build_generator(use_attention=use_attention), directory,
                   ModelConfig(use_attention=use_attention))


def checkpoint_prefix(directory):
    """The checkpoint prefix (``.../ckpt-N``) in a checkpoint directory."""
    import tensorflow as tf

    prefix = tf.train.latest_checkpoint(directory)
    assert prefix is not None, f"no checkpoint in {directory}"
    return prefix


def build_export(checkpoint_dir):
    """``build(directory)`` that exports ``checkpoint_dir`` to ``directory/gi_tf/1``."""

    def build(directory):
        from gi_tf.inference import export

        export.export_saved_model(checkpoint_prefix(checkpoint_dir),
                                  os.path.join(directory, "gi_tf"),
                                  attention_chunk_elements=EXPORT_CHUNK_ELEMENTS)

    return build


SMOKE_FLAGFILE = os.path.join(os.path.dirname(TESTS_DIR), "flags", "train", "smoke.flags")
SMOKE_RUN_DIR = "run"  # the run's model_dir, inside the artefact
SMOKE_LOG_FILE = "log_lines.json"  # the log lines gi-train wrote, as a JSON list


def run_train_cli(argv):
    """``gi-train`` run in-process (its ``main``, as the console script calls it).

    Returns the log lines it wrote (absl's INFO log).
    """
    import logging

    from absl import flags

    from gi_tf.cli import train as train_cli

    class Lines(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    flag_values = flags.FlagValues()
    train_cli.define_flags(flag_values)
    flag_values(["gi-train", *argv])
    handler, logger = Lines(), logging.getLogger("absl")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        train_cli.main(["gi-train"], flag_values)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.lines


def build_smoke_run(directory):
    """The smoke preset as CI runs it, into ``directory/run``; log lines to ``log_lines.json``.

    :func:`shared_dir` then renames ``directory``: the run stays valid (its checkpoint
    state names ``ckpt-N`` relative to the run), but ``flags_used.flags`` records the
    ``--model_dir`` it was built at.
    """
    model_dir = os.path.join(directory, SMOKE_RUN_DIR)
    lines = run_train_cli([f"--flagfile={SMOKE_FLAGFILE}", f"--model_dir={model_dir}"])
    with open(os.path.join(directory, SMOKE_LOG_FILE), "w") as handle:
        json.dump(lines, handle)


def smoke_run(directory):
    """``(model_dir, log lines)`` of a :func:`build_smoke_run` artefact."""
    with open(os.path.join(directory, SMOKE_LOG_FILE)) as handle:
        lines = json.load(handle)
    return os.path.join(directory, SMOKE_RUN_DIR), lines
