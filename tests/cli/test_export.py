"""gi-export end to end: flags -> <export_dir>/<version>/ SavedModel; failures write nothing.

One real export (a small no-attention generator keeps it quick; the signatures and
parity of the full model are tested in tests/test_export.py); the error paths fail
before anything is built.
"""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf
from absl import flags

from gi_tf.cli import export as export_cli
from gi_tf.inference import inpainter

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def checkpoint_dir(shared_checkpoint_no_attention):
    """A checkpoint without attention: the session's shared one (read only)."""
    return shared_checkpoint_no_attention


def _run_main(*args):
    flag_values = flags.FlagValues()
    export_cli.define_flags(flag_values)
    flag_values(["gi-export", *args])
    return export_cli.main(["gi-export"], flag_values)


def test_export_goes_to_the_next_free_version(checkpoint_dir, tmp_path, capsys):
    base = tmp_path / "models" / "gi_tf"
    (base / "3").mkdir(parents=True)  # an existing version (its content does not matter)
    _run_main(f"--checkpoint={checkpoint_dir}", f"--export_dir={base}")
    printed = capsys.readouterr().out
    version = base / "4"
    assert f"Wrote SavedModel {version}" in printed
    assert sorted(os.listdir(base)) == ["3", "4"]
    assert (version / "saved_model.pb").is_file()
    info = json.loads((version / "assets.extra" / "export_info.json").read_text())
    assert info["model_config"] == {"use_attention": False,
                                    "attention_implementation": "batched"}
    assert info["source_checkpoint"] == tf.train.latest_checkpoint(checkpoint_dir)
    assert info["attention_chunk_elements"] == inpainter.DEFAULT_ATTENTION_CHUNK_ELEMENTS


def test_existing_version_is_refused_and_left_alone(checkpoint_dir, tmp_path):
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="already exists"):
        _run_main(f"--checkpoint={checkpoint_dir}", f"--export_dir={tmp_path}", "--version=2")
    assert os.listdir(tmp_path) == ["2"] and os.listdir(tmp_path / "2") == ["keep.txt"]


def test_missing_checkpoint_writes_nothing(tmp_path):
    base = tmp_path / "models"
    with pytest.raises(SystemExit, match="gi-export: error: .*nope"):
        _run_main(f"--checkpoint={tmp_path / 'nope'}", f"--export_dir={base}")
    assert not base.exists()


def test_flags_are_checked():
    with pytest.raises(flags.IllegalFlagValueError):
        _run_main("--checkpoint=x", "--export_dir=y", "--version=0")
    flag_values = flags.FlagValues()
    export_cli.define_flags(flag_values)
    with pytest.raises(flags.IllegalFlagValueError, match="export_dir"):
        flag_values(["gi-export", "--checkpoint=x"])


def test_default_chunk_bound_is_the_librarys():
    flag_values = flags.FlagValues()
    export_cli.define_flags(flag_values)
    assert flag_values["attention_chunk_elements"].default == \
        inpainter.DEFAULT_ATTENTION_CHUNK_ELEMENTS


@pytest.mark.e2e
def test_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "gi_tf.cli.export", "--helpshort"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]  # absl exits 1 after help
    assert "--export_dir" in done.stdout and "--version" in done.stdout
