"""gi-bench's original section: cases, settings, the interleaved pair timing (never timing
values). The authors' checkouts are not in CI; with ``GI_TF_ORIGINAL`` and
``GI_TF_NEURALGYM`` pointing at them, the last test runs the quick cases for real."""

import os

import pytest

from gi_tf.benchmarks import original as section_lib
from gi_tf.benchmarks.common import BenchSettings
from gi_tf.benchmarks.common import OriginalCase
from gi_tf.benchmarks.common import parse_original_cases


def test_cases_parse_and_bad_items_are_named():
    assert parse_original_cases(" generator:256, inpaint:1024,training:256x16") == [
        OriginalCase("generator", 256), OriginalCase("inpaint", 1024),
        OriginalCase("training", 256, 16)]
    for bad, words in [("decoder:256", "kind must be one of"),
                       ("generator:250", "multiple of 8"), ("inpaint:16", ">= 32"),
                       ("generator", "expected generator:SIZE"),
                       ("training:256", "training:SIZExBATCH"), (" , ", "no original cases")]:
        with pytest.raises(ValueError, match=words):
            parse_original_cases(bad)


def test_default_and_quick_cases_cover_every_kind():
    for quick in (False, True):
        kinds = {case.kind for case in section_lib.cases(BenchSettings(quick=quick))}
        assert kinds == {"generator", "inpaint", "training"}
    chosen = section_lib.cases(BenchSettings(quick=True, original_cases="generator:512"))
    assert chosen == [OriginalCase("generator", 512)]


def test_settings_need_both_checkouts_and_valid_cases():
    BenchSettings(original="a", neuralgym="b", original_cases="training:64x2").validate()
    with pytest.raises(ValueError, match="both --original and --neuralgym"):
        BenchSettings(original="a").validate()
    with pytest.raises(ValueError, match="kind must be one of"):
        BenchSettings(original_cases="train:64x2").validate()


def test_without_checkouts_the_section_says_how_to_run_it():
    section = section_lib.run(BenchSettings(quick=True), {})
    assert section.rows == []
    assert any("--original=DIR" in note and "--neuralgym=DIR" in note
               for note in section.notes)


def test_a_missing_checkout_is_an_error_row_naming_it(tmp_path):
    settings = BenchSettings(quick=True, original=str(tmp_path / "nowhere"),
                             neuralgym=str(tmp_path))
    section = section_lib.run(settings, {})
    (row,) = section.rows
    assert "--original=" in row["error"] and "no such directory" in row["error"]
    assert "--neuralgym=" in row["error"] and "missing neuralgym/ops/layers.py" in row["error"]


class _Graph:
    closed = False

    def close(self):
        self.closed = True


def test_compare_times_both_sides_alike_and_closes_the_graph():
    calls = {"original": 0, "gi_tf": 0}
    graph = _Graph()

    def side(name):
        def call():
            calls[name] += 1
        return call

    settings = BenchSettings(repeats=3, max_seconds=60)
    case = OriginalCase("training", 64, 2)
    row = section_lib.compare(case, lambda: (graph, side("original"), side("gi_tf")), settings)
    assert calls == {"original": 4, "gi_tf": 4}  # one first call + 3 rounds each
    assert graph.closed
    assert row["case"] == "training 64x64" and row["batch"] == 2 and row["calls"] == 3
    assert "error" not in row
    assert set(section_lib.COLUMNS) <= set(row)
    assert row["ratio"] == pytest.approx(row["gi_tf_s"] / row["original_s"])
    assert row["cpu_ratio"] is None or row["cpu_ratio"] == pytest.approx(
        row["gi_tf_cpu_s"] / row["original_cpu_s"])


def test_a_failing_side_becomes_an_error_row_and_the_graph_is_still_closed():
    graph = _Graph()

    def broken():
        raise RuntimeError("out of memory at 1024")

    row = section_lib.compare(OriginalCase("generator", 1024),
                              lambda: (graph, lambda: None, broken), BenchSettings())
    assert row == {"case": "generator 1024x1024", "batch": 1,
                   "error": "RuntimeError: out of memory at 1024"}
    assert graph.closed


@pytest.mark.skipif(not (os.environ.get("GI_TF_ORIGINAL") and os.environ.get("GI_TF_NEURALGYM")),
                    reason="set GI_TF_ORIGINAL and GI_TF_NEURALGYM to the authors' checkouts")
def test_quick_cases_against_the_authors_checkouts():
    settings = BenchSettings(quick=True, repeats=1, original=os.environ["GI_TF_ORIGINAL"],
                             neuralgym=os.environ["GI_TF_NEURALGYM"])
    section = section_lib.run(settings, {})
    assert [row["case"] for row in section.rows] == [
        "generator 64x64", "inpaint 64x64", "training 64x64"]
    for row in section.rows:
        assert "error" not in row, row
        assert row["original_s"] > 0 and row["gi_tf_s"] > 0 and row["calls"] == 1
