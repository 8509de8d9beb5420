"""Shared pytest setup for gi_tf.

* quiet TensorFlow and pick the TensorFlow Keras backend before anything imports them;
* split the host CPU into two logical devices (CPU:0, CPU:1) before TensorFlow
  initialises, so distribution tests can use ``tf.distribute.MirroredStrategy`` on CPU;
* put the repository root and ``tests/`` on ``sys.path`` so tests can import ``gi_tf``,
  ``layer_checks`` and ``references.np_contextual_attention`` under any ``--import-mode``;
* seed NumPy, Python and Keras before every test.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
for _path in (REPO_ROOT, TESTS_DIR):  # the checkout's gi_tf, even when run as plain `pytest`
    if _path not in sys.path:
        sys.path.insert(0, _path)

import keras  # noqa: E402
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


_split_cpu(NUM_LOGICAL_CPUS)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seeds ``random``, NumPy and Keras (and TF's global generator) with 0 per test."""
    keras.utils.set_random_seed(0)
    yield
