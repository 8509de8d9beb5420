"""gi-bench --quick in-process: report structure (never timing values)."""

import json
import os

import pytest
from absl import app
from absl import flags

from gi_tf.benchmarks import SECTION_ORDER
from gi_tf.benchmarks.runner import parse_sections
from gi_tf.cli import bench


def _run(argv):
    """``gi-bench ARGV`` in-process; returns the report written to --output_json."""
    flag_values = flags.FlagValues()
    bench.define_flags(flag_values)
    argv = flag_values(["gi-bench"] + argv)
    assert bench.main(argv, flag_values) is None  # app.run would print a returned value
    return json.loads(open(flag_values.output_json).read())


def test_quick_attention_section_writes_a_complete_report(tmp_path, capsys):
    path = tmp_path / "out" / "bench.json"
    report = _run(["--quick", "--sections=attention", "--repeats=1",
                   f"--output_json={path}"])
    assert os.listdir(tmp_path / "out") == ["bench.json"]  # no temporary file left
    assert list(report["sections"]) == ["yardstick", "attention"]  # yardstick always first
    assert report["settings"]["quick"] is True and report["settings"]["repeats"] == 1
    assert {"tensorflow", "keras", "cpu_count", "devices"} <= set(report["machine"])

    yardstick = report["sections"]["yardstick"]
    assert [row["dtype"] for row in yardstick["rows"]][0] == "float32"
    assert yardstick["rows"][0]["gflops"] > 0

    attention = report["sections"]["attention"]
    assert attention["columns"][:2] == ["features", "implementation"]
    assert [(r["features"], r["implementation"]) for r in attention["rows"]] == [
        ("16x16x8", "batched"), ("16x16x8", "literal"),
        ("32x32x8", "batched"), ("32x32x8", "literal")]
    for row in attention["rows"]:
        assert "error" not in row, row
        assert row["median_ms"] > 0 and row["gflop"] > 0 and row["of_matmul"] > 0
    assert [r["vs_batched"] for r in attention["rows"][::2]] == [1.0, 1.0]

    printed = capsys.readouterr().out
    assert "== contextual attention forward" in printed and "wrote" in printed


def test_a_failing_section_is_reported_not_fatal(monkeypatch, tmp_path):
    from gi_tf.benchmarks import attention

    def broken(settings, context):
        raise RuntimeError("no attention today")

    monkeypatch.setattr(attention, "run", broken)
    report = _run(["--quick", "--sections=attention", "--repeats=1",
                   f"--output_json={tmp_path / 'b.json'}"])
    rows = report["sections"]["attention"]["rows"]
    assert rows == [{"error": "RuntimeError: no attention today"}]
    assert report["sections"]["yardstick"]["rows"][0]["gflops"] > 0


def test_section_names():
    assert parse_sections("all") == list(SECTION_ORDER)
    assert parse_sections("") == list(SECTION_ORDER)
    assert parse_sections("memory, generator") == ["yardstick", "generator", "memory"]
    with pytest.raises(ValueError, match="unknown benchmark sections"):
        parse_sections("attention,speed")


def test_bad_flags_are_usage_errors():
    flag_values = flags.FlagValues()
    bench.define_flags(flag_values)
    flag_values(["gi-bench", "--sections=nope"])
    with pytest.raises(app.UsageError, match="unknown benchmark sections"):
        bench.main(["gi-bench"], flag_values)
    with pytest.raises(app.UsageError, match="unexpected arguments"):
        bench.main(["gi-bench", "extra"], flags.FlagValues())


@pytest.mark.parametrize("damaged", [False, True])
def test_missing_or_damaged_checkpoint_is_refused_before_any_section(monkeypatch, tmp_path,
                                                                     damaged):
    from gi_tf.benchmarks import runner

    def never(*args, **kwargs):
        raise AssertionError("a section ran")

    monkeypatch.setattr(runner, "run_sections", never)
    prefix = tmp_path / "ckpt-1"
    if damaged:  # an index file that is no checkpoint index
        prefix.with_suffix(".index").write_bytes(b"not a checkpoint")
    flag_values = flags.FlagValues()
    bench.define_flags(flag_values)
    argv = flag_values(["gi-bench", "--sections=saved_model", f"--checkpoint={prefix}"])
    with pytest.raises(SystemExit) as raised:
        bench.main(argv, flag_values)
    message = str(raised.value.code)
    assert message.startswith("gi-bench: error: --checkpoint: ") and "\n" not in message
    assert str(prefix) in message
