"""gi-bench's stability section (gi_tf/benchmarks/stability.py): what it samples and how it
summarises. The figures themselves (hundreds of real training steps) come from
``gi-bench --sections=stability``, never from a test; here ``train`` is a stand-in that
logs progress lines as gi-train's loop does, so the section's parsing and arithmetic are
checked in milliseconds.
"""

import math

import numpy as np

from gi_tf.benchmarks import stability
from gi_tf.benchmarks.common import BenchSettings
from gi_tf.training import loop as loop_lib
from gi_tf.training.loss_checks import NonFiniteLossError


def _fake_train(nan_at=None):
    def train(train_config, model_config, data_config, model_dir, log=print):
        assert train_config.critic_steps == 1 and train_config.loss.gp_weight > 0
        every = train_config.log_every
        for step in range(every, train_config.max_steps + 1, every):
            if step == nan_at:
                raise NonFiniteLossError("gp", step, float("nan"))
            log(f"step {step}/{train_config.max_steps} | 3.1 steps/s | 12 images/s | ETA 1s "
                f"| d_total={-step / 100:.4g} gp={1.5:.4g} g_total=2.04")
        log("Done")
    return train


def test_a_sample_per_progress_line_with_memory_and_finite_losses(monkeypatch, tmp_path):
    monkeypatch.setattr(loop_lib, "train", _fake_train())
    section = stability.run(BenchSettings(quick=True), {})
    every = stability.QUICK_STEPS // stability.SAMPLES
    assert [row["step"] for row in section.rows] == list(
        range(every, stability.QUICK_STEPS + 1, every))
    assert all(row["finite"] and row["gp"] == 1.5 for row in section.rows)
    assert section.rows[-1]["d_total"] == -stability.QUICK_STEPS / 100
    assert all(row["rss_mb"] > 0 for row in section.rows)
    settled = stability.SAMPLES // 4
    assert [row["growth_mb"] is None for row in section.rows] == [True] * settled + [
        False] * (stability.SAMPLES - settled)
    assert any("MB per 100 steps" in note for note in section.notes)


def test_a_non_finite_stop_is_reported_as_a_row(monkeypatch):
    monkeypatch.setattr(loop_lib, "train", _fake_train(nan_at=6))
    section = stability.run(BenchSettings(quick=True), {})
    assert [row["step"] for row in section.rows[:-1]] == [2, 4]
    assert "Loss term 'gp' is not finite (nan) at step 6" in section.rows[-1]["error"]


def test_growth_is_the_slope_after_warm_up():
    rows = [{"step": step, "rss_bytes": (500 + (50 if step < 30 else 0) + step // 10) * 2**20}
            for step in range(10, 90, 10)]
    assert math.isclose(stability.growth_per_100_steps(rows), 10.0)
    assert np.isnan(stability.growth_per_100_steps(rows[:1]) or np.nan)
