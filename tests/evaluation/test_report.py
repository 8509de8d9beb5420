"""gi_tf.evaluation.report: CSV, markdown and example grid written atomically."""

import csv
import os

import numpy as np

from gi_tf.evaluation import evaluate as ev
from gi_tf.evaluation import report


def _result():
    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    holes = np.zeros((32, 32), bool)
    holes[8:20, 8:20] = True

    def ours(im, h):
        return im.copy(), np.full(im.shape, 200, np.uint8)

    samples = [ev.Sample("a", image, holes, "box"), ev.Sample("b", image, holes, "free")]
    return ev.evaluate({"ours": ours, "other": lambda im, h: im}, samples, progress=False)


def test_write_outputs_writes_all_files_and_no_temporaries(tmp_path):
    result = _result()
    table = report.write_outputs(result, str(tmp_path), header="# run 1")
    assert sorted(os.listdir(tmp_path)) == ["examples.png", "metrics.csv", "metrics.md",
                                            "summary.csv"]
    with open(tmp_path / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 3 and rows[0]["method"] == ev.GROUND_TRUTH
    assert float(rows[1]["l1"]) == 0.0 and rows[1]["psnr"] == "inf"
    with open(tmp_path / "summary.csv") as handle:
        assert [r["mask_kind"] for r in csv.DictReader(handle)] == ["box"] * 3 + ["free"] * 3 \
            + ["all"] * 3
    document = (tmp_path / "metrics.md").read_text()
    assert document.startswith("# run 1\n\n| mask | method | n |") and table in document
    assert "| box | ours | 1 | 0.00 |" in table and "| all | ground truth | 2 | — |" in table


def test_example_grid_has_a_column_per_method_and_the_attention_map():
    result = _result()
    grid = report.example_grid(result, min_side=0)
    # 2 examples; per row: input, masked, 2 methods, attention = 5 panels of 32 px + pads.
    assert grid.dtype == np.uint8 and grid.shape == (2 * (16 + 32 + 8), 5 * 32 + 6 * 4, 3)
    # the attention panel (last) shows the method's map (value 200)
    assert (grid[16 + 4:16 + 36, -36:-4] == 200).all()
    # by default small images are enlarged 4x by pixel duplication (32 -> 128 px)
    big = report.example_grid(result)
    assert big.shape == (2 * (16 + 128 + 8), 5 * 128 + 6 * 4, 3)
    np.testing.assert_array_equal(big[20:148:4, 4:132:4], result.examples[0]["sample"].image)


def test_text_write_is_atomic_on_failure(tmp_path):
    path = tmp_path / "x.md"
    report.write_text_atomic(str(path), "old")
    try:
        report.write_text_atomic(str(path), object())  # not text: write fails
    except TypeError:
        pass
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["x.md"]


def test_format_value():
    assert report.format_value(None, "l1") == "—"
    assert report.format_value(float("inf"), "psnr") == "inf"
    assert report.format_value(0.12345, "ssim") == "0.123"
    assert report.format_value(12.345, "l1") == "12.35"
