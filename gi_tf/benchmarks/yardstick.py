"""The machine's yardstick: TensorFlow float32 (and bfloat16) square matmul GFLOP/s.

Every other section divides its achieved GFLOP/s by the float32 figure measured here,
in the same run, so the figures read as "fraction of what this machine can do" and stay
comparable when the machine is shared or throttled.
"""

import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import time_call

NAME = "yardstick"
TITLE = "matmul yardstick (tf.linalg.matmul, square)"
COLUMNS = ["dtype", "n", "device", "median_ms", "gflops"]


def matmul_gflops(n, dtype, repeats, max_seconds, device=None):
    """Median GFLOP/s of ``n x n @ n x n`` (``2 n^3`` FLOPs) under ``tf.function``."""
    with tf.device(device or default_device()):
        a = tf.random.stateless_normal((n, n), seed=(1, 2), dtype=tf.float32)
        b = tf.random.stateless_normal((n, n), seed=(3, 4), dtype=tf.float32)
        a, b = tf.cast(a, dtype), tf.cast(b, dtype)
        product = tf.function(
            lambda x, y: tf.reduce_sum(tf.cast(tf.linalg.matmul(x, y), "float32")))
        timing = time_call(lambda: product(a, b).numpy(), repeats, max_seconds)
    return timing["median_s"], 2.0 * n**3 / timing["median_s"] / 1e9


def default_device():
    return "/GPU:0" if tf.config.list_logical_devices("GPU") else "/CPU:0"


def run(settings, context):
    n = 256 if settings.quick else 2048
    section = Section(NAME, TITLE, COLUMNS)
    repeats = max(settings.repeats, 5)
    for dtype in ("float32", "bfloat16"):
        try:
            seconds, gflops = matmul_gflops(n, dtype, repeats, settings.max_seconds)
        except Exception as exc:  # bfloat16 matmul may be missing on some devices
            section.rows.append({"dtype": dtype, "n": n, "error": error_text(exc)})
            continue
        section.rows.append({"dtype": dtype, "n": n, "device": default_device(),
                             "median_ms": 1000 * seconds, "gflops": gflops})
        context[f"matmul_gflops_{dtype}"] = gflops
    context["matmul_gflops"] = context.get("matmul_gflops_float32")
    section.notes.append("later sections' 'of_matmul' = their GFLOP/s / the float32 figure")
    return section
