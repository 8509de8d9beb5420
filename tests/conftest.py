"""Shared pytest setup for gi_tf.

* quiet TensorFlow and pick the TensorFlow Keras backend before anything imports them;
* give each xdist worker its share of the cores: TensorFlow's intra-op threads (and
  OpenMP's) = cores / workers, set before TensorFlow initialises and in the environment,
  so subprocesses that tests start (CLIs, killed processes) inherit the same bound;
* split the host CPU into two logical devices (CPU:0, CPU:1) before TensorFlow
  initialises, so distribution tests can use ``tf.distribute.MirroredStrategy`` on CPU;
* put the repository root and ``tests/`` on ``sys.path`` so tests can import ``gi_tf``,
  ``layer_checks`` and ``references.np_contextual_attention`` under any ``--import-mode``;
* seed NumPy and Python before every test (TensorFlow once: see ``_seed_everything``);
* session-wide shared artefacts (``shared_checkpoint``, ``shared_checkpoint_no_attention``,
  ``shared_export``, ``shared_smoke_run``), built once per ``pytest`` run for all workers
  (``tests/shared_artifacts.py``), and ``shared_served``, the export loaded once per worker.
"""

import os
import random
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threads_per_worker():
    """Cores / xdist workers (at least 1); all the cores without xdist."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    return max(1, _cores() // max(1, workers))


THREADS = _threads_per_worker()
# Environment first: TensorFlow's runtime reads these when it creates its thread pools,
# and subprocesses started by tests (which import TensorFlow again) inherit them. The
# inter-op pool keeps at least 2 threads: collective ops of MirroredStrategy on the two
# logical CPUs below wait on each other.
for _name, _value in (("TF_NUM_INTRAOP_THREADS", THREADS),
                      ("TF_NUM_INTEROP_THREADS", max(2, THREADS)),
                      ("OMP_NUM_THREADS", THREADS)):
    os.environ.setdefault(_name, str(_value))

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
for _path in (REPO_ROOT, TESTS_DIR):  # the checkout's gi_tf, even when run as plain `pytest`
    if _path not in sys.path:
        sys.path.insert(0, _path)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

NUM_LOGICAL_CPUS = 2


def _split_cpu(count):
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError:
        # TensorFlow was initialised before this conftest ran (e.g. a plugin); keep going,
        # the distribution tests check the device count themselves.
        pass


def _limit_threads():
    try:
        tf.config.threading.set_intra_op_parallelism_threads(
            int(os.environ["TF_NUM_INTRAOP_THREADS"]))
        tf.config.threading.set_inter_op_parallelism_threads(
            int(os.environ["TF_NUM_INTEROP_THREADS"]))
    except (RuntimeError, ValueError):
        pass  # TensorFlow already initialised: the environment variables above still hold


_limit_threads()
_split_cpu(NUM_LOGICAL_CPUS)

import shared_artifacts  # noqa: E402  (tests/shared_artifacts.py)


# The fast tier's longest files (seconds of setup + calls, measured with --durations on
# the 2-core CI machine), longest first. Under xdist (``--dist=loadfile``, one file per
# work unit) they are handed out first, so the run does not end with one worker still in
# a long file while the other idles; the remaining files follow in collection order. Only
# the order changes, never what runs. xdist >= 3.8 would hand files out by their number
# of tests instead (which puts these few-test files last): pytest_configure turns that
# off unless ``--loadscope-reorder`` is given; older xdist has no such option.
LONG_FILES = (
    "tests/inference/test_windowed.py",
    "tests/inference/test_export.py",
    "tests/training/test_gan.py",
    "tests/training/test_loop.py",
    "tests/inference/test_inpainter.py",
    "tests/cli/test_train.py",
    "tests/inference/test_beam.py",
    "tests/test_ram_filesystem.py",
    "tests/inference/test_serving_faults.py",
    "tests/training/test_distribute.py",
    "tests/parity/test_run.py",
    "tests/layers/test_contextual_attention.py",
)


def pytest_configure(config):
    if "--loadscope-reorder" not in config.invocation_params.args:
        if hasattr(config.option, "loadscopereorder"):
            config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    """Under xdist, the :data:`LONG_FILES` first (each file's tests stay in their order)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: the order does not change the run's length
    rank = {path: index for index, path in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(LONG_FILES)))


# TensorFlow's global seed, once per process. ``tf.random.set_seed`` (which
# ``keras.utils.set_random_seed`` calls) also clears TensorFlow's kernel cache, so per
# test it made every test re-instantiate (re-optimise) each traced function it calls
# again (~1.7 s for the windowed network, more for a SavedModel's signatures); no test
# needs that reset: gi_tf draws with explicit seeds (stateless ops, seeded
# SeedGenerators), and tests draw test data with NumPy.
keras.utils.set_random_seed(0)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seeds ``random`` and NumPy with 0 per test.

    Keras' initializers take their seeds from ``random`` (a layer built in a test gets
    the same weights whatever ran before); TensorFlow's global seed is set once, above.
    A test that needs TF's own seed reset calls ``keras.utils.set_random_seed`` itself.
    """
    random.seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(scope="session")
def shared_checkpoint(tmp_path_factory):
    """Directory of a seeded, untrained generator checkpoint, attention on (read only).

    ``model_config.json`` is ``ModelConfig()``; built once per run for every worker.
    ``shared_artifacts.checkpoint_prefix(directory)`` gives the ``.../ckpt-1`` prefix.
    """
    return shared_artifacts.shared_dir(tmp_path_factory, "checkpoint",
                                       shared_artifacts.build_checkpoint)


@pytest.fixture(scope="session")
def shared_checkpoint_no_attention(tmp_path_factory):
    """As :func:`shared_checkpoint`, without contextual attention (read only)."""
    return shared_artifacts.shared_dir(
        tmp_path_factory, "checkpoint-no-attention",
        lambda directory: shared_artifacts.build_checkpoint(directory, use_attention=False))


@pytest.fixture(scope="session")
def shared_export(tmp_path_factory, shared_checkpoint):
    """Export base (``.../gi_tf``) holding version 1 of :func:`shared_checkpoint` (read only).

    Exported with ``attention_chunk_elements=shared_artifacts.EXPORT_CHUNK_ELEMENTS`` and
    the default pixel and request limits. Copy it before damaging or adding versions.
    """
    directory = shared_artifacts.shared_dir(tmp_path_factory, "export",
                                            shared_artifacts.build_export(shared_checkpoint))
    return os.path.join(directory, "gi_tf")


@pytest.fixture(scope="session")
def shared_served(shared_export):
    """``Inpainter.load(shared_export)``, loaded once per worker process (read only).

    Its signatures stay instantiated from one test to the next, so a file that only calls
    the export does not load and re-optimise it again. Never change its attributes; a test
    that needs its own loaded object (a load, a first request) calls ``Inpainter.load``.
    """
    from gi_tf.inference.inpainter import Inpainter  # lazy: conftest imports no gi_tf module

    return Inpainter.load(shared_export)


@pytest.fixture(scope="session")
def shared_smoke_run(tmp_path_factory):
    """``(model_dir, log lines)`` of the smoke preset (flags/train/smoke.flags) run by
    ``gi-train``'s ``main`` in-process, once per run for every worker (read only).

    4 steps at 32x32; ``model_dir`` keeps ``ckpt-2`` and ``ckpt-4`` (keep_checkpoints=2).
    Copy it before resuming or changing it.
    """
    directory = shared_artifacts.shared_dir(tmp_path_factory, "smoke-run",
                                            shared_artifacts.build_smoke_run)
    return shared_artifacts.smoke_run(directory)
