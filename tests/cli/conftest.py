"""Fixtures shared by the CLI tests."""

import pytest


@pytest.fixture(scope="module")
def checkpoint_dir(shared_checkpoint):
    """A generator-only checkpoint (seeded random weights, attention on): the session's
    shared one (tests/conftest.py; read only).

    A test module may define its own ``checkpoint_dir`` (e.g. without attention).
    """
    return shared_checkpoint
