"""Tests for gi_tf.cli.app (gi-app's flags) and for keeping Gradio out of the core package."""

import subprocess
import sys

import pytest
from absl import flags

from gi_tf.cli import app as app_cli


def _parse(*args):
    values = flags.FlagValues()
    app_cli.define_flags(values)
    values(["gi-app", *args])
    return values


def test_defaults_serve_on_loopback_with_bounded_size():
    values = _parse()
    assert (values.host, values.port, values.model) == ("127.0.0.1", 7860, None)
    config = app_cli.app_config(values)
    # Big photos: full resolution when the model's plan fits the budget, else 1024 px.
    assert (config.max_side, config.crop_to_hole, config.max_request_gb) == ("auto", 0, 4.0)
    assert app_cli.app_config(_parse("--max_side=1024")).max_side == 1024


def test_flags_become_the_app_config():
    values = _parse("--max_side=0", "--crop_to_hole=64", "--max_pixels=1000", "--port=8001")
    config = app_cli.app_config(values)
    assert (config.max_side, config.crop_to_hole, config.max_pixels) == (None, 64, 1000)
    assert values.port == 8001


@pytest.mark.parametrize("arg", ["--max_side=4", "--port=0", "--crop_to_hole=-1"])
def test_bad_flags_are_refused(arg):
    with pytest.raises(flags.IllegalFlagValueError):
        _parse(arg)


@pytest.mark.e2e
def test_core_and_app_modules_import_without_gradio():
    code = ("import sys; import gi_tf, gi_tf.app.page, gi_tf.app.logic, gi_tf.app.served_model, "
            "gi_tf.app.examples, gi_tf.cli.app; "
            "assert 'gradio' not in sys.modules, 'gradio imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=app_cli.__file__.rsplit(
        "/gi_tf/", 1)[0])


@pytest.mark.e2e
def test_model_path_without_a_model_is_a_usage_error(tmp_path):
    missing = tmp_path / "no_model_here"
    missing.mkdir()
    process = subprocess.run(
        [sys.executable, "-m", "gi_tf.cli.app", f"--model={missing}", "--port=1"],
        capture_output=True, text=True, timeout=120,
        cwd=app_cli.__file__.rsplit("/gi_tf/", 1)[0])
    assert process.returncode != 0
    assert "is neither a SavedModel" in process.stderr + process.stdout
