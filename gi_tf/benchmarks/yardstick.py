"""The machine's yardstick: TensorFlow float32 (and bfloat16) square matmul GFLOP/s.

Every other section divides its achieved GFLOP/s by the float32 figure measured here,
in the same run, so the figures read as "fraction of what this machine can do" and stay
comparable when the machine is shared or throttled.
"""

import os
import platform

import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import time_call
from gi_tf.utils import files

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


# -- this machine's rate, measured once and cached (gi-inpaint --plan) ----------------------

RATE_CACHE_NAME = "rate.json"
PLAN_MATMUL_N = 1024  # ~2 GFLOP a call: a ~1 s measurement on a laptop-class CPU


def cache_dir():
    """``$XDG_CACHE_HOME/gi_tf`` (default ``~/.cache/gi_tf``): the user's cache of gi_tf."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gi_tf")


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def rate_key():
    """What a measured rate belongs to: CPU model (or GPU), TensorFlow version, threads."""
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    return f"{cpu_model()} | {default_device()} | TF {tf.__version__} | {threads} threads"


def measure_plan_rate():
    """float32 matmul GFLOP/s of this machine, about one second of measuring."""
    return matmul_gflops(PLAN_MATMUL_N, "float32", repeats=5, max_seconds=1.0)[1]


def cached_matmul_gflops(directory=None, measure=None):
    """This machine's float32 matmul GFLOP/s, measured once per :func:`rate_key` and cached.

    The cache is ``<directory>/rate.json`` (default :func:`cache_dir`), a JSON object
    ``{key: gflops}`` written atomically through :mod:`gi_tf.utils.files`. A missing,
    unreadable or corrupt cache is measured again (and rewritten); a cache that cannot be
    written is only not kept.

    Args:
        directory: cache folder (default :func:`cache_dir`).
        measure: function returning GFLOP/s (default :func:`measure_plan_rate`).

    Returns:
        ``(gflops, cache_path, measured_now)``; ``cache_path`` is None when it could not
        be written.
    """
    path = os.path.join(directory or cache_dir(), RATE_CACHE_NAME)
    key = rate_key()
    try:
        cached = files.read_json(path)
    except (OSError, ValueError, files.FileError):
        cached = {}
    if not isinstance(cached, dict):
        cached = {}
    value = cached.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value), path, False
    gflops = float((measure or measure_plan_rate)())
    cached[key] = gflops
    try:
        files.write_json(path, cached)
    except (OSError, files.FileError):
        path = None
    return gflops, path, True
