"""SavedModel latency: export with ``gi_tf.inference.export``, reload, time ``serving_default``.

The exported signature is what TF Serving and ``gi-inpaint`` run: uint8 RGB image and
uint8 mask in, uint8 inpainted image and attention map out (pre- and post-processing
included). ``first_ms`` is the first call after loading (graph optimisation, kernel
set-up) and is reported apart from the steady-state median.
"""

import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import centre_holes
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import latency_fields
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.common import time_call
from gi_tf.benchmarks.flops import generator_flops
from gi_tf.benchmarks.generator import make_generator

NAME = "saved_model"
TITLE = "SavedModel serving_default (uint8 in/out), export + reload"
COLUMNS = ["size", "batch", "first_ms", "median_ms", "ms_per_image", "gflops", "of_matmul",
           "calls"]
SIGNATURE = "serving_default"


def cases(quick):
    if quick:
        return [(32, 1)]
    return [(256, 1), (256, 8), (512, 1), (512, 8)]


def export_and_load(generator, directory):
    """Export with :func:`gi_tf.inference.export.export_generator`.

    Returns:
        ``(signature, export_s, load_s)``.
    """
    try:
        # lazy: an import failure becomes this section's error row
        from gi_tf.inference.export import export_generator
        from gi_tf.models.config import ModelConfig  # lazy: loaded with its section
    except ImportError as exc:
        raise RuntimeError(f"gi_tf.inference.export is unavailable ({exc})") from exc
    start = time.perf_counter()
    path = export_generator(generator, ModelConfig(), directory, version=1)
    exported = time.perf_counter() - start
    start = time.perf_counter()
    loaded = tf.saved_model.load(path)
    return loaded, loaded.signatures[SIGNATURE], exported, time.perf_counter() - start


def uint8_inputs(batch, size, seed):
    image = np.round((smooth_test_image(batch, size, size, seed) + 1.0) * 127.5).astype("uint8")
    mask = (centre_holes(batch, size, size) * 255).astype("uint8")
    return tf.constant(image), tf.constant(mask)


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    generator = make_generator(settings, attention_chunk_elements=settings.chunk_elements)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            loaded, serve, export_s, load_s = export_and_load(generator, os.path.join(tmp, "m"))
        except Exception as exc:
            section.rows.append({"error": f"export failed: {error_text(exc)}"})
            return section
        section.notes.append(f"export {export_s:.1f} s, tf.saved_model.load {load_s:.1f} s")
        for size, batch in cases(settings.quick):
            row = {"size": f"{size}x{size}", "batch": batch}
            image, mask = uint8_inputs(batch, size, settings.seed)
            try:
                timing = time_call(
                    lambda: {k: v.numpy() for k, v in serve(image=image, mask=mask).items()},
                    settings.repeats, settings.max_seconds)
            except Exception as exc:
                row["error"] = error_text(exc)
                section.rows.append(row)
                continue
            flops = generator_flops(generator, batch, size, size)["total"]
            row.update(latency_fields(timing, batch, flops, context))
            section.rows.append(row)
        del loaded
    return section
