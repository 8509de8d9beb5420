"""Fixtures shared by the CLI tests."""

import pytest

from gi_tf.models import build_generator
from gi_tf.models.checkpoints import save_generator
from gi_tf.models.config import ModelConfig


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory):
    """A generator-only checkpoint (random weights, attention on) in a fresh directory.

    A test module may define its own ``checkpoint_dir`` (e.g. without attention).
    """
    directory = str(tmp_path_factory.mktemp("run"))
    save_generator(build_generator(), directory, ModelConfig())
    return directory
