"""gi_tf.benchmarks.startup: its commands, the parsing, the paired ratios, the error rows and
the first-request process (no timings asserted)."""

import os
import sys

import numpy as np
import pytest

from gi_tf.benchmarks import startup
from gi_tf.benchmarks.common import BenchSettings
from gi_tf.utils.image_io import read_image
from gi_tf.utils.image_io import read_mask
import shared_artifacts

ARGS = dict(checkpoint="c/ckpt-1", export_base="t/export2", model="t/export0", image="t/i.png",
            mask="t/m.png", output_dir="t/out", version_dir="t/export0/1", size=512)


def test_commands_are_fresh_processes_of_each_tool_on_the_right_model():
    argv = startup.commands(**ARGS)
    assert list(argv) == list(startup.VARIANTS)
    assert all(a[0] == sys.executable and a[1] == "-m" for a in argv.values())
    assert argv[startup.EXPORT][2:] == ["gi_tf.cli.export", "--checkpoint=c/ckpt-1",
                                        "--export_dir=t/export2"]
    exported, checkpointed = argv[startup.INPAINT_EXPORT], argv[startup.INPAINT_CHECKPOINT]
    assert "--model=t/export0" in exported and "--model=c/ckpt-1" in checkpointed
    for inpaint in (exported, checkpointed):
        assert inpaint[2] == "gi_tf.cli.inpaint"
        assert {"--image=t/i.png", "--mask=t/m.png"} <= set(inpaint)
    assert argv[startup.FIRST][2:] == ["gi_tf.benchmarks.startup", "t/export0/1", "512", "none"]
    assert argv[startup.FIRST_WARM][-1] == "replay"


def test_gi_inpaint_timing_line_is_parsed_into_its_parts():
    text = ("Loading m ...\nWrote out.png (1.40 s reading, inpainting, writing (+ model load "
            "5.2 s; process 9.8 s so far, incl. TensorFlow start-up))\n")
    parsed = startup.parse_inpaint_output(text)
    assert parsed["call_s"] == 1.40 and parsed["load_s"] == 5.2
    assert parsed["before_load_s"] == pytest.approx(9.8 - 5.2 - 1.40)
    assert startup.parse_inpaint_output("no timing here") == {
        "call_s": None, "load_s": None, "before_load_s": None}


def test_result_line_is_the_last_tagged_line():
    tag = startup.RESULT_TAG
    text = f"noise\n{tag}{{\"call_s\": 1}}\nmore\n{tag}{{\"call_s\": 2}}\n"
    assert startup.parse_result_line(text) == {"call_s": 2}
    with pytest.raises(ValueError, match="no result line"):
        startup.parse_result_line("TensorFlow chatter only")


def test_paired_ratio_is_the_median_of_per_round_ratios():
    # per-round ratios 2, 3, 10 -> 3 (the ratio of medians would be 14/4 = 3.5)
    assert startup.paired_ratio([2.0, 12.0, 14.0], [1.0, 4.0, 1.4]) == pytest.approx(3.0)
    assert startup.paired_ratio([1.0, None], [2.0, 1.0]) == 0.5
    assert startup.paired_ratio([], []) is None


def _run(wall, call, load=1.0, replay=0.0):
    return {"wall_s": wall, "call_s": call, "load_s": load, "replay_s": replay}


def test_summary_rows_median_spread_reference_ratio_and_error_line():
    runs = {
        startup.EXPORT: [_run(10, None), _run(12, None), _run(11, None)],
        startup.INPAINT_EXPORT: [_run(6, 2), _run(9, 3), _run(5, 2)],
        startup.INPAINT_CHECKPOINT: [_run(3, 1), _run(3, 1), _run(5, 1)],
        startup.FIRST: {"error": "RuntimeError: python exited 1: boom"},
    }
    rows = {row["measure"]: row for row in startup.summary_rows(runs)}
    assert list(rows) == [startup.EXPORT, startup.INPAINT_EXPORT, startup.INPAINT_CHECKPOINT,
                          startup.FIRST]
    export = rows[startup.EXPORT]
    assert (export["runs"], export["median_s"], export["min_s"], export["max_s"]) == (3, 11, 10, 12)
    assert "vs" not in export
    assert rows[startup.INPAINT_EXPORT]["vs"] == pytest.approx(2.0)  # 6/3, 9/3, 5/5
    assert rows[startup.INPAINT_EXPORT]["call_s"] == 2
    assert rows[startup.FIRST] == {"measure": startup.FIRST,
                                   "error": "RuntimeError: python exited 1: boom"}
    assert startup.ready_ratio(runs) is None


def test_first_request_rows_use_the_call_and_ready_ratio_adds_the_replay():
    runs = {startup.FIRST: [_run(9, 4.0, load=2.0), _run(9, 4.0, load=2.0)],
            startup.FIRST_WARM: [_run(9, 0.5, load=2.0, replay=5.0),
                                 _run(9, 1.0, load=2.0, replay=5.0)]}
    rows = {row["measure"]: row for row in startup.summary_rows(runs)}
    assert rows[startup.FIRST_WARM]["median_s"] == 0.75
    assert rows[startup.FIRST_WARM]["vs"] == pytest.approx(0.1875)
    assert startup.ready_ratio(runs) == pytest.approx(((7.5 / 6) + (8.0 / 6)) / 2)


def test_a_failed_export_skips_what_needs_it_and_is_not_retried(monkeypatch):
    calls = []

    def fake_measure(variant, argv):
        calls.append(variant)
        if variant == startup.EXPORT:
            raise RuntimeError("python exited 1: no checkpoint")
        return _run(1.0, 1.0)

    monkeypatch.setattr(startup, "measure", fake_measure)
    runs = startup.run_rounds(lambda i: startup.commands(**ARGS), rounds=2)
    assert calls == [startup.EXPORT, startup.INPAINT_CHECKPOINT, startup.INPAINT_CHECKPOINT]
    assert runs[startup.EXPORT] == {"error": "RuntimeError: python exited 1: no checkpoint"}
    for variant in (startup.INPAINT_EXPORT, startup.FIRST, startup.FIRST_WARM):
        assert runs[variant] == {"error": "no export (gi-export failed)"}
    assert len(runs[startup.INPAINT_CHECKPOINT]) == 2


def test_failed_process_raises_one_line_with_its_last_output():
    with pytest.raises(RuntimeError, match=r"-c exited 3: .*last words"):
        startup.run_process([sys.executable, "-c",
                             "import sys; print('x'); print('last words'); sys.exit(3)"])


def test_inputs_are_a_size_square_image_and_a_centred_half_hole(tmp_path):
    image, mask = startup.write_inputs(str(tmp_path), 64)
    assert read_image(image).shape == (64, 64, 3)
    rows, cols = np.nonzero(np.asarray(read_mask(mask)).reshape(64, 64) != 0)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (16, 48, 16, 48)


def test_first_request_process_usage_error_is_one_line():
    with pytest.raises(SystemExit, match="usage: python -m gi_tf.benchmarks.startup"):
        startup.main(["startup", "model/1", "512", "sometimes"])


def test_section_checkpoint_is_the_given_one(tmp_path):
    settings = BenchSettings(checkpoint="given/ckpt-3")
    assert startup.section_checkpoint(settings, str(tmp_path)) == "given/ckpt-3"
    assert os.listdir(tmp_path) == []


@pytest.mark.e2e
def test_first_request_process_replays_every_record_and_answers(shared_export):
    version = os.path.join(shared_export, "1")
    pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
    names = [name for name, _ in startup.warmup_records(version)]
    assert "serving_default" in names and len(names) == 7
    for mode in ("none", "replay"):
        result = startup.measure(startup.FIRST, startup.commands(
            **{**ARGS, "version_dir": version, "size": 64})[
                startup.FIRST if mode == "none" else startup.FIRST_WARM])
        assert set(result) >= {"wall_s", "before_load_s", "load_s", "replay_s", "call_s",
                               "next_s"}
        assert (result["replay_s"] > 0) == (mode == "replay")


@pytest.mark.e2e
def test_gi_inpaint_runs_parse_on_the_shared_artefacts(tmp_path, shared_checkpoint,
                                                       shared_export):
    image, mask = startup.write_inputs(str(tmp_path), 64)
    argv = startup.commands(shared_artifacts.checkpoint_prefix(shared_checkpoint),
                            str(tmp_path / "unused"), shared_export, image, mask,
                            str(tmp_path), os.path.join(shared_export, "1"), 64)
    for variant in (startup.INPAINT_EXPORT, startup.INPAINT_CHECKPOINT):
        result = startup.measure(variant, argv[variant])
        assert None not in (result["call_s"], result["load_s"], result["before_load_s"])
        assert result["wall_s"] > result["call_s"]
    assert read_image(str(tmp_path / "export.png")).shape == (64, 64, 3)
