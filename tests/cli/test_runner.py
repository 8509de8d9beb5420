"""gi_tf/cli/runner.py and console.py: one-line usage errors, ``~`` in flag values, one-line
warnings, TensorFlow's INFO chatter kept out of a command's output.

The commands run as ``python -m gi_tf.cli.<module>`` in parallel subprocesses with the
checkout first on the path (a usage error must come before any model or data is loaded,
so each takes only the imports).
"""

import os
import subprocess
import sys
import warnings

import pytest
from absl import flags

from gi_tf.cli import console
from gi_tf.cli import runner

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT_S = 180
# Lines TensorFlow's GPU-enabled wheel writes on a machine without a driver whatever the
# settings (gi_tf/cli/console.py says why); everything else on stderr is the tool's.
TF_PROBE_LINES = ("All log messages before absl::InitializeLog()", "cudart_stub.cc",
                  "failed call to cuInit")


def own_lines(stderr):
    return [line for line in stderr.splitlines()
            if line.strip() and not any(probe in line for probe in TF_PROBE_LINES)]


def _env(home):
    env = dict(os.environ, HOME=str(home))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the console's own default applies
    env["PYTHONPATH"] = os.pathsep.join([REPO_ROOT] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


@pytest.fixture(scope="module")
def usage_runs(tmp_path_factory):
    """``{key: (status, stdout, stderr)}`` of wrong command lines, run in parallel."""
    home = tmp_path_factory.mktemp("home")
    cwd = tmp_path_factory.mktemp("cwd")
    commands = {
        "bad value": ["gi_tf.cli.train", "--preset=smoke", "--image_size=30",
                      "--model_dir=run"],
        "unknown flag": ["gi_tf.cli.export", "--checkpoint=x", "--export_dir=y", "--bogus"],
        "not a number": ["gi_tf.cli.train", "--preset=smoke", "--batch_size=two",
                         "--model_dir=run"],
        "two hole sources": ["gi_tf.cli.inpaint", "--model=m", "--image=a.png",
                             "--mask=b.png", "--box=1,1,2,2", "--output=o.png"],
        "missing required": ["gi_tf.cli.train", "--preset=smoke"],
        "tilde": ["gi_tf.cli.train", "--preset=smoke", "--data=~/no_photos_here",
                  "--model_dir=run"],
    }
    processes = {key: subprocess.Popen([sys.executable, "-m"] + argv, cwd=cwd,
                                       env=_env(home), text=True, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
                 for key, argv in commands.items()}
    results = {}
    try:
        for key, process in processes.items():
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
            results[key] = (process.returncode, stdout, stderr)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results, str(home)


@pytest.mark.e2e
@pytest.mark.parametrize("key,program,reason", [
    ("bad value", "gi_tf.cli.train", "image_size=30: must be a multiple of 8"),
    ("unknown flag", "gi_tf.cli.export", "Unknown command line flag 'bogus'"),
    ("not a number", "gi_tf.cli.train", "flag --batch_size=two: invalid literal"),
    ("two hole sources", "gi_tf.cli.inpaint", "give the holes one way"),
    ("missing required", "gi_tf.cli.train", "--model_dir"),
])
def test_a_usage_error_is_one_line_with_the_reason(usage_runs, key, program, reason):
    status, stdout, stderr = usage_runs[0][key]
    lines = own_lines(stderr)
    assert status == 1, stderr
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{stderr[-3000:]}"
    line = lines[0]
    assert line.startswith(f"python -m {program}: error: ") and reason in line, line
    assert line.endswith("(see --help)") and not stdout.strip()


@pytest.mark.e2e
def test_tilde_in_a_path_flag_is_the_home_folder_and_the_error_is_said_once(usage_runs):
    (status, stdout, stderr), home = usage_runs[0]["tilde"], usage_runs[1]
    lines = own_lines(stderr)
    expanded = os.path.join(home, "no_photos_here")
    errors = [line for line in lines if "image source not found" in line]
    assert status != 0 and len(errors) == 1, stderr[-3000:]
    assert expanded in errors[0] and "~" not in errors[0]
    for source in ("builtin:textures", "builtin:wallpapers", ".flist", "TFRecord"):
        assert source in errors[0]


def test_expand_user_expands_strings_and_list_items_only_at_the_start(monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    flag_values = flags.FlagValues()
    flags.DEFINE_string("data", None, "", flag_values=flag_values)
    flags.DEFINE_string("colour", None, "", flag_values=flag_values)
    flags.DEFINE_list("models", None, "", flag_values=flag_values)
    flags.DEFINE_multi_string("image", [], "", flag_values=flag_values)
    flags.DEFINE_integer("size", 3, "", flag_values=flag_values)
    flag_values(["prog", "--data=~/photos", "--colour=a~b", "--models=~/a,b,~",
                 "--image=~/x.png", "--image=y.png"])
    runner.expand_user(["data", "colour", "models", "image", "size"], flag_values)
    assert flag_values.data == "/home/someone/photos" and flag_values.colour == "a~b"
    assert flag_values.models == ["/home/someone/a", "b", "/home/someone"]
    assert flag_values.image == ["/home/someone/x.png", "y.png"] and flag_values.size == 3


def test_a_warning_is_one_line_in_the_tools_words(monkeypatch, capsys):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    for name in console.PYTHON_LOGGERS:
        logger = __import__("logging").getLogger(name)
        monkeypatch.setattr(logger, "level", logger.level)
    environ = {}
    console.setup("gi-test", environ=environ)
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": console.TF_CPP_MIN_LOG_LEVEL}
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("skipping checkpoint run/ckpt-9 (its .index is missing);\n"
                      "using run/ckpt-8")
    err = capsys.readouterr().err
    assert err == ("gi-test: warning: skipping checkpoint run/ckpt-9 (its .index is "
                   "missing); using run/ckpt-8\n")
    user_set = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    console.setup("gi-test", environ=user_set)
    assert user_set == {"TF_CPP_MIN_LOG_LEVEL": "0"}  # the user's choice wins


def test_usage_error_prints_one_line_and_exits_1(capsys):
    with pytest.raises(SystemExit) as exit_info:
        console.usage_error("--box: 4 numbers\nexpected", program="gi-x")
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "gi-x: error: --box: 4 numbers expected (see --help)\n"
