"""End to end on TF's in-memory ``ram://`` filesystem (a stand-in for gs:// and other
non-local filesystems): checkpoint, gi-export, Inpainter.load / from_checkpoint,
gi-inpaint with ram:// inputs and outputs, the evaluation report. Nothing may appear on
the local disk (the bug this guards against: ``ram://x`` became a local folder ``ram:``).
"""

import os
import uuid

import cv2
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.cli import export as export_cli
from gi_tf.cli import inpaint as inpaint_cli
from gi_tf.evaluation import evaluate as ev
from gi_tf.evaluation import report
from gi_tf.inference import export
from gi_tf.inference.inpainter import Inpainter
from gi_tf.models import build_generator
from gi_tf.models.checkpoints import save_generator
from gi_tf.models.config import ModelConfig
from gi_tf.utils import files
from gi_tf.utils import image_io

HEIGHT, WIDTH = 24, 40


@pytest.fixture(scope="module")
def ram_root():
    root = f"ram://e2e-{uuid.uuid4().hex[:8]}"
    yield root
    files.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def _nothing_local(tmp_path_factory):
    """Run the module from an empty working directory and check it stays empty."""
    workdir = tmp_path_factory.mktemp("cwd")
    before = os.getcwd()
    os.chdir(workdir)
    yield
    os.chdir(before)
    assert os.listdir(workdir) == [], "a ram:// path was written to the local disk"


@pytest.fixture(scope="module")
def checkpoint_dir(ram_root):
    tf.keras.utils.set_random_seed(3)
    directory = f"{ram_root}/run"
    # Without contextual attention: the filesystem is under test, and this export and its
    # loads cost half as much (attention's export is tests/inference/test_export.py's).
    prefix = save_generator(build_generator(use_attention=False), directory,
                            ModelConfig(use_attention=False))
    assert prefix.startswith(directory + "/")
    return directory


@pytest.fixture(scope="module")
def export_base(ram_root, checkpoint_dir):
    base = f"{ram_root}/models/gi_tf"
    version_dir = export_cli.export(checkpoint_dir, base)
    assert version_dir == f"{base}/1"
    return base


def _photo(seed):
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def _holes():
    holes = np.zeros((HEIGHT, WIDTH), bool)
    holes[6:18, 10:30] = True
    return holes


def test_export_layout_on_ram(export_base, checkpoint_dir):
    assert files.listdir(export_base) == ["1"]  # staging directory gone
    version = f"{export_base}/1"
    assert files.listdir(version) == ["assets", "assets.extra", "fingerprint.pb",
                                      "saved_model.pb", "variables"]
    assert files.read_json(f"{version}/assets.extra/model_config.json") == \
        ModelConfig(use_attention=False).to_dict()
    info = files.read_json(f"{version}/assets.extra/export_info.json")
    assert info["version"] == 1 and info["source_checkpoint"].startswith("ram://")
    assert export.next_version(export_base) == 2
    with pytest.raises(FileExistsError, match="already exists"):
        export_cli.export(checkpoint_dir, export_base, version=1)


def test_saved_model_and_checkpoint_load_from_ram_and_agree(export_base, checkpoint_dir):
    served = Inpainter.load(export_base)
    assert served.source == f"{export_base}/1"
    direct = Inpainter.from_checkpoint(checkpoint_dir)
    image, holes = _photo(0), _holes()
    result, attention = served.inpaint(image, holes, return_attention=True)
    expected = direct.inpaint(image, holes)
    assert result.shape == image.shape and attention.shape == image.shape
    np.testing.assert_array_equal(result[~holes], image[~holes])
    assert np.abs(result.astype(int) - expected.astype(int)).max() <= 1


def test_gi_inpaint_reads_and_writes_ram(export_base, ram_root, capsys):
    from absl import flags

    inputs, masks, outputs = (f"{ram_root}/inpaint/{n}" for n in ("in", "masks", "out"))
    for i in range(2):
        image_io.write_image_atomic(f"{inputs}/p{i}.png", _photo(10 + i))
        image_io.write_image_atomic(f"{masks}/p{i}.png", _holes().astype(np.uint8) * 255)
    flag_values = flags.FlagValues()
    inpaint_cli.define_flags(flag_values)
    flag_values(["gi-inpaint", f"--model={export_base}", f"--image_dir={inputs}",
                 f"--mask_dir={masks}", f"--output_dir={outputs}", "--panel"])
    assert inpaint_cli.main(["gi-inpaint"], flag_values) == 0
    assert files.listdir(outputs) == ["p0.png", "p0_panel.png", "p1.png", "p1_panel.png"]
    result = image_io.read_image(f"{outputs}/p1.png")
    holes = _holes()
    np.testing.assert_array_equal(result[~holes], _photo(11)[~holes])
    capsys.readouterr()


def test_written_images_are_real_pngs(ram_root):
    path = f"{ram_root}/png/x.png"
    image_io.write_image_atomic(path, _photo(5))
    decoded = cv2.imdecode(np.frombuffer(files.read_bytes(path), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded[..., ::-1], _photo(5))


def test_evaluation_report_to_ram(ram_root):
    image, holes = _photo(7), _holes()

    def ours(im, h):
        return im.copy(), np.full(im.shape, 200, np.uint8)

    result = ev.evaluate({"ours": ours}, [ev.Sample("a", image, holes, "box")],
                         progress=False)
    directory = f"{ram_root}/eval"
    table = report.write_outputs(result, directory, header="# ram")
    assert files.listdir(directory) == ["examples.png", "metrics.csv", "metrics.md",
                                        "summary.csv"]
    assert files.read_text(f"{directory}/metrics.md").startswith("# ram\n\n")
    assert table in files.read_text(f"{directory}/metrics.md")
    assert files.read_text(f"{directory}/metrics.csv").startswith("image,")
    assert image_io.read_image(f"{directory}/examples.png").ndim == 3
