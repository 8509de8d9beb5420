"""gi-eval end to end on a tiny folder with a freshly initialised checkpoint."""

import csv
import os
import sys

import pytest
from absl import flags

from gi_tf.cli import evaluate
from gi_tf.data import builtin_images
from gi_tf.evaluation.baselines import baseline_methods
from gi_tf.utils.image_io import read_image
from gi_tf.utils.image_io import read_mask
from gi_tf.utils.image_io import write_image_atomic


def _run(argv):
    flag_values = flags.FlagValues()
    evaluate.define_flags(flag_values)
    argv = flag_values(["gi-eval"] + argv)
    return evaluate.main(argv, flag_values)


@pytest.fixture(scope="module")
def checkpoint(shared_checkpoint):
    """The session's shared generator checkpoint (tests/conftest.py; read only)."""
    return shared_checkpoint


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    for i in range(2):  # 44 x 40: not a multiple of 8, exercises the padding policy
        write_image_atomic(str(folder / f"t{i}.png"), builtin_images.texture(5, i, 48)[:44, :40])
    return str(folder)


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_model_and_baselines_on_generated_masks(checkpoint, images, tmp_path, capsys):
    out = tmp_path / "eval"
    _run([f"--model=fresh={checkpoint}", f"--images={images}", "--mask=box,free",
          "--mask_seed=3", f"--output_dir={out}", "--noprogress"])
    printed = capsys.readouterr().out
    rows = _rows(out / "metrics.csv")
    # PatchMatch runs wherever the [test] extra installs pypatchmatch (Python 3.11+).
    methods = ["ground truth", "fresh", *baseline_methods(log=None)]
    assert methods[2:] == ["OpenCV Telea", "OpenCV NS"] + (
        ["PatchMatch"] if sys.version_info >= (3, 11) else [])
    assert [r["method"] for r in rows] == methods * 4  # 2 images x 2 kinds
    assert [(r["image"], r["mask_kind"]) for r in rows[::len(methods)]] == [
        ("t0.png", "box"), ("t0.png", "free"), ("t1.png", "box"), ("t1.png", "free")]
    fresh = [r for r in rows if r["method"] == "fresh"]
    assert all(float(r["l1_hole"]) > 0 and float(r["l1"]) < float(r["l1_hole"]) for r in fresh)
    table = (out / "metrics.md").read_text()
    assert "| all | fresh | 4 |" in table and "| box | OpenCV NS | 2 |" in table
    assert "--mask_seed=3" in table and "| all | fresh | 4 |" in printed
    assert f"Wrote metrics.csv, summary.csv, metrics.md and examples.png to {out}" in printed
    grid = read_image(str(out / "examples.png"))
    # input, masked, fresh, Telea, NS, (PatchMatch,) attention: panels of 40 px enlarged 4x
    # to 160 px for viewing, with 4 px gaps
    panels = len(methods) - 1 + 3  # the methods but ground truth; input, masked, attention
    assert grid.shape[1] == panels * 160 + (panels + 1) * 4
    # generated masks are saved; feeding them back reproduces the baselines exactly
    mask = read_mask(str(out / "masks" / "box" / "t1.png"))
    assert mask.shape == (44, 40) and 0 < mask.mean() < 1
    again = tmp_path / "again"
    _run([f"--images={images}", f"--masks={out / 'masks' / 'box'}", f"--output_dir={again}",
          "--noprogress", "--num_examples=0"])
    first = {r["image"]: r for r in rows if r["mask_kind"] == "box" and r["method"] == "OpenCV NS"}
    second = [r for r in _rows(again / "metrics.csv") if r["method"] == "OpenCV NS"]
    assert {r["image"]: r["l1_hole"] for r in second} == {k: v["l1_hole"] for k, v in first.items()}
    assert {r["mask_kind"] for r in second} == {"given"}
    assert not os.path.exists(again / "examples.png")


def test_patchmatch_can_be_left_out_and_is_skipped_with_a_reason_when_missing(
        images, tmp_path, capsys, monkeypatch):
    _run([f"--images={images}", "--mask=box", "--nopatchmatch", f"--output_dir={tmp_path / 'a'}",
          "--noprogress", "--num_examples=0"])
    assert {r["method"] for r in _rows(tmp_path / "a" / "metrics.csv")} == {
        "ground truth", "OpenCV Telea", "OpenCV NS"}
    printed = capsys.readouterr().out
    assert "PatchMatch" not in printed
    # --num_examples=0 writes no examples.png, and says only what it wrote
    assert f"Wrote metrics.csv, summary.csv and metrics.md to {tmp_path / 'a'}" in printed
    assert "examples.png" not in printed and not (tmp_path / "a" / "examples.png").exists()
    monkeypatch.setitem(sys.modules, "patchmatch", None)  # as if pypatchmatch were absent
    _run([f"--images={images}", "--mask=box", f"--output_dir={tmp_path / 'b'}", "--noprogress",
          "--num_examples=0"])
    printed = capsys.readouterr().out
    assert "PatchMatch baseline skipped: " in printed
    if sys.version_info >= (3, 11):  # else: pypatchmatch 2.x needs 3.11, said instead
        assert 'not installed (pip install "gi_tf[patchmatch]"' in printed
    assert "PatchMatch" not in {r["method"] for r in _rows(tmp_path / "b" / "metrics.csv")}


def test_clear_errors(images, tmp_path):
    with pytest.raises(SystemExit, match="gi-eval: error: image folder .* is not a directory"):
        _run([f"--images={tmp_path / 'none'}", f"--output_dir={tmp_path / 'o'}"])
    with pytest.raises(SystemExit, match="--mask must list kinds"):
        _run([f"--images={images}", "--mask=circle", f"--output_dir={tmp_path / 'o'}"])
    with pytest.raises(SystemExit, match="No checkpoint|not found"):
        _run([f"--images={images}", f"--model={tmp_path / 'missing'}",
              f"--output_dir={tmp_path / 'o'}"])
    with pytest.raises(SystemExit, match="no mask for image 't0.png'"):
        _run([f"--images={images}", f"--masks={tmp_path}", f"--output_dir={tmp_path / 'o'}"])


def test_model_labels():
    assert evaluate.parse_model_spec("ours=runs/a") == ("ours", "runs/a")
    # the model's own name: the export above its version, the run above its checkpoint,
    # never a folder name that only says what it holds ("export")
    assert evaluate.parse_model_spec("demo/export/1") == ("demo", "demo/export/1")
    assert evaluate.parse_model_spec("demo_output/export") == ("demo_output",
                                                               "demo_output/export")
    assert evaluate.parse_model_spec("exp/saved_models/places2/3")[0] == "places2"
    assert evaluate.parse_model_spec("runs/a/ckpt-120") == ("a", "runs/a/ckpt-120")
    assert evaluate.parse_model_spec("runs/a/ckpt-120.index")[0] == "a"
    assert evaluate.parse_model_spec("runs/ckpt") == ("runs", "runs/ckpt")
    assert evaluate.parse_model_spec("places2") == ("places2", "places2")
    assert evaluate.parse_model_spec("export") == ("export", "export")
    assert evaluate.parse_model_spec("runs/x=y") == ("x=y", "runs/x=y")


def test_progress_off_a_terminal_is_plain_lines(checkpoint, images, tmp_path, capsys):
    # capsys' stdout is not a terminal, like a log file: no \r, no ANSI escapes, but lines
    _run([f"--model={checkpoint}", f"--images={images}", "--mask=box,free", "--nobaselines",
          f"--output_dir={tmp_path / 'eval'}", "--num_examples=1"])
    printed = capsys.readouterr().out
    assert "\r" not in printed and "\x1b" not in printed
    lines = [line for line in printed.splitlines() if " samples (" in line]
    assert [line.split(",")[0] for line in lines] == [
        "1/4 samples (25%)", "2/4 samples (50%)", "3/4 samples (75%)", "4/4 samples (100%)"]
