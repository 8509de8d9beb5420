"""Long-run stability: hundreds of small gi-train steps stay finite and do not grow memory.

Runs :func:`gi_tf.training.loop.train` (what ``gi-train`` runs: the data pipeline on
``builtin:textures``, ``TrainLoop``, the NaN/Inf guard, summaries and checkpoints into a
temporary directory) at 32x32, batch 2, one critic update with the gradient penalty per
step, for ``STEPS`` steps (``QUICK_STEPS`` with ``--quick``). At every progress line (one
per ``STEPS // SAMPLES`` steps) it records the process's resident memory (Linux
``/proc/self/statm``; the current RSS, not the peak) and the logged loss means.

Columns: ``rss_mb`` the resident memory at that step; ``growth_mb`` its change since the
first sample after warm-up (the first quarter of the run: tracing, allocator pools and
the prefetch buffers settle there); ``finite`` whether every logged term is finite (a
NaN/Inf would have stopped the run: the row then carries the guard's error). The notes
give the slope of a least-squares line through the post-warm-up samples, in MB per 100
steps: about 0 means no growth step over step.
"""

import os
import re
import tempfile

import numpy as np

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.data.pipeline import DataConfig
from gi_tf.models.config import ModelConfig
from gi_tf.training import loop as loop_lib
from gi_tf.training.config import scaled_mask_config
from gi_tf.training.config import TrainConfig
from gi_tf.utils import files

NAME = "stability"
TITLE = "long-run stability (gi-train's train(): NaN guard, gradient penalty, RSS per step)"
COLUMNS = ["step", "rss_mb", "growth_mb", "d_total", "gp", "g_total", "finite"]
STEPS, QUICK_STEPS, SAMPLES = 400, 16, 8
IMAGE_SIZE, BATCH = 32, 2
_TERM = re.compile(r"(\w+)=(\S+)")


def resident_bytes():
    """This process's current resident memory in bytes (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        # lazy: Unix only, a fallback
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def train_and_sample(steps, samples=SAMPLES, seed=0, model_dir=None):
    """Train ``steps`` small steps; returns ``(samples, error)``.

    Args:
        steps: int, generator updates (a multiple of ``samples``).
        samples: int, progress lines (memory and loss samples) over the run.
        seed: int.
        model_dir: where checkpoints and summaries go (default: a temporary directory,
            removed afterwards).

    Returns:
        ``([{"step", "rss_bytes", "logs": {term: float}}], error str or None)``.
    """
    every = max(1, steps // samples)
    config = TrainConfig(image_size=IMAGE_SIZE, batch_size=BATCH, critic_steps=1,
                         max_steps=steps, mask=scaled_mask_config(IMAGE_SIZE), seed=seed,
                         steps_per_loop=every, log_every=every, summary_every=every * 2,
                         checkpoint_every=max(every, steps // 2), keep_checkpoints=1,
                         summary_images=2)
    data_config = DataConfig(source="builtin:textures:64", image_size=IMAGE_SIZE,
                             shuffle_buffer=64, seed=seed)
    rows = []

    def log(line):
        if line.startswith("step "):
            step = int(line.split()[1].split("/")[0])
            logs = {term: float(value) for term, value in _TERM.findall(line)}
            rows.append({"step": step, "rss_bytes": resident_bytes(), "logs": logs})

    scratch = model_dir is None
    model_dir = tempfile.mkdtemp(prefix="gi_tf_stability_") if scratch else model_dir
    error = None
    try:
        loop_lib.train(config, ModelConfig(), data_config, model_dir, log=log)
    except Exception as exc:  # a NaN/Inf stop (NonFiniteLossError) is a result here
        error = error_text(exc)
    finally:
        if scratch:
            files.rmtree(model_dir, ignore_errors=True)
    return rows, error


def growth_per_100_steps(rows):
    """Least-squares slope of RSS (MB) over the step, per 100 steps, after warm-up."""
    settled = rows[len(rows) // 4:]
    if len(settled) < 2:
        return None
    steps = np.array([row["step"] for row in settled], np.float64)
    megabytes = np.array([row["rss_bytes"] for row in settled], np.float64) / 2**20
    return float(np.polyfit(steps, megabytes, 1)[0] * 100)


def run(settings, context):
    del context
    section = Section(NAME, TITLE, COLUMNS)
    steps = QUICK_STEPS if settings.quick else STEPS
    rows, error = train_and_sample(steps, seed=settings.seed)
    settled = rows[len(rows) // 4] if rows else None
    for row in rows:
        logs = row["logs"]
        section.rows.append({
            "step": row["step"], "rss_mb": row["rss_bytes"] / 2**20,
            "growth_mb": (row["rss_bytes"] - settled["rss_bytes"]) / 2**20
            if row["step"] >= settled["step"] else None,
            "d_total": logs.get("d_total"), "gp": logs.get("gp"),
            "g_total": logs.get("g_total"),
            "finite": bool(logs) and all(np.isfinite(v) for v in logs.values())})
    if error is not None:
        section.rows.append({"error": error})
    slope = growth_per_100_steps(rows)
    section.notes.append(
        f"{steps} steps of {IMAGE_SIZE}x{IMAGE_SIZE}, batch {BATCH}, 1 critic update with "
        "gradient penalty per step; gi-train's train() with checkpoints and summaries")
    if slope is not None:
        section.notes.append(f"RSS slope after warm-up: {slope:+.2f} MB per 100 steps")
    return section
