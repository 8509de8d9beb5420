"""gi_tf against the authors' v1.0.0 graph, timed side by side in one process.

The authors' side is built by gi-parity's loader (:mod:`gi_tf.parity.original`) from the
user's checkouts (``--original``, ``--neuralgym``) and run under ``tf.compat.v1`` as their
``test.py`` / ``train.py`` run it. Both sides get random weights and the same inputs; each
case (``--original_cases``: ``generator:S``, ``inpaint:S``, ``training:SxB``) times the two
in interleaved rounds (:func:`~gi_tf.benchmarks.common.time_interleaved`), wall and process
CPU, ``ratio`` = gi_tf / original. What each case compares: docs/benchmarks.md, "Speed
beside the authors' graph".
"""

import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import centre_holes
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import parse_original_cases
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.common import time_interleaved
from gi_tf.benchmarks.generator import forward_function
from gi_tf.benchmarks.generator import make_generator
from gi_tf.benchmarks.training import CRITIC_STEPS
from gi_tf.benchmarks.training import build_loop
from gi_tf.inference.inpainter import Inpainter
from gi_tf.parity import original as original_lib

NAME = "original"
TITLE = "gi_tf vs the authors' v1.0.0 graph (same process, interleaved rounds)"
COLUMNS = ["case", "batch", "original_s", "gi_tf_s", "ratio", "original_cpu_s", "gi_tf_cpu_s",
           "cpu_ratio", "original_first_s", "gi_tf_first_s", "calls"]
DEFAULT_CASES = ("generator:256,inpaint:256,generator:512,inpaint:512,generator:1024,"
                 "inpaint:1024,training:256x4,training:256x16")
QUICK_CASES = "generator:64,inpaint:64,training:64x1"


def cases(settings):
    """The cases to run: ``--original_cases``, else the default (or quick) list."""
    if settings.original_cases:
        return parse_original_cases(settings.original_cases)
    return parse_original_cases(QUICK_CASES if settings.quick else DEFAULT_CASES)


# -- the two sides of each kind ------------------------------------------------------------


def _images(size, seed):
    """``(float RGB [-1, 1] [1,S,S,3], holes float [1,S,S,1])`` of the benchmark inputs."""
    return smooth_test_image(1, size, size, seed), centre_holes(1, size, size)


def generator_pair(original, generator, case, seed):
    """``(graph, theirs, ours)``: the authors' graph (to close) and zero-argument callables
    of one forward call each (results fetched to NumPy)."""
    image, holes = _images(case.size, seed)
    graph = original_lib.build_generator(original, 1, case.size, case.size, seed=seed)
    theirs_fn = graph.make_callable(["refined"], ["image", "mask"])
    bgr, mask = image[..., ::-1].copy(), holes[:1]
    forward = forward_function(generator, "function")
    image_t, holes_t = tf.constant(image), tf.constant(holes)
    return graph, (lambda: theirs_fn(bgr, mask)), (lambda: forward(image_t, holes_t).numpy())


def inpaint_pair(original, generator, case, seed):
    """``(graph, theirs, ours)``: ``test.py``'s server graph vs ``Inpainter.inpaint`` (uint8)."""
    image, holes = _images(case.size, seed)
    image_u8 = np.round((image[0] + 1.0) * 127.5).astype(np.uint8)
    mask_bool = holes[0, ..., 0] > 0.5
    joined = original_lib.server_input(image_u8[..., ::-1],
                                       np.repeat(mask_bool[..., None], 3, axis=2) * 255)
    graph = original_lib.build_server(original, case.size, case.size, seed=seed)
    theirs_fn = graph.make_callable(["result"], ["input_image"])
    inpainter = Inpainter.from_generator(generator)
    return graph, (lambda: theirs_fn(joined)), (lambda: inpainter.inpaint(image_u8, mask_bool))


def training_pair(original, case, seed, critic_steps):
    """``(graph, theirs, ours)`` of one training step (``critic_steps`` + 1 updates)."""
    _, loop, images = build_loop(case.size, case.batch, critic_steps, seed)
    iterator = iter(tf.data.Dataset.from_tensors(images).repeat())
    graph = original_lib.build_training_step(original, case.batch, image_size=case.size,
                                             seed=seed, optimizer=True)
    d_update = graph.make_callable(["d_update"], ["images"])
    g_update = graph.make_callable(["g_update"], ["images"])
    batch = (images.numpy() + 1.0) * 127.5  # the same images, in the authors' 0..255

    def theirs():
        for _ in range(critic_steps):
            d_update(batch)
        g_update(batch)

    return graph, theirs, (lambda: loop.run(iterator, 1))


# -- the section ---------------------------------------------------------------------------


def _skipped(section):
    section.notes.append("not run: pass --original=DIR (a checkout of "
                         "JiahuiYu/generative_inpainting at v1.0.0) and --neuralgym=DIR (a "
                         "checkout of JiahuiYu/neuralgym), as for gi-parity")
    return section


def _row(case, timings):
    theirs, ours = timings["original"], timings["gi_tf"]
    return {"case": case.name, "batch": case.batch,
            "original_s": theirs["median_s"], "gi_tf_s": ours["median_s"],
            "ratio": ours["median_s"] / theirs["median_s"],
            "original_cpu_s": theirs["cpu_s"], "gi_tf_cpu_s": ours["cpu_s"],
            "cpu_ratio": ours["cpu_s"] / theirs["cpu_s"] if theirs["cpu_s"] else None,
            "original_first_s": theirs["first_s"], "gi_tf_first_s": ours["first_s"],
            "calls": min(theirs["calls"], ours["calls"])}


def _progress(row):
    """One line per finished case (the table comes when the section ends)."""
    if "error" in row:
        return f"  original: {row['case']}, batch {row['batch']}: {row['error']}"
    return (f"  original: {row['case']}, batch {row['batch']}: gi_tf {row['gi_tf_s']:.3g} s, "
            f"authors' {row['original_s']:.3g} s per call (ratio {row['ratio']:.3g})")


def compare(case, make_pair, settings):
    """One row: build both sides with ``make_pair() -> (graph, theirs, ours)``, time them
    interleaved, close the authors' session; an ``error`` row if anything fails."""
    graph = None
    try:
        graph, theirs, ours = make_pair()
        timings = time_interleaved({"original": theirs, "gi_tf": ours}, settings.repeats,
                                   settings.max_seconds)
        return _row(case, timings)
    except Exception as exc:  # one case must not lose the others
        return {"case": case.name, "batch": case.batch, "error": error_text(exc)}
    finally:
        if graph is not None:
            graph.close()


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    if not settings.original and not settings.neuralgym:
        return _skipped(section)
    original_lib.hide_tf1_notices()
    try:
        original = original_lib.load(settings.original, settings.neuralgym)
    except (original_lib.CheckoutError, ImportError) as exc:
        # the whole message: it names each checkout that is wrong
        section.rows.append({"case": "load the authors' code",
                             "error": f"{type(exc).__name__}: {exc}"})
        return section
    critic_steps = 1 if settings.quick else CRITIC_STEPS
    generator = make_generator(settings)
    builders = {
        "generator": lambda c: generator_pair(original, generator, c, settings.seed),
        "inpaint": lambda c: inpaint_pair(original, generator, c, settings.seed),
        "training": lambda c: training_pair(original, c, settings.seed, critic_steps),
    }
    for case in cases(settings):
        row = compare(case, lambda: builders[case.kind](case), settings)
        section.rows.append(row)
        print(_progress(row), flush=True)  # a training case takes minutes
    commits = {name: (sha or "unknown")[:12] for name, sha in original.commits.items()}
    section.notes += [
        "ratio, cpu_ratio = gi_tf / original wall and process-CPU time per call (< 1: gi_tf "
        "faster); both sides timed in interleaved rounds after one first call each",
        f"training: {critic_steps} critic updates + 1 generator update per step, Adam on "
        "both sides; box hole S/2, as released at 256",
        "random weights on both sides (speed does not depend on them); authors' checkouts: "
        + ", ".join(f"{name} {sha}" for name, sha in commits.items()),
    ]
    return section
