"""Benchmark helpers: timing protocol, tables, image/hole makers, level differences."""

import numpy as np
import pytest

from gi_tf.benchmarks import common
from gi_tf.benchmarks.precision import hole_level_difference


def test_time_call_counts_the_first_call_apart_and_respects_repeats():
    calls = []
    timing = common.time_call(lambda: calls.append(1), repeats=4, max_seconds=60)
    assert len(calls) == 5 and timing["calls"] == 4
    assert set(timing) == {"first_s", "median_s", "min_s", "calls"}
    assert 0 <= timing["min_s"] <= timing["median_s"]


def test_time_call_stops_after_max_seconds_but_times_at_least_once():
    calls = []
    timing = common.time_call(lambda: calls.append(1), repeats=100, max_seconds=1e-12)
    assert timing["calls"] == 1 and len(calls) == 2


def test_fraction_of_yardstick():
    gflops, fraction = common.fraction_of_yardstick(4e9, 2.0, {"matmul_gflops": 8.0})
    assert gflops == pytest.approx(2.0) and fraction == pytest.approx(0.25)
    assert common.fraction_of_yardstick(4e9, 2.0, {}) == (pytest.approx(2.0), None)
    assert common.fraction_of_yardstick(0, 2.0, {}) == (None, None)


def test_format_table_aligns_columns_and_shows_errors_and_notes():
    section = common.Section("s", "Title", ["a", "bb"],
                             [{"a": 1.23456, "bb": "x"}, {"a": None, "error": "boom"}],
                             notes=["a note"])
    lines = common.format_table(section).splitlines()
    assert lines[0] == "== Title =="
    assert len({len(lines[1]), len(lines[2]), len(lines[3])}) == 1
    assert "1.23" in lines[3] and "! boom" in lines[4] and lines[-1] == "  note: a note"


def test_settings_validation():
    common.BenchSettings().validate()
    for bad in (dict(repeats=0), dict(max_seconds=0), dict(chunk_elements=0)):
        with pytest.raises(ValueError):
            common.BenchSettings(**bad).validate()


def test_inputs_have_the_documented_ranges():
    image = common.smooth_test_image(2, 16, 24, seed=3)
    assert image.shape == (2, 16, 24, 3) and image.dtype == np.float32
    assert image.min() >= -1 and image.max() <= 1 and image.std() > 0.05
    holes = common.centre_holes(1, 16, 24)
    assert holes.sum() == 8 * 12 and holes[0, 4, 6, 0] == 1 and holes[0, 3, 6, 0] == 0


def test_hole_level_difference_only_looks_inside_the_hole():
    holes = common.centre_holes(1, 8, 8)
    reference = np.zeros((1, 8, 8, 3), "float32")
    other = reference + np.where(holes > 0, 2.0 / 255.0, 1.0)  # outside: huge, ignored
    other[0, 3, 3, 1] += 4.0 / 255.0
    mean, worst = hole_level_difference(other, reference, holes)
    assert worst == pytest.approx(6.0 * 127.5 / 255.0)
    assert mean == pytest.approx((48 * 1.0 + 2.0) / 48)


def test_default_chunk_is_the_inference_default():
    from gi_tf.inference.inpainter import DEFAULT_ATTENTION_CHUNK_ELEMENTS

    assert common.DEFAULT_CHUNK_ELEMENTS == DEFAULT_ATTENTION_CHUNK_ELEMENTS
    assert common.BenchSettings().chunk_elements == DEFAULT_ATTENTION_CHUNK_ELEMENTS


def test_training_cases_parse_and_bad_items_are_named():
    from gi_tf.benchmarks.common import BenchSettings
    from gi_tf.benchmarks.common import parse_cases

    assert parse_cases("256x4, 128x1") == [(256, 4), (128, 1)]
    assert parse_cases("") == []
    with pytest.raises(ValueError, match="'256by4'"):
        BenchSettings(training_cases="256x4,256by4").validate()
    with pytest.raises(ValueError, match="generator case '256'"):
        BenchSettings(generator_cases="256").validate()
