"""Run Python in a subprocess where ``import tensorflow`` fails, as in a JAX-only venv.

A ``sitecustomize.py`` on the subprocess's ``PYTHONPATH`` puts a finder first on
``sys.meta_path`` that raises ``ModuleNotFoundError`` for ``tensorflow`` and every
``tensorflow.*`` module, so the rest of the venv (Keras, JAX, NumPy) stays importable and
a lazy ``import tensorflow`` anywhere fails exactly as where it is not installed.
"""

import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BLOCKER = '''\
import sys


class _NoTensorFlow:
    """Finder: TensorFlow is not installed here."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTensorFlow())
'''


def run(script, site_dir, env=None, timeout=600):
    """Run ``python -c script`` from the repository root with TensorFlow unimportable.

    Args:
        script: the Python source to run.
        site_dir: an empty directory for the ``sitecustomize.py`` (e.g. ``tmp_path``).
        env: extra environment variables (``KERAS_BACKEND``...).

    Returns:
        The ``subprocess.CompletedProcess`` (text output captured; not checked).
    """
    os.makedirs(site_dir, exist_ok=True)
    with open(os.path.join(site_dir, "sitecustomize.py"), "w", encoding="utf-8") as handle:
        handle.write(BLOCKER)
    environment = dict(os.environ, **(env or {}))
    environment["PYTHONPATH"] = os.pathsep.join([str(site_dir), REPO_ROOT])
    environment["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=environment,
                          capture_output=True, text=True, timeout=timeout, check=False)
