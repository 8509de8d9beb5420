"""Opt-in faster inference against the faithful float32 path: XLA and bfloat16.

Variants, all under ``tf.function`` on the same inputs and weights:

* ``fp32``: the default and faithful path (the reference of this table);
* ``fp32+xla``: the same graph compiled with XLA (``jit_compile=True``);
* ``bf16``: the generator built with the ``mixed_bfloat16`` dtype policy (weights stay
  float32, convolutions run in bfloat16; the attention itself still computes in
  float32, see :class:`gi_tf.layers.ContextualAttention`);
* ``bf16+xla``: both.

Speed-up = fp32 median latency / variant median latency. The change in output is the
refined image's difference from fp32 inside the hole, in 8-bit levels
(``|a - b| * 127.5``), mean and max, plus the fraction of attention offsets that differ.
"""

import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import centre_holes
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.common import time_call
from gi_tf.benchmarks.generator import make_generator

NAME = "precision"
TITLE = "bfloat16 / XLA inference vs float32 (batch 1, tf.function)"
COLUMNS = ["size", "variant", "median_ms", "speedup", "mean_levels", "max_levels",
           "offsets_changed"]
VARIANTS = {"fp32": (None, False), "fp32+xla": (None, True),
            "bf16": ("mixed_bfloat16", False), "bf16+xla": ("mixed_bfloat16", True)}


def sizes(quick):
    return [32] if quick else [256, 512]


def hole_level_difference(refined, reference, holes):
    """(mean, max) of ``|refined - reference| * 127.5`` over hole pixels (all channels)."""
    diff = np.abs(np.asarray(refined, np.float64) - np.asarray(reference, np.float64)) * 127.5
    in_hole = np.broadcast_to(np.asarray(holes) > 0.5, diff.shape)
    values = diff[in_hole]
    return float(values.mean()), float(values.max())


def _generators(settings):
    """``{dtype policy: generator}`` sharing one set of weights."""
    reference = make_generator(settings)
    low = make_generator(settings, dtype="mixed_bfloat16")
    low.set_weights(reference.get_weights())
    return {None: reference, "mixed_bfloat16": low}


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    generators = _generators(settings)
    for size in sizes(settings.quick):
        image = tf.constant(smooth_test_image(1, size, size, settings.seed))
        holes_np = centre_holes(1, size, size)
        holes = tf.constant(holes_np)
        reference = None
        for variant, (policy, xla) in VARIANTS.items():
            row = {"size": f"{size}x{size}", "variant": variant}
            generator = generators[policy]
            fn = tf.function(lambda x, m, g=generator: g(x, m)[1:], jit_compile=xla)
            try:
                outputs = {}

                def call(fn=fn, outputs=outputs):
                    refined, offsets = fn(image, holes)
                    outputs["refined"] = tf.cast(refined, tf.float32).numpy()
                    outputs["offsets"] = offsets.numpy()

                timing = time_call(call, settings.repeats, settings.max_seconds)
            except Exception as exc:
                row["error"] = error_text(exc)
                section.rows.append(row)
                continue
            if reference is None:
                reference = dict(outputs, seconds=timing["median_s"])
            mean, worst = hole_level_difference(outputs["refined"], reference["refined"], holes_np)
            changed = np.any(outputs["offsets"] != reference["offsets"], axis=-1).mean()
            row.update({"median_ms": 1000 * timing["median_s"],
                        "speedup": reference["seconds"] / timing["median_s"],
                        "mean_levels": mean, "max_levels": worst,
                        "offsets_changed": float(changed)})
            section.rows.append(row)
    section.notes.append("levels: 8-bit units (1 level = 1/255 of the range); "
                         "fp32 is the reference")
    if not settings.checkpoint:
        section.notes.append("random initial weights: output changes of a trained model may differ")
    return section
