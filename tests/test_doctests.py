"""The ``>>>`` examples in gi_tf's docstrings run, and show what they print.

One test per module that has examples (found by reading the source, so a new module with
examples is picked up; a module that loses all of them drops out). Each module's examples
run in a namespace of that module's globals, as ``python -m doctest`` would, with NumPy's
print options fixed (the examples show NumPy's default repr) and ``ELLIPSIS`` /
``NORMALIZE_WHITESPACE`` on. Run through ``doctest`` here rather than with
``--doctest-modules`` so they work under ``--import-mode=importlib`` and in the fast tier.
"""

import doctest
import importlib
import os

import numpy as np
import pytest

PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gi_tf")
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples():
    found = []
    for folder, dirs, names in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as handle:
                if ">>> " not in handle.read():
                    continue
            relative = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[: -len(".py")]
            module = relative.replace(os.sep, ".")
            found.append(module[: -len(".__init__")] if module.endswith(".__init__") else module)
    return found


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    assert len(MODULES) >= 29, MODULES
    assert "gi_tf.models.generator" in MODULES and "gi_tf.layers.contextual_attention" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name)
             if t.examples]
    assert tests, f"{name}: no examples found by doctest, though its source has '>>> '"
    runner, report = doctest.DocTestRunner(optionflags=OPTIONS), []
    with np.printoptions(**np.get_printoptions()):  # restored whatever an example sets
        for test in tests:
            runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
