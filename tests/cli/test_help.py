"""``--help`` of every installed console script lists that program's own flags, exit 0.

The scripts are the ``console_scripts`` of setup.cfg, run from the virtual environment's
``bin`` folder (next to ``sys.executable``; ``pip install -e .`` puts them there), all at
once in parallel subprocesses. The expected flags are what the program's
``define_flags`` defines on a fresh ``FlagValues``: ``--help`` must list exactly those
(not absl's or TensorFlow's), each with its help text.
"""

import configparser
import importlib
import os
import re
import subprocess
import sys

import pytest
from absl import flags

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.dirname(sys.executable)
TIMEOUT_S = 120
# A flag line of absl's help: "  --name: help", "  --[no]name: help", "  -s,--name: help".
FLAG_LINE = re.compile(r"^  (?:-\S+,)?--(?:\[no\])?([A-Za-z0-9_]+):(.*)$")


def console_scripts():
    """``{script name: (module, function)}`` from setup.cfg's entry points."""
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO_ROOT, "setup.cfg"))
    scripts = {}
    for line in config["options.entry_points"]["console_scripts"].strip().splitlines():
        name, _, target = (part.strip() for part in line.partition("="))
        module, _, function = target.partition(":")
        scripts[name] = (module, function)
    return scripts


SCRIPTS = console_scripts()


def program_flags(module_name):
    """``{flag name: help text}`` the module's ``define_flags`` defines on a fresh FlagValues."""
    flag_values = flags.FlagValues()
    importlib.import_module(module_name).define_flags(flag_values)
    return {flag_values[name].name: flag_values[name].help for name in flag_values}


def listed_flags(output):
    """``{flag name: first line of help}`` of the flags a ``--help`` output lists."""
    listed = {}
    for line in output.splitlines():
        match = FLAG_LINE.match(line)
        if match:
            listed[match.group(1)] = match.group(2).strip()
    return listed


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)  # the installed package, as a user runs it
    return env


@pytest.fixture(scope="module")
def help_outputs(tmp_path_factory):
    """``{key: (exit status, stdout, stderr)}``: every script with --help, run in parallel.

    Keys are the script names, plus ``"python -m <module>"`` for one module.
    """
    cwd = str(tmp_path_factory.mktemp("help"))
    commands = {}
    for name in SCRIPTS:
        path = os.path.join(BIN_DIR, name)
        if not os.path.isfile(path):
            pytest.fail(f"console script {name} is not installed in {BIN_DIR} "
                        "(pip install -e . installs the entry points of setup.cfg)")
        commands[name] = [path, "--help"]
    commands["python -m gi_tf.cli.make_tfrecords"] = [
        sys.executable, "-m", "gi_tf.cli.make_tfrecords", "--help"]
    processes = {key: subprocess.Popen(command, cwd=cwd, env=_env(), text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for key, command in commands.items()}
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
    return results


def _check_help(result, module_name):
    status, stdout, stderr = result
    assert status == 0, f"exit status {status}\nstdout:\n{stdout}\nstderr:\n{stderr[-3000:]}"
    expected = program_flags(module_name)
    listed = listed_flags(stdout)
    assert set(listed) == set(expected), (
        f"missing: {sorted(set(expected) - set(listed))}, not the program's: "
        f"{sorted(set(listed) - set(expected))}\n{stdout}")
    for name, help_text in expected.items():
        first_words = " ".join(help_text.split()[:3])
        assert first_words in " ".join(listed[name].split()), (
            f"--{name}: listed as {listed[name]!r}, its help is {help_text!r}")
    doc = importlib.import_module(module_name).__doc__
    assert doc.strip().splitlines()[0] in stdout  # the usage text is the module's docstring


@pytest.mark.e2e
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_console_script_help_lists_its_flags(help_outputs, script):
    module_name, function = SCRIPTS[script]
    assert function == "run"
    _check_help(help_outputs[script], module_name)


@pytest.mark.e2e
def test_python_dash_m_help_lists_its_flags(help_outputs):
    _check_help(help_outputs["python -m gi_tf.cli.make_tfrecords"], "gi_tf.cli.make_tfrecords")


def test_every_cli_module_has_a_console_script():
    folder = os.path.join(REPO_ROOT, "gi_tf", "cli")
    binaries = set()
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                if "\ndef run():" in f.read():
                    binaries.add(f"gi_tf.cli.{name[:-3]}")
    assert binaries == {module for module, _ in SCRIPTS.values()}
