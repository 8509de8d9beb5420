"""Generator forward latency: 256^2 and 512^2, batch 1 and 8, eager / tf.function / XLA.

Latency is per call (the whole batch); ``ms_per_image`` divides by the batch. The model
FLOPs (:mod:`gi_tf.benchmarks.flops`) turn the latency into GFLOP/s and a fraction of
the run's matmul yardstick. ``first_ms`` is the first call alone (tracing, and for XLA
compilation).
"""

import keras
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import centre_holes
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import latency_fields
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.common import time_call
from gi_tf.benchmarks.flops import generator_flops
from gi_tf.models import build_generator
from gi_tf.models.checkpoints import load_generator

NAME = "generator"
TITLE = "generator forward latency (random inputs, centred hole)"
COLUMNS = ["size", "batch", "mode", "first_ms", "median_ms", "ms_per_image", "gflop",
           "gflops", "of_matmul", "calls"]
MODES = ("eager", "function", "xla")


def cases(quick):
    """``(size, batch)`` pairs."""
    if quick:
        return [(32, 1), (32, 2)]
    return [(256, 1), (256, 8), (512, 1), (512, 8)]


def make_generator(settings, dtype=None, attention_chunk_elements=None):
    """A built generator: trained weights from ``settings.checkpoint``, else seeded random."""
    keras.utils.set_random_seed(settings.seed)
    generator = build_generator(dtype=dtype, attention_chunk_elements=attention_chunk_elements)
    if settings.checkpoint:
        trained, _, _ = load_generator(settings.checkpoint)
        generator.set_weights(trained.get_weights())
    return generator


def forward_function(generator, mode):
    """``fn(image, holes) -> refined`` for ``mode`` in :data:`MODES`."""
    def forward(image, holes):
        return generator(image, holes)[1]

    if mode == "eager":
        return forward
    return tf.function(forward, jit_compile=(mode == "xla"))


def inputs(batch, size, seed):
    return (tf.constant(smooth_test_image(batch, size, size, seed)),
            tf.constant(centre_holes(batch, size, size)))


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    generator = make_generator(settings)
    for size, batch in cases(settings.quick):
        image, holes = inputs(batch, size, settings.seed)
        flops = generator_flops(generator, batch, size, size)["total"]
        for mode in MODES:
            row = {"size": f"{size}x{size}", "batch": batch, "mode": mode, "gflop": flops / 1e9}
            try:
                fn = forward_function(generator, mode)
                timing = time_call(lambda: fn(image, holes).numpy(), settings.repeats,
                                   settings.max_seconds)
            except Exception as exc:
                row["error"] = error_text(exc)
                section.rows.append(row)
                continue
            row.update(latency_fields(timing, batch, flops, context))
            section.rows.append(row)
    section.notes.append("gflop = analytic model FLOPs per call (convolutions + attention)")
    if not settings.checkpoint:
        section.notes.append("random initial weights (speed does not depend on the weights)")
    return section
