"""gi_tf.evaluation.report: CSV, markdown and example grid written atomically; gi-demo's seed
statistics and reading."""

import csv
import os

import numpy as np
import pytest

from gi_tf.evaluation import evaluate as ev
from gi_tf.evaluation import report
from gi_tf.utils import visualize
from gi_tf.utils.image_io import read_image


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
    # a caption strip, then 2 examples; per row: input, masked, 2 methods, attention = 5
    # panels of 32 px + pads; then the attention legend
    width = 5 * 32 + 6 * 4
    legend = visualize.legend_panel(width, report.LEGEND_SIZE)
    assert grid.dtype == np.uint8 and grid.shape == (16 + 2 * (16 + 32 + 8) + legend.shape[0],
                                                     width, 3)
    np.testing.assert_array_equal(grid[:16], visualize.caption_strip("all 2 samples shown", width))
    # the attention panel (last) shows the method's map (value 200)
    assert (grid[16 + 16 + 4:16 + 16 + 36, -36:-4] == 200).all()
    np.testing.assert_array_equal(grid[-legend.shape[0]:], legend)
    # by default small images are enlarged 4x by pixel duplication (32 -> 128 px)
    big = report.example_grid(result)
    legend = visualize.legend_panel(5 * 128 + 6 * 4, report.LEGEND_SIZE)
    assert big.shape == (16 + 2 * (16 + 128 + 8) + legend.shape[0], 5 * 128 + 6 * 4, 3)
    np.testing.assert_array_equal(big[36:164:4, 4:132:4], result.examples[0]["sample"].image)


def test_example_grid_caption_says_how_many_of_the_samples_are_shown():
    image = np.random.default_rng(2).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    holes = np.zeros((32, 32), bool)
    holes[4:12, 4:12] = True
    samples = [ev.Sample(f"s{i}", image, holes, "box") for i in range(3)]
    result = ev.evaluate({"copy": lambda im, h: im}, samples, num_examples=1, progress=False)
    assert report.grid_caption(1, 3, "the first 1") == "1 of 3 samples shown (the first 1)"
    assert report.grid_caption(3, 3, "ignored") == "all 3 samples shown"
    assert report.grid_caption(2, 0) == ""  # hand-made evaluation: no rows, no caption
    grid = report.example_grid(result, min_side=0, chosen="the first 1")
    width = 3 * 32 + 4 * 4
    np.testing.assert_array_equal(
        grid[:32], visualize.caption_strip("1 of 3 samples shown (the first 1)", width))
    # one example row under the two-line caption and no legend (no attention map here)
    assert grid.shape == (32 + 16 + 32 + 8, width, 3)
    # the caption has dark text; the row under it starts with the label strip of "input"
    assert grid[:32].min() < 128


def test_write_outputs_passes_how_the_examples_were_chosen(tmp_path):
    result = _result()
    result.examples = result.examples[:1]
    report.write_outputs(result, str(tmp_path), chosen="the first 1")
    grid = read_image(str(tmp_path / "examples.png"))
    width = 5 * 128 + 6 * 4
    expected = visualize.caption_strip("1 of 2 samples shown (the first 1)", width)
    np.testing.assert_array_equal(grid[:expected.shape[0]], expected)


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


def _summary(attention, ablation, kind="box", baselines=()):
    """Summary rows: per-seed hole ℓ1 values of both variants, then the baselines."""
    rows = []
    for base, values in ((report.MODEL_NAME, attention),
                         (report.ABLATION_NAME, ablation)):
        for seed, value in enumerate(values):
            rows.append({"mask_kind": kind, "method": report.method_name(base, seed),
                         "count": 4, "l1_hole": value, "psnr_hole": 30.0 - value,
                         "ssim_hole": 0.5})
    for name, value in baselines:
        rows.append({"mask_kind": kind, "method": name, "count": 4, "l1_hole": value,
                     "psnr_hole": 30.0 - value, "ssim_hole": 0.4})
    return rows


def test_seed_statistics_are_mean_sample_sd_and_range_per_variant():
    attention, ablation = [5.0, 6.0, 7.5], [9.0, 8.0, 10.0]
    stats = report.seed_statistics(_summary(attention, ablation), (0, 1, 2), "box")
    for base, values in ((report.MODEL_NAME, attention),
                         (report.ABLATION_NAME, ablation)):
        assert stats[base]["values"] == values
        assert stats[base]["mean"] == pytest.approx(sum(values) / 3)
        mean = sum(values) / 3
        sd = (sum((v - mean) ** 2 for v in values) / 2) ** 0.5
        assert stats[base]["sd"] == pytest.approx(sd)
        assert (stats[base]["min"], stats[base]["max"]) == (min(values), max(values))
    # a seed that was not evaluated is left out; one seed has sd 0
    stats = report.seed_statistics(_summary([5.0], [6.0]), (0, 7), "box")
    assert stats[report.MODEL_NAME]["seeds"] == [0]
    assert stats[report.MODEL_NAME]["sd"] == 0.0


@pytest.mark.parametrize("attention, ablation, verdict", [
    ([5.0, 5.2, 5.1], [8.0, 8.3, 7.9], "attention ahead on every seed, the smallest gap (2.80) "
     "larger than the spread between seeds (0.40)"),
    ([5.0, 7.0, 6.0], [7.5, 8.0, 6.5], "attention ahead on every seed, but the smallest gap "
     "(0.50) is within the spread between seeds (2.00): not conclusive"),
    ([5.0, 9.0, 6.0], [7.5, 8.0, 6.5], "attention ahead on 2 of 3 seeds"),
])
def test_ablation_is_read_from_the_gaps_per_seed_against_the_spread(attention, ablation,
                                                                     verdict):
    text = report.reading(_summary(attention, ablation), seeds=(0, 1, 2))
    assert verdict in text
    assert "gap per seed " + ", ".join(f"{b - a:+.2f}" for a, b in zip(attention, ablation)) \
        in text


def test_one_seed_is_never_read_as_a_result():
    text = report.reading(_summary([5.0], [6.0]), seeds=(0,))
    assert "gap per seed +1.00 points (one seed: no spread" in text
    assert "ahead on every seed" not in text


def test_reading_reports_winners_and_each_baseline_against_every_seed():
    summary = _summary([5.0, 6.0], [9.0, 9.5], baselines=(("OpenCV Telea", 7.0),
                                                          ("PatchMatch", 2.0)))
    text = report.reading(summary, seeds=(0, 1))
    assert "- box: lowest hole ℓ1: PatchMatch; highest hole PSNR: PatchMatch" in text
    assert "- OpenCV Telea: hole ℓ1 7.00 % vs gi_tf 5.50 % (seeds 5.00 – 6.00): gi_tf ahead " \
        "with every seed." in text
    assert "- PatchMatch: hole ℓ1 2.00 % vs gi_tf 5.50 % (seeds 5.00 – 6.00): PatchMatch " \
        "ahead of gi_tf with every seed." in text
    table = report.seed_table(summary, (0, 1))
    assert "| gi_tf | 2 | 5.50 ± 0.71 | 5.00 – 6.00 | 5.00, 6.00 |" in table
    assert "| OpenCV Telea | — | 7.00 |" in table
