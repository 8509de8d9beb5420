"""Contextual attention forward time, ``"batched"`` vs ``"literal"`` formulation.

Feature maps of ``64x64x128`` and ``128x128x128`` are what the generator's attention
sees for 256x256 and 512x512 images (1/4 resolution, 128 channels, matching at rate 2
on a 32x32 / 64x64 grid). Each case runs under ``tf.function`` with a centred hole.
"""

import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import centre_holes
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import fraction_of_yardstick
from gi_tf.benchmarks.common import time_call
from gi_tf.benchmarks.flops import attention_flops
from gi_tf.layers import ContextualAttention

NAME = "attention"
TITLE = "contextual attention forward (tf.function, batch 1, rate 2)"
COLUMNS = ["features", "implementation", "first_ms", "median_ms", "gflop", "gflops",
           "of_matmul", "vs_batched"]
IMPLEMENTATIONS = ("batched", "literal")


def feature_sizes(quick):
    """``(height, width, channels)`` of the feature maps to time."""
    return [(16, 16, 8), (32, 32, 8)] if quick else [(64, 64, 128), (128, 128, 128)]


def time_attention(implementation, height, width, channels, settings):
    rng = np.random.default_rng(settings.seed)
    features = tf.constant(rng.standard_normal((1, height, width, channels)).astype("float32"))
    holes = tf.constant(centre_holes(1, height, width))
    layer = ContextualAttention(rate=2, implementation=implementation)
    forward = tf.function(lambda f, m: layer(f, f, m))
    return time_call(lambda: [t.numpy() for t in forward(features, holes)],
                     settings.repeats, settings.max_seconds)


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    for height, width, channels in feature_sizes(settings.quick):
        flops = attention_flops(1, height, width, channels)
        batched_s = None
        for implementation in IMPLEMENTATIONS:
            row = {"features": f"{height}x{width}x{channels}", "implementation": implementation,
                   "gflop": flops / 1e9}
            try:
                timing = time_attention(implementation, height, width, channels, settings)
            except Exception as exc:
                row["error"] = error_text(exc)
                section.rows.append(row)
                continue
            seconds = timing["median_s"]
            gflops, fraction = fraction_of_yardstick(flops, seconds, context)
            if implementation == "batched":
                batched_s = seconds
            row.update({"first_ms": 1000 * timing["first_s"], "median_ms": 1000 * seconds,
                        "gflops": gflops, "of_matmul": fraction,
                        "vs_batched": seconds / batched_s if batched_s else None})
            section.rows.append(row)
    section.notes.append("vs_batched = time / batched time (>1: slower than batched)")
    return section
