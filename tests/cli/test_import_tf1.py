"""gi-import-tf1 end to end: a released-style TF1 download -> a gi_tf checkpoint.

The fake download is what Google Drive gives: the index renamed ``checkpoint.txt``,
naming an absolute path on the authors' machine, next to ``snap-0.*`` written by a TF1
``Saver`` with random BGR weights, critic variables and Adam slots.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from absl import app
from absl import flags

from gi_tf.cli import import_tf1
from gi_tf.inference.inpainter import Inpainter
from gi_tf.models.checkpoints import load_generator
from gi_tf.tf1 import names

from references import tf1_reference as ref

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOREIGN_PATH = "/home/someone/model_logs/release_places2_256/snap-0"


@pytest.fixture(scope="module")
def tf1_arrays():
    return ref.random_weights(seed=5)


@pytest.fixture(scope="module")
def download(tmp_path_factory, tf1_arrays):
    directory = tmp_path_factory.mktemp("release_places2_256")
    arrays = dict(tf1_arrays)
    arrays.update(ref.training_extras(["inpaint_net/conv1/kernel"]))
    ref.save_tf1_checkpoint(directory, arrays)
    os.remove(directory / "checkpoint")
    (directory / "checkpoint.txt").write_text(
        f'model_checkpoint_path: "{FOREIGN_PATH}"\n'
        f'all_model_checkpoint_paths: "{FOREIGN_PATH}"\n')
    return str(directory)


def _run_main(*args):
    flag_values = flags.FlagValues()
    import_tf1.define_flags(flag_values)
    flag_values(["gi-import-tf1", *args])
    import_tf1.main(["gi-import-tf1"], flag_values)


def test_import_writes_a_checkpoint_that_inpainter_loads(download, tf1_arrays, tmp_path, capsys):
    output = str(tmp_path / "places2_256")
    _run_main(f"--checkpoint={download}", f"--output={output}", "--self_check_size=64")
    printed = capsys.readouterr().out
    assert "Imported 84 generator variables (3,601,542 parameters)" in printed
    assert "Ignored critic variables: 22" in printed  # 20 + 2 Adam slots
    assert "Ignored other variables (optimizer state, counters): 5" in printed
    assert "  inpaint_net/conv1/kernel/Adam_1" in printed
    assert "Self-check on (2, 64, 64, 3)" in printed and "max |diff|" in printed
    assert "CC BY-NC 4.0" in printed
    assert os.path.isfile(os.path.join(output, "model_config.json"))
    with open(os.path.join(output, "tf1_import.json")) as f:
        record = json.load(f)
    assert record["parameters"] == 3_601_542 and record["ignored_critic_variables"] == 22
    assert record["self_check"]["refined_max_abs_diff"] < 1e-4
    assert record["source_prefix"] == os.path.join(download, "snap-0")

    generator, _, _ = load_generator(output)
    converted = names.swap_bgr_rgb(tf1_arrays)
    for name, variable in names.tf1_name_table(generator).items():
        np.testing.assert_array_equal(variable.numpy(), converted[name], name)

    # Inpainter on RGB == the original test.py on BGR, within one level.
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    mask = np.zeros((64, 96), np.uint8)
    mask[20:50, 30:70] = 255
    expected = ref.server_pipeline(image[..., ::-1], np.stack([mask] * 3, -1), tf1_arrays)
    result = Inpainter.from_checkpoint(output).inpaint(image, mask, policy="crop")
    assert np.abs(result.astype(int) - expected[..., ::-1].astype(int)).max() <= 1


def test_bad_variables_fail_loudly_and_write_nothing(tf1_arrays, tmp_path):
    arrays = dict(tf1_arrays)
    arrays["inpaint_net/allconv17/bias"] = np.zeros(4, np.float32)
    ref.save_tf1_checkpoint(tmp_path / "bad", arrays)
    output = tmp_path / "out"
    with pytest.raises(SystemExit, match=r"inpaint_net/allconv17/bias: checkpoint \[4\]"):
        _run_main(f"--checkpoint={tmp_path / 'bad'}", f"--output={output}")
    assert not output.exists()


def test_failed_self_check_writes_nothing(download, tmp_path, capsys):
    output = tmp_path / "out"
    with pytest.raises(SystemExit, match="Self-check failed"):
        _run_main(f"--checkpoint={download}", f"--output={output}",
                  "--self_check_size=32", "--self_check_tolerance=0")
    assert "max |diff|" in capsys.readouterr().out
    assert not output.exists()


def test_missing_checkpoint_and_unusable_output_are_named(download, tmp_path):
    with pytest.raises(SystemExit, match="release_celeba_256"):
        _run_main(f"--checkpoint={tmp_path / 'release_celeba_256'}", f"--output={tmp_path}")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(app.UsageError, match="is not empty; pass --overwrite"):
        _run_main(f"--checkpoint={download}", f"--output={tmp_path / 'busy'}")
    with pytest.raises(app.UsageError, match="checkpoint's own directory"):
        _run_main(f"--checkpoint={download}", f"--output={download}", "--overwrite")


@pytest.mark.e2e
def test_runs_as_a_module():
    completed = subprocess.run(
        [sys.executable, "-m", "gi_tf.cli.import_tf1", "--help"], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=120, check=False)
    # absl prints the short help and exits with status 1 after --help.
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "gi-import-tf1: convert the authors' released TF1" in completed.stdout
    assert "--checkpoint" in completed.stdout and "--self_check_tolerance" in completed.stdout
