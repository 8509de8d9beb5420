"""gi-bench's generator section: the user path timed against the bare network call."""

import pytest

from gi_tf.benchmarks import generator as section
from gi_tf.benchmarks.common import BenchSettings


def test_inpainter_rows_compare_with_the_function_in_the_same_rounds(monkeypatch):
    monkeypatch.setattr(section, "MODES", ("function", "inpainter"))
    settings = BenchSettings(repeats=2, max_seconds=30.0, generator_cases="32x1,32x2")
    report = section.run(settings, {})
    rows = {(row["size"], row["batch"], row["mode"]): row for row in report.rows}
    assert set(rows) == {("32x32", batch, mode) for batch in (1, 2)
                         for mode in ("function", "inpainter")}
    for batch in (1, 2):
        function, inpainter = rows["32x32", batch, "function"], rows["32x32", batch, "inpainter"]
        assert "error" not in function and "error" not in inpainter
        assert function["vs_function"] == function["cpu_vs_function"] == 1.0
        assert inpainter["vs_function"] == pytest.approx(
            inpainter["median_ms"] / function["median_ms"])
        assert inpainter["cpu_vs_function"] > 0
        assert function["calls"] == inpainter["calls"] == 2
