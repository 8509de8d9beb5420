"""Large photos end to end: the windowed path, the whole-image path, their exactness.

Every case runs ``Inpainter.inpaint`` (uint8 in and out) on a smooth synthetic photo in a
fresh process after an untimed warm-up: ``unit`` (512x512, whole image, the time other rows
are divided by), ``hd_hole`` and ``12mp_hole`` (windowed), ``hd_strokes`` (strokes over the
whole image, against its FLOP floor) and ``exactness`` (windowed vs the full computation),
then the same through an exported SavedModel (rows ``sm_*``). Peak memory is measured as
:mod:`gi_tf.benchmarks.memory` does and compared with the plan's estimate (``est_mb``);
``--quick`` shrinks every size and runs in-process. The columns: docs/benchmarks.md,
"Large photos end to end".
"""

import dataclasses
import functools
import json
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import BenchSettings
from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.generator import make_generator
from gi_tf.benchmarks.memory import _peak_resident_bytes
from gi_tf.benchmarks.memory import _PeakMeter
from gi_tf.benchmarks.memory import chunk_count
from gi_tf.benchmarks.memory import run_child_module
from gi_tf.data.brush_strokes import free_form_mask
from gi_tf.inference import windowed
from gi_tf.inference.export import export_generator
from gi_tf.inference.inpainter import Inpainter
from gi_tf.inference.preprocessing import padded_size
from gi_tf.inference.windowed import plan as plan_lib
from gi_tf.inference.windowed import run as windowed_run
from gi_tf.models.config import ModelConfig

NAME = "large"
TITLE = "large photos end to end (Inpainter.inpaint, fresh process per case, batch 1)"
COLUMNS = ["case", "image", "holes", "path", "seconds", "vs_unit", "floor_s", "vs_floor",
           "peak_mb", "est_mb", "est/peak", "process_mb", "goal", "check"]
RESULT_PREFIX = "LARGE_RESULT "
WARMUP_SIZE = 64


def cases(quick):
    """``(name, height, width, mask, window, goal, source)`` rows, each unit first."""
    if quick:  # tiny sizes: "on" forces the windowed path the full sizes take by "auto"
        rows = [("unit", 64, 64, ("box", 32), "off", ""),
                ("hd_hole", 136, 240, ("box", 32), "on", ""),
                ("12mp_hole", 304, 400, ("box", 64), "auto", ""),
                ("hd_strokes", 136, 240, ("strokes", 0), "auto", ""),
                ("exactness", 96, 128, ("several", 0), "on", "")]
        saved = [("sm_unit", 64, 64, ("box", 32), "auto", ""),
                 ("sm_hd_hole", 136, 240, ("box", 32), "on", "")]
    else:
        rows = [("unit", 512, 512, ("box", 256), "off", "the unit"),
                ("hd_hole", 1080, 1920, ("box", 256), "auto", "<= 4x unit, <= 2 GB"),
                ("12mp_hole", 3000, 4000, ("box", 512), "auto", "<= 4 GB"),
                ("hd_strokes", 1080, 1920, ("strokes", 0), "auto", "<= 1.5x floor"),
                ("exactness", 768, 1024, ("several", 0), "on",
                 "<= 1e-4 float, <= 1 level, known exact")]
        saved = [("sm_unit", 512, 512, ("box", 256), "auto", "the SavedModel's unit"),
                 ("sm_hd_hole", 1080, 1920, ("box", 256), "auto", "<= 4x sm_unit, <= 2 GB"),
                 ("sm_12mp_hole", 3000, 4000, ("box", 512), "auto",
                  "completes, <= 1.5x floor, <= 4 GB"),
                 ("sm_hd_strokes", 1080, 1920, ("strokes", 0), "auto", "<= 1.5x floor")]
    return ([row + ("checkpoint",) for row in rows]
            + [row + ("saved_model",) for row in saved])


def make_holes(mask, height, width, seed=0):
    """bool ``[N, H, W]`` holes of a case (N = 2 for ``"several"``, else 1).

    ``("box", s)``: a centred s x s box. ``("strokes", _)``: the union of eight draws of
    :func:`gi_tf.data.brush_strokes.free_form_mask` (up to 3 strokes each, 4/256 to 12/256
    of the shorter side wide), spread over the whole image (about 30 % of the pixels, 58 %
    of the background patches hole-free at 1920x1080). ``("several", _)``: sample 0 has
    three boxes (one touching the bottom border), sample 1 strokes drawn in the top-left
    quarter and a box at the right border.
    """
    kind, size = mask
    holes = np.zeros((1, height, width), bool)
    if kind == "box":
        top, left = (height - size) // 2, (width - size) // 2
        holes[0, top:top + size, left:left + size] = True
        return holes
    if kind == "strokes":
        for i in range(8):
            drawn = free_form_mask(1, height, width, seed=[seed, i], max_strokes=3,
                                   min_stroke_width=4 / 256, max_stroke_width=12 / 256)
            holes |= np.asarray(drawn)[..., 0] > 0.5
        return holes
    if kind == "several":
        holes = np.zeros((2, height, width), bool)
        h, w = height // 16, width // 16
        holes[0, 2 * h:4 * h, 2 * w:4 * w] = True
        holes[0, 9 * h:11 * h, 12 * w:15 * w] = True
        holes[0, 14 * h:, 5 * w:7 * w] = True
        quarter = np.asarray(free_form_mask(1, height // 2, width // 2, seed=[seed, 99]))
        holes[1, :height // 2, :width // 2] = quarter[0, ..., 0] > 0.5
        holes[1, 6 * h:9 * h, 14 * w:] = True
        return holes
    raise ValueError(f"unknown mask kind {kind!r}")


@functools.lru_cache(maxsize=1)
def _cached_inpainter(settings_json, source):
    return _inpainter(json.loads(settings_json), source)


def _inpainter(settings_dict, source="checkpoint"):
    """An Inpainter on the bench's generator (trained weights if a checkpoint is given): in
    memory (``"checkpoint"``, as ``Inpainter.from_checkpoint``), or a SavedModel directory
    that :func:`export_for_cases` wrote (reloaded as ``Inpainter.load`` does)."""
    if source != "checkpoint":
        return Inpainter.load(source)
    settings = BenchSettings(**settings_dict)
    generator = make_generator(settings, attention_chunk_elements=settings.chunk_elements)
    return Inpainter.from_generator(generator)


def export_for_cases(settings):
    """Export the bench's generator once (the SavedModel rows load it in their process)."""
    generator = make_generator(settings, attention_chunk_elements=settings.chunk_elements)
    return export_generator(generator, ModelConfig(use_attention=generator.use_attention),
                            tempfile.mkdtemp(prefix="gi_bench_export_"), max_request_gb=None)


def _path(inpainter, holes, window):
    """What ``window`` makes the pipeline run: ``(description, FLOPs, estimated bytes)``."""
    cost = inpainter.plan(holes.shape, holes, window)
    if cost["windowed"]:
        share = cost["windowed_flops"] / cost["whole_flops"]
        return (f"windowed: {int(cost['windows'])} window(s), {share:.0%} of the full FLOPs",
                cost["flops"], cost["peak_bytes"])
    height, width = (padded_size(n) for n in holes.shape)
    chunks = chunk_count(height, width, request_chunk_elements(inpainter))
    path = "whole image" + (f", attention in {chunks} chunks" if chunks > 1 else "")
    return path, cost["flops"], cost["peak_bytes"]


def measure(request):
    """In this process: one case's time, memory and path (see the module docstring)."""
    settings = request["settings"]
    inpainter = _cached_inpainter(json.dumps(settings, sort_keys=True),
                                  request.get("source", "checkpoint"))
    height, width, window = request["height"], request["width"], request["window"]
    holes = make_holes(tuple(request["mask"]), height, width, settings["seed"])
    image = np.round((smooth_test_image(1, height, width, settings["seed"]) + 1) * 127.5)
    image = image.astype(np.uint8)[0]
    warm = np.zeros((WARMUP_SIZE, WARMUP_SIZE, 3), np.uint8)
    warm_holes = np.zeros((WARMUP_SIZE, WARMUP_SIZE), bool)
    warm_holes[16:32, 16:32] = True
    for mode in ("off", "on"):  # the first calls of both paths (graph optimisation)
        inpainter.inpaint(warm, warm_holes, window=mode)
    path, flops, estimate = _path(inpainter, holes[0], window)
    meter = _PeakMeter(bool(tf.config.list_logical_devices("GPU")))
    times, peak = [], None
    budget = time.perf_counter()
    while not times or (len(times) < request["repeats"]
                        and time.perf_counter() - budget < request["max_seconds"]):
        meter.start()
        start = time.perf_counter()
        inpainter.inpaint(image, holes[0], window=window)
        times.append(time.perf_counter() - start)
        if peak is None:
            peak = meter.peak()
    return {"path": path, "flops": flops, "estimate_bytes": estimate,
            "seconds": float(np.median(times)),
            "calls": len(times), "peak_bytes": peak, "process_bytes": _peak_resident_bytes(),
            "hole_fraction": float(holes.mean())}


def exactness(request):
    """In this process: windowed vs full on a batch of two masks (float32 and uint8)."""
    settings = request["settings"]
    inpainter = _cached_inpainter(json.dumps(settings, sort_keys=True), "checkpoint")
    generator = inpainter.generator
    height, width = request["height"], request["width"]
    holes = make_holes(tuple(request["mask"]), height, width, settings["seed"])
    images = np.round((smooth_test_image(2, height, width, settings["seed"]) + 1) * 127.5)
    images = images.astype(np.uint8)
    float_images = images.astype(np.float32) / 127.5 - 1.0
    windowed = tf.function(lambda image, holes: windowed_run.run_network(
        generator, image, holes, "on")[0])
    max_abs = 0.0
    for image, hole in zip(float_images, holes):
        hole_f = hole[None, ..., None].astype(np.float32)
        _, full, _ = generator(image[None], hole_f)
        refined = windowed(image[None], hole_f)
        max_abs = max(max_abs, float(np.abs(np.asarray(refined)[0][hole]
                                            - np.asarray(full)[0][hole]).max()))
    start = time.perf_counter()
    full_u8 = inpainter.inpaint(images, holes, window="off")
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    win_u8 = inpainter.inpaint(images, holes, window="on")
    win_s = time.perf_counter() - start
    levels = int(np.abs(win_u8.astype(int) - full_u8).max())
    known_exact = bool(np.array_equal(win_u8[~holes], images[~holes]))
    windows = [int(tf.shape(plan_lib.make_plan(generator, tf.constant(h)).windows.hole)[0])
               for h in holes]
    return {"max_abs": max_abs, "max_levels": levels, "known_exact": known_exact,
            "full_seconds": full_s, "windowed_seconds": win_s, "windows": windows,
            "hole_fraction": float(holes.mean())}


def run_case(kind, request, fresh_process=True):
    """:func:`measure` or :func:`exactness`, in a fresh interpreter (or in this one)."""
    if not fresh_process:
        return (measure if kind == "measure" else exactness)(request)
    return run_in_subprocess(kind, request)


def run_in_subprocess(kind, request):
    """:func:`measure` or :func:`exactness` in a fresh interpreter; returns its dict."""
    return run_child_module("gi_tf.benchmarks.large", [kind, json.dumps(request)],
                            RESULT_PREFIX)


def request_chunk_elements(inpainter):
    """The whole-image attention's chunk bound of an Inpainter (checkpoint or SavedModel)."""
    if inpainter.generator is not None:
        return inpainter.generator.attention_chunk_elements or 2**62
    info_path = inpainter.source + "/assets.extra/export_info.json"
    with open(info_path) as f:
        return json.load(f).get("attention_chunk_elements") or 2**62


def _holes_text(mask, fraction):
    kind, size = mask
    if kind == "box":
        return f"{size}x{size} box"
    if kind == "strokes":
        return f"strokes, {fraction:.0%} of pixels"
    return f"2 samples: 3 boxes | strokes + box ({fraction:.0%})"


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    gflops = context.get("matmul_gflops")
    fresh = not settings.quick  # --quick: in this process (a smoke test of the code paths)
    units, exported = {}, None
    selected = [case for case in cases(settings.quick) if not settings.large_cases
                or case[0] in settings.large_cases.split(",")]
    for name, height, width, mask, window, goal, source in selected:
        request = {"settings": dataclasses.asdict(settings), "height": height, "width": width,
                   "mask": list(mask), "window": window, "repeats": settings.repeats,
                   "max_seconds": settings.max_seconds, "source": source}
        unit = units.get(source)
        row = {"case": name, "image": f"{width}x{height}", "goal": goal}
        try:
            if source == "saved_model":
                exported = exported or export_for_cases(settings)
                request["source"] = exported
            if name == "exactness":
                result = run_case("exactness", request, fresh)
                row.update({
                    "holes": _holes_text(mask, result["hole_fraction"]),
                    "path": f"windowed ({'+'.join(map(str, result['windows']))} windows) "
                            "vs whole image",
                    "seconds": result["windowed_seconds"],
                    "vs_unit": result["windowed_seconds"] / unit if unit else None,
                    "check": (f"max |float diff| {result['max_abs']:.2g}, "
                              f"max {result['max_levels']} level(s), known pixels "
                              f"{'exact' if result['known_exact'] else 'CHANGED'}; whole "
                              f"image {result['full_seconds']:.1f} s")})
                section.rows.append(row)
                continue
            result = run_case("measure", request, fresh)
        except Exception as exc:
            row["error"] = error_text(exc)
            section.rows.append(row)
            continue
        if name.endswith("unit"):
            unit = units[source] = result["seconds"]
        floor = result["flops"] / (gflops * 1e9) if gflops else None
        row.update({"holes": _holes_text(mask, result["hole_fraction"]), "path": result["path"],
                    "seconds": result["seconds"],
                    "vs_unit": result["seconds"] / unit if unit else None,
                    "floor_s": floor, "vs_floor": result["seconds"] / floor if floor else None,
                    "peak_mb": result["peak_bytes"] / 2**20,
                    "est_mb": result["estimate_bytes"] / 2**20,
                    "est/peak": (result["estimate_bytes"] / result["peak_bytes"]
                                 if result["peak_bytes"] else None),
                    "process_mb": result["process_bytes"] / 2**20,
                    "check": f"{result['calls']} timed call(s)"})
        section.rows.append(row)
    section.notes.append("vs_unit = seconds / the unit row's seconds (same run; sm_* rows: "
                         "sm_unit's); floor_s = analytic FLOPs of the path taken / the "
                         "yardstick's float32 matmul rate")
    section.notes.append("est_mb = the plan's estimate of the request's peak working memory "
                         "(what gi-export --max_request_gb bounds)")
    section.notes.append("peak_mb = peak memory of the first timed call over the memory "
                         "before it; process_mb = the process's peak (model, TF runtime)")
    if not fresh:
        section.notes.append("--quick: every case in this process (memory figures "
                             "accumulate); the full run uses a fresh process per case")
    if not settings.checkpoint:
        section.notes.append("random initial weights (speed does not depend on the weights)")
    return section


def _child_main(argv):
    kind, request = argv[1], json.loads(argv[2])
    result = measure(request) if kind == "measure" else exactness(request)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    _child_main(sys.argv)
