"""What a new user sees first: every console script's error is its one line on stderr.

Each console script runs once, as installed (``gi-x`` beside this Python), in a
subprocess with the environment a user has (``TF_CPP_MIN_LOG_LEVEL`` not set), on a
wrong input that most of them only notice after TensorFlow is imported. stderr must be
exactly the tool's one error line: none of TensorFlow's start-up lines
(gi_tf/cli/console.py hides them) and no traceback. Two run at a time (a 2-core machine).
"""

import concurrent.futures
import os
import subprocess
import sys

import pytest

from gi_tf.cli import console

BIN_DIR = os.path.dirname(sys.executable)
TIMEOUT_S = 300
# console script -> a wrong command line (and the words its error must contain)
ERRORS = {
    "gi-train": (["--preset=smoke", "--data=no_photos", "--model_dir=run"],
                 "image source not found"),
    "gi-export": (["--checkpoint=no_run", "--export_dir=export"], "not found"),
    "gi-inpaint": (["--model=no_model", "--image=a.png", "--box=1,1,2,2", "--output=o.png"],
                   "neither a SavedModel"),
    "gi-import-tf1": (["--checkpoint=no_release", "--output=imported"], "not found"),
    "gi-eval": (["--model=no_model", "--images=no_photos", "--output_dir=ev"],
                "not a directory"),
    "gi-demo": (["--output_dir=/proc/gi_demo"], "/proc/gi_demo"),
    "gi-app": (["--model=no_model"], "neither a SavedModel"),
    "gi-make-tfrecords": (["--input=no_photos", "--output=shards/train", "--num_shards=1"],
                          "image source not found"),
    "gi-parity": (["--original=no_checkout", "--neuralgym=no_checkout"], "no such directory"),
    "gi-bench": (["--sections=bogus"], "bogus"),
}


def user_env(home):
    env = dict(os.environ, HOME=str(home))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # conftest's quiet default is not a user's
    return env


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory):
    """``{script: (status, stdout, stderr, files left in the working folder)}``."""
    home = tmp_path_factory.mktemp("home")

    def one(script):
        cwd = tmp_path_factory.mktemp(script)
        process = subprocess.run([os.path.join(BIN_DIR, script)] + ERRORS[script][0],
                                 cwd=cwd, env=user_env(home), text=True, timeout=TIMEOUT_S,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        return script, (process.returncode, process.stdout, process.stderr,
                        sorted(os.listdir(cwd)))

    missing = [s for s in ERRORS if not os.path.exists(os.path.join(BIN_DIR, s))]
    if missing:
        pytest.skip(f"console scripts not installed beside {sys.executable}: {missing}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, ERRORS))


# Ten console-script subprocesses (~45 s): the full tier's (setup.cfg: subprocess CLIs).
@pytest.mark.e2e
@pytest.mark.parametrize("script", sorted(ERRORS))
def test_the_error_of_every_console_script_is_its_one_line(error_runs, script):
    status, stdout, stderr, left = error_runs[script]
    assert status != 0, stderr[-3000:]
    lines = stderr.splitlines()
    assert len(lines) == 1, f"{script}: expected one stderr line, got:\n{stderr[-3000:]}"
    assert lines[0].startswith(f"{script}: error: "), lines[0]
    assert ERRORS[script][1] in lines[0], lines[0]
    assert left == [], f"{script} wrote {left}"
    del stdout  # gi-bench and gi-demo may have said what they start


def test_the_startup_filter_drops_only_tensorflows_startup_lines():
    startup = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to "
        "STDERR",
        "I0000 00:00:1796614542.088253    7225 port.cc:153] oneDNN custom operations are "
        "on. You may see slightly different numerical results ...",
        "I0000 00:00:1796614542.088715    7225 cudart_stub.cc:31] Could not find cuda "
        "drivers on your machine, GPU will not be used.",
        "I0000 00:00:1796614542.153146    7225 cpu_feature_guard.cc:227] This TensorFlow "
        "binary is optimized to use available CPU instructions in performance-critical "
        "operations.",
        "To enable the following instructions: AVX2 AVX512F FMA, in other operations, "
        "rebuild TensorFlow with the appropriate compiler flags.",
        "E0000 00:00:1796614548.155539    7225 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    ]
    kept = ["gi-x: error: something", "E0000 00:00:1.0  1 meta_optimizer.cc:967] remapper "
            "failed", "W0000 00:00:1.0  1 local_rendezvous.cc:405] Local rendezvous is "
            "aborting", "Traceback (most recent call last):"]
    line_filter = console.StartupFilter()
    assert [line for line in startup + kept if line_filter.keep(line)] == kept
    # without the "no cuda drivers" line first, a failed cuInit is a real error: shown
    assert console.StartupFilter().keep(startup[-1])


def test_the_import_hook_is_not_installed_when_the_user_asks_for_every_line(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert not console.quiet_tensorflow_startup({"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert console.quiet_tensorflow_startup({})
    assert any(isinstance(f, console.QuietTensorFlowImport) for f in sys.meta_path)
