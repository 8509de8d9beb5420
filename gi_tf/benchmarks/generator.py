"""Generator forward latency: 256^2 and 512^2, batch 1 and 8, eager / tf.function / XLA,
and the user path around it (``inpainter``).

Latency is per call (the whole batch); ``ms_per_image`` divides by the batch. The model
FLOPs (:mod:`gi_tf.benchmarks.flops`) turn the latency into GFLOP/s and a fraction of
the run's matmul yardstick. ``first_ms`` is the first call alone (tracing, and for XLA
compilation).

Mode ``inpainter`` is ``Inpainter.from_generator(generator).inpaint(image, mask)`` on the
same inputs as uint8 RGB and a bool mask (window ``"auto"``, no attention map): the NumPy
checks, the plan's path choice, uint8 -> float, padding, the paste and the copies around
the same network. It is timed in rounds interleaved with ``function``
(:func:`gi_tf.benchmarks.common.time_interleaved`), and ``vs_function`` /
``cpu_vs_function`` are its wall / process-CPU time over the bare ``tf.function`` call's
in those rounds: the cost of everything around the network.
"""

import keras
import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import centre_holes
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import latency_fields
from gi_tf.benchmarks.common import parse_cases
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.common import time_call
from gi_tf.benchmarks.common import time_interleaved
from gi_tf.benchmarks.flops import generator_flops
from gi_tf.inference.inpainter import Inpainter
from gi_tf.models import build_generator
from gi_tf.models.checkpoints import load_generator

NAME = "generator"
TITLE = "generator forward latency (random inputs, centred hole)"
COLUMNS = ["size", "batch", "mode", "first_ms", "median_ms", "ms_per_image", "gflop",
           "gflops", "of_matmul", "vs_function", "cpu_vs_function", "calls"]
MODES = ("eager", "function", "xla", "inpainter")
# Timed together, in interleaved rounds (their ratio is the figure).
INTERLEAVED = ("function", "inpainter")


def cases(quick, selected=""):
    """``(size, batch)`` pairs: ``selected`` (``--generator_cases``) if given."""
    if selected:
        return parse_cases(selected, "generator")
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


def inpainter_call(generator, image, holes):
    """``fn()``: :meth:`Inpainter.inpaint` on ``image``/``holes`` as uint8 RGB and bool."""
    inpainter = Inpainter.from_generator(generator)
    image = np.round((np.asarray(image) + 1.0) * 127.5).astype(np.uint8)
    mask = np.asarray(holes)[..., 0] > 0.5
    return lambda: inpainter.inpaint(image, mask)


def timed_calls(generator, image, holes, settings):
    """``{mode: timing}`` of :data:`MODES` (:data:`INTERLEAVED` in common rounds), or
    ``{mode: exception}`` where a mode failed."""
    timings = {}
    for mode in MODES:
        if mode in INTERLEAVED:
            continue
        try:
            fn = forward_function(generator, mode)
            timings[mode] = time_call(lambda: fn(image, holes).numpy(), settings.repeats,
                                      settings.max_seconds)
        except Exception as exc:
            timings[mode] = exc
    try:
        function = forward_function(generator, "function")
        calls = {"function": lambda: function(image, holes).numpy(),
                 "inpainter": inpainter_call(generator, image, holes)}
        timings.update(time_interleaved(calls, settings.repeats, settings.max_seconds))
    except Exception as exc:
        timings.update(dict.fromkeys(INTERLEAVED, exc))
    return timings


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    generator = make_generator(settings)
    for size, batch in cases(settings.quick, settings.generator_cases):
        image, holes = inputs(batch, size, settings.seed)
        flops = generator_flops(generator, batch, size, size)["total"]
        timings = timed_calls(generator, image, holes, settings)
        base = timings["function"]
        for mode in MODES:
            row = {"size": f"{size}x{size}", "batch": batch, "mode": mode, "gflop": flops / 1e9}
            timing = timings[mode]
            if isinstance(timing, Exception):
                row["error"] = error_text(timing)
                section.rows.append(row)
                continue
            row.update(latency_fields(timing, batch, flops, context))
            if mode in INTERLEAVED and not isinstance(base, Exception):
                row["vs_function"] = timing["median_s"] / base["median_s"]
                row["cpu_vs_function"] = timing["cpu_s"] / base["cpu_s"]
            section.rows.append(row)
    section.notes.append("gflop = analytic model FLOPs per call (convolutions + attention)")
    section.notes.append("inpainter = Inpainter.from_generator(generator).inpaint(uint8 image, "
                         "bool mask), window auto; vs_function / cpu_vs_function: wall / CPU "
                         "time over function's, in interleaved rounds")
    if not settings.checkpoint:
        section.notes.append("random initial weights (speed does not depend on the weights)")
    return section
