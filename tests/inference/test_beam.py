"""gi_tf.inference.beam on the DirectRunner: pairing, failures, manifest, same pixels.

The shared export (random weights, seeded) and one run over a dataset with mixed sizes,
nested folders, masks by stem, a corrupt file, a size mismatch and a full mask; outputs are
compared with ``Inpainter.load(export).inpaint`` on the same files (the independent
reference: gi-inpaint's path, image by image). Then ``skip_existing`` after deleting two
outputs.
"""

import json
import os

import numpy as np
import pytest

beam = pytest.importorskip("apache_beam", reason="gi_tf.inference.beam needs Apache Beam "
                           "(pip install 'gi_tf[beam]')")

from gi_tf.inference import beam as gi_beam  # noqa: E402
from gi_tf.utils import image_io  # noqa: E402

# relative stem -> (height, width); mixed sizes, nested folders
GOOD = {"a": (32, 48), "b": (40, 40), "sub/c": (32, 48), "sub/deep/d": (24, 56),
        "e": (40, 40)}


@pytest.fixture(scope="module")
def export_dir(shared_export):
    """The session's shared export (version 1; read only): every check compares with
    ``Inpainter.load`` of the same directory, so any seeded weights do."""
    return os.path.join(shared_export, "1")


def _write(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image_io.write_image_atomic(path, array)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for stem, (h, w) in GOOD.items():
        _write(str(root / "in" / (stem + ".png")), rng.integers(0, 256, (h, w, 3), np.uint8))
        mask = np.zeros((h, w), np.uint8)
        top, left = rng.integers(0, h // 2), rng.integers(0, w // 2)
        mask[top:top + h // 3, left:left + w // 3] = 255
        _write(str(root / "masks" / (stem + ".png")), mask)
    # a corrupt file, a size mismatch, a full mask, an image without a mask
    (root / "in" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    _write(str(root / "in" / "mismatch.png"), np.zeros((32, 32, 3), np.uint8))
    _write(str(root / "masks" / "mismatch.png"), np.full((16, 32), 255, np.uint8))
    _write(str(root / "in" / "sub" / "full.png"), np.zeros((24, 24, 3), np.uint8))
    _write(str(root / "masks" / "sub" / "full.png"), np.full((24, 24), 255, np.uint8))
    _write(str(root / "in" / "lonely.png"), np.zeros((24, 24, 3), np.uint8))
    (root / "masks" / "corrupt.png").write_bytes((root / "masks" / "a.png").read_bytes())
    (root / "in" / "notes.txt").write_text("not an image")
    return root


FAILED = {"corrupt": "cannot decode", "mismatch": "but mask", "sub/full": "whole image",
          "lonely": "no mask matched"}


def _config(export_dir, root, out, **kwargs):
    return gi_beam.BeamConfig(model=export_dir, images=str(root / "in" / "**"),
                              masks=str(root / "masks" / "**"), output_dir=str(out),
                              max_batch_size=4, **kwargs)


@pytest.fixture(scope="module")
def first_run(export_dir, dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    config = _config(export_dir, dataset, out)
    return config, gi_beam.run(config, ["--direct_num_workers=1"])


def _by_stem(records, root):
    base = str(root / "in") + "/"
    return {os.path.splitext(r["input"][len(base):])[0]: r for r in records}


def test_every_input_once_with_its_status(first_run, dataset):
    config, records = first_run
    inputs = [r["input"] for r in records]
    assert len(inputs) == len(set(inputs)) == len(GOOD) + len(FAILED)  # notes.txt ignored
    by_stem = _by_stem(records, dataset)
    for stem in GOOD:
        assert by_stem[stem]["status"] == "written", by_stem[stem]
        assert by_stem[stem]["output"] == str(config.output_dir) + f"/{stem}.png"
        assert by_stem[stem]["path"] in ("windowed", "whole")
        assert 0 < by_stem[stem]["hole_fraction"] < 1
        assert (by_stem[stem]["height"], by_stem[stem]["width"]) == GOOD[stem]
    for stem, reason in FAILED.items():
        assert by_stem[stem]["status"].startswith("failed: "), by_stem[stem]
        assert reason in by_stem[stem]["status"], by_stem[stem]
        assert not os.path.exists(by_stem[stem]["output"])
    on_disk = gi_beam.read_manifest(config.manifest_path)
    assert on_disk == records
    assert [json.loads(line)["input"] for line in
            open(config.manifest_path, encoding="utf-8")] == sorted(inputs)


def test_outputs_equal_the_inpainter(first_run, dataset, shared_served):
    config, records = first_run
    inpainter = shared_served  # Inpainter.load of the same export, once per worker
    for stem in GOOD:
        image = image_io.read_image(str(dataset / "in" / (stem + ".png")))
        holes = image_io.read_mask(str(dataset / "masks" / (stem + ".png")))
        expected = inpainter.inpaint(image, holes)
        got = image_io.read_image(os.path.join(config.output_dir, stem + ".png"))
        np.testing.assert_array_equal(got, expected, err_msg=stem)
        np.testing.assert_array_equal(got[~holes], image[~holes])


def test_skip_existing_rewrites_only_what_is_missing(first_run, dataset, export_dir):
    config, _ = first_run
    removed = ["b", "sub/deep/d"]
    mtimes = {}
    for stem in GOOD:
        path = os.path.join(config.output_dir, stem + ".png")
        if stem in removed:
            os.remove(path)
        else:
            os.utime(path, (1, 1))
            mtimes[stem] = os.stat(path).st_mtime
    again = gi_beam.run(_config(export_dir, dataset, config.output_dir, skip_existing=True))
    by_stem = _by_stem(again, dataset)
    assert len(again) == len(GOOD) + len(FAILED)
    for stem in GOOD:
        path = os.path.join(config.output_dir, stem + ".png")
        assert os.path.isfile(path)
        if stem in removed:
            assert by_stem[stem]["status"] == "written"
        else:
            assert by_stem[stem]["status"] == "skipped"
            assert os.stat(path).st_mtime == mtimes[stem]


def test_one_box_for_every_image(export_dir, dataset, tmp_path, shared_served):
    config = gi_beam.BeamConfig(model=export_dir, images=str(dataset / "in" / "sub" / "*.png"),
                                box=("4,4,8,8",), output_dir=str(tmp_path), panel=True)
    records = gi_beam.run(config)
    # '*' does not cross folders: sub/deep/d is not matched
    assert [(os.path.basename(r["output"]), r["status"]) for r in records] == [
        ("c.png", "written"), ("full.png", "written")]
    inpainter = shared_served  # Inpainter.load of the same export, once per worker
    for name in ("c.png", "full.png"):
        image = image_io.read_image(str(dataset / "in" / "sub" / name))
        holes = np.zeros(image.shape[:2], bool)
        holes[4:12, 4:12] = True
        np.testing.assert_array_equal(image_io.read_image(str(tmp_path / name)),
                                      inpainter.inpaint(image, holes))
        assert os.path.isfile(tmp_path / name.replace(".png", "_panel.png"))


def test_glob_base_and_keys():
    assert gi_beam.glob_base("gs://b/in/**/*.jpg") == "gs://b/in/"
    assert gi_beam.glob_base("/data/x*/y.png") == "/data/"
    assert gi_beam.glob_base("/data/m.png") == "/data/"
    assert gi_beam.relative_key("/data/a/b/x.JPG", "/data/") == ("a/b/x", ".jpg")
    assert gi_beam.output_path("gs://o", "a/b/x") == "gs://o/a/b/x.png"


def test_config_needs_one_way_of_holes(export_dir):
    with pytest.raises(ValueError, match="one way"):
        gi_beam.BeamConfig(model=export_dir, images="x/*", output_dir="o")
    with pytest.raises(ValueError):
        gi_beam.BeamConfig(model=export_dir, images="x/*", output_dir="o", box=("1,2",))


@pytest.mark.e2e
def test_two_multi_processing_workers_write_every_input_once(tmp_path, shared_export,
                                                             shared_served):
    """DirectRunner with 2 worker processes (each loads the export, pickled handler): the
    manifest holds every input exactly once, no temporary file is left, and every output
    equals ``Inpainter.load(export).inpaint`` of its input."""
    rng = np.random.default_rng(7)
    sizes = [(32, 48), (40, 40), (24, 56), (40, 40), (32, 32), (48, 24)]
    for i, (h, w) in enumerate(sizes):
        _write(str(tmp_path / "in" / f"im{i}.png"), rng.integers(0, 256, (h, w, 3), np.uint8))
    config = gi_beam.BeamConfig(model=shared_export, images=str(tmp_path / "in" / "*.png"),
                                output_dir=str(tmp_path / "out"), box=("4,6,12,14",),
                                max_batch_size=2)
    records = gi_beam.run(config, ["--direct_num_workers=2",
                                   "--direct_running_mode=multi_processing"])
    inputs = sorted(str(tmp_path / "in" / f"im{i}.png") for i in range(len(sizes)))
    assert [r["input"] for r in records] == inputs  # every input, once, sorted
    assert {r["status"] for r in records} == {gi_beam.WRITTEN}
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        [f"im{i}.png" for i in range(len(sizes))] + [gi_beam.MANIFEST_FILE])
    inpainter = shared_served
    for r in records:
        image = image_io.read_image(r["input"])
        holes = np.zeros(image.shape[:2], bool)
        holes[4:16, 6:20] = True
        expected = inpainter.inpaint(image[None], holes[None])[0]
        np.testing.assert_array_equal(image_io.read_image(r["output"]), expected)
