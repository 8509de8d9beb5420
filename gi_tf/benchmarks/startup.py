"""gi-bench ``startup``: process start to the first result, ``gi-export``'s wall time, ops per
signature, and an export's first request with and without TF Serving's warm-up replay.

Every figure is a fresh process (``sys.executable``): the interpreter, TensorFlow's import,
the model load and the first call's graph optimisation, as a user or server pays them once.
Variants run in rounds (A, B, C, A, B, C, ...; ``--repeats``, 1 with ``--quick``) so load
touches them alike; ``vs`` is the median over rounds of a row's time over its
:data:`REFERENCE` row's in the same round. Rows: ``gi-export``; ``gi-inpaint export`` /
``checkpoint`` on one 512² image (64² quick), split by gi-inpaint's own timing line;
``first request`` (``python -m gi_tf.benchmarks.startup``: load, optionally replay
``assets.extra/tf_serving_warmup_requests``, time a first and a second request); ``ops
<signature>`` (:func:`gi_tf.inference.graph_size.signature_op_counts`).
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.utils import files
from gi_tf.utils import image_io

NAME = "startup"
TITLE = "start-up: process start to first result, gi-export, ops, TF Serving warm-up"
COLUMNS = ["measure", "runs", "median_s", "min_s", "max_s", "vs", "before_load_s", "load_s",
           "replay_s", "call_s", "next_s", "ops"]
FULL_SIZE = 512
QUICK_SIZE = 64
TIMEOUT_S = 1800
# The measured variants, in the order each round runs them.
EXPORT = "gi-export"
INPAINT_EXPORT = "gi-inpaint export"
INPAINT_CHECKPOINT = "gi-inpaint checkpoint"
FIRST = "first request"
FIRST_WARM = "first request after warm-up"
VARIANTS = (EXPORT, INPAINT_EXPORT, INPAINT_CHECKPOINT, FIRST, FIRST_WARM)
# A row's ``vs`` reference (same round).
REFERENCE = {INPAINT_EXPORT: INPAINT_CHECKPOINT, FIRST_WARM: FIRST}
# What each variant's main figure is.
FIGURE = {EXPORT: "wall_s", INPAINT_EXPORT: "wall_s", INPAINT_CHECKPOINT: "wall_s",
          FIRST: "call_s", FIRST_WARM: "call_s"}
RESULT_TAG = "GI_BENCH_STARTUP "

_JOB_RE = re.compile(r"([0-9.]+) s reading, inpainting, writing")
_LOAD_RE = re.compile(r"model load ([0-9.]+) s")
_PROCESS_RE = re.compile(r"process ([0-9.]+) s so far")


def commands(checkpoint, export_base, model, image, mask, output_dir, version_dir, size):
    """``{variant: argv}`` of :data:`VARIANTS` (``export_base``: where this round's
    ``gi-export`` writes; ``model``: the export ``gi-inpaint`` reads; ``version_dir``: the
    SavedModel the first-request runs load)."""
    python = sys.executable
    inpaint = [python, "-m", "gi_tf.cli.inpaint", f"--image={image}", f"--mask={mask}"]
    first = [python, "-m", "gi_tf.benchmarks.startup", version_dir, str(size)]
    return {
        EXPORT: [python, "-m", "gi_tf.cli.export", f"--checkpoint={checkpoint}",
                 f"--export_dir={export_base}"],
        INPAINT_EXPORT: inpaint + [f"--model={model}",
                                   f"--output={output_dir}/export.png"],
        INPAINT_CHECKPOINT: inpaint + [f"--model={checkpoint}",
                                       f"--output={output_dir}/checkpoint.png"],
        FIRST: first + ["none"],
        FIRST_WARM: first + ["replay"],
    }


def parse_inpaint_output(text):
    """``{"before_load_s", "load_s", "call_s"}`` from gi-inpaint's timing line (None where
    it is missing): ``"... (1.40 s reading, inpainting, writing (+ model load 5.2 s;
    process 9.8 s so far, ...))"``; ``before_load_s`` = process - load - call."""
    found = {}
    for key, pattern in (("call_s", _JOB_RE), ("load_s", _LOAD_RE), ("process", _PROCESS_RE)):
        match = pattern.search(text)
        found[key] = float(match.group(1)) if match else None
    process = found.pop("process")
    parts = (process, found["load_s"], found["call_s"])
    found["before_load_s"] = (None if None in parts
                              else round(max(0.0, parts[0] - parts[1] - parts[2]), 3))
    return found


def parse_result_line(text):
    """The dict a first-request process printed (its last :data:`RESULT_TAG` line)."""
    lines = [line for line in text.splitlines() if line.startswith(RESULT_TAG)]
    if not lines:
        raise ValueError("no result line in the output")
    return json.loads(lines[-1][len(RESULT_TAG):])


def run_process(argv, timeout=TIMEOUT_S):
    """``(wall seconds, stdout + stderr)`` of ``argv``; RuntimeError with its last lines
    when it fails or runs past ``timeout``."""
    name = argv[2] if argv[1:2] == ["-m"] else " ".join([os.path.basename(argv[0])] + argv[1:2])
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{name} ran past {timeout} s") from None
    seconds = time.perf_counter() - start
    text = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        tail = text.strip().splitlines()[-3:]
        raise RuntimeError(f"{name} exited {done.returncode}: " + " | ".join(tail))
    return seconds, text


def measure(variant, argv):
    """One run of ``variant``: ``{"wall_s", ...}`` with its parsed parts."""
    seconds, text = run_process(argv)
    result = {"wall_s": seconds}
    if variant in (INPAINT_EXPORT, INPAINT_CHECKPOINT):
        result.update(parse_inpaint_output(text))
    elif variant in (FIRST, FIRST_WARM):
        result.update(parse_result_line(text))
    return result


def paired_ratio(values, references):
    """Median over rounds of ``values[i] / references[i]`` (rounds where both exist)."""
    ratios = [v / r for v, r in zip(values, references) if v is not None and r]
    return statistics.median(ratios) if ratios else None


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary_rows(runs):
    """Table rows of ``{variant: [run dict]}`` (a variant that failed: ``{"error": ...}``)."""
    rows = []
    for variant in VARIANTS:
        measured = runs.get(variant)
        if measured is None:
            continue
        if isinstance(measured, dict):
            rows.append({"measure": variant, "error": measured["error"]})
            continue
        figures = [r[FIGURE[variant]] for r in measured]
        row = {"measure": variant, "runs": len(measured), "median_s": _median(figures),
               "min_s": min(figures), "max_s": max(figures)}
        for key in ("before_load_s", "load_s", "replay_s", "call_s", "next_s"):
            if any(key in r for r in measured):
                row[key] = _median([r.get(key) for r in measured])
        reference = runs.get(REFERENCE.get(variant))
        if isinstance(reference, list):
            key = FIGURE[variant]
            row["vs"] = paired_ratio(figures, [r[key] for r in reference])
        rows.append(row)
    return rows


def ready_ratio(runs):
    """Median over rounds of (load + replay + first request) / (load + first request): how
    much longer a version takes to be ready and answer once with the warm-up replayed."""
    warm, cold = runs.get(FIRST_WARM), runs.get(FIRST)
    if not (isinstance(warm, list) and isinstance(cold, list)):
        return None
    return paired_ratio([r["load_s"] + r["replay_s"] + r["call_s"] for r in warm],
                        [r["load_s"] + r["call_s"] for r in cold])


def write_inputs(directory, size, seed=0):
    """A smooth ``size``² RGB image and its mask (a centred box of half each side) as PNGs;
    returns ``(image path, mask path)``."""
    image = ((smooth_test_image(1, size, size, seed)[0] + 1.0) * 127.5).round().astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    mask[size // 4:size // 4 + size // 2, size // 4:size // 4 + size // 2] = 255
    paths = os.path.join(directory, "image.png"), os.path.join(directory, "mask.png")
    image_io.write_image_atomic(paths[0], image)
    image_io.write_image_atomic(paths[1], mask)
    return paths


def section_checkpoint(settings, directory):
    """``settings.checkpoint``, else the bench generator (seeded) saved in ``directory``."""
    if settings.checkpoint:
        return settings.checkpoint
    # lazy: TensorFlow start-up
    from gi_tf.benchmarks.generator import make_generator
    from gi_tf.models.checkpoints import save_generator
    from gi_tf.models.config import ModelConfig

    return save_generator(make_generator(settings), directory, ModelConfig())


def run_rounds(argvs, rounds, printer=None):
    """Run ``argvs()`` (``round -> {variant: argv}``) ``rounds`` times, variants in
    :data:`VARIANTS` order each round; returns ``{variant: [run] or {"error"}}``. A variant
    that fails is not run again; one that needs the export is skipped if it failed."""
    runs = {}
    for index in range(rounds):
        for variant, argv in argvs(index).items():
            if isinstance(runs.get(variant), dict):
                continue
            if variant not in (EXPORT, INPAINT_CHECKPOINT) and not isinstance(
                    runs.get(EXPORT), list):
                runs[variant] = {"error": "no export (gi-export failed)"}
                continue
            try:
                runs.setdefault(variant, []).append(measure(variant, argv))
            except Exception as exc:
                runs[variant] = {"error": error_text(exc)}
            if printer:
                printer(f"  startup round {index + 1}/{rounds}: {variant} done")
    return runs


def run(settings, context):
    # lazy: TensorFlow start-up
    from gi_tf.inference.graph_size import signature_op_counts

    section = Section(NAME, TITLE, COLUMNS)
    rounds = 1 if settings.quick else settings.repeats
    size = QUICK_SIZE if settings.quick else FULL_SIZE
    with tempfile.TemporaryDirectory(prefix="gi_tf_bench_startup_") as tmp:
        try:
            checkpoint = section_checkpoint(settings, os.path.join(tmp, "ckpt"))
            image, mask = write_inputs(tmp, size, settings.seed)
        except Exception as exc:
            section.rows.append({"error": f"checkpoint or inputs failed: {error_text(exc)}"})
            return section
        first_export = os.path.join(tmp, "export0")
        output_dir = os.path.join(tmp, "out")
        files.makedirs(output_dir)
        # One untimed process first, so no variant pays for a cold disk cache alone.
        try:
            run_process([sys.executable, "-c", "import gi_tf.inference.inpainter"])
        except RuntimeError:
            pass
        runs = run_rounds(lambda i: commands(
            checkpoint, os.path.join(tmp, f"export{i}"), first_export, image, mask,
            output_dir, os.path.join(first_export, "1"), size), rounds)
        section.rows.extend(summary_rows(runs))
        if isinstance(runs.get(EXPORT), list):
            try:
                counts = signature_op_counts(os.path.join(first_export, "1"))
                section.rows.extend({"measure": f"ops {key}", "ops": value}
                                    for key, value in counts.items())
            except Exception as exc:
                section.rows.append({"measure": "ops", "error": error_text(exc)})
    ready = ready_ratio(runs)
    section.notes += [
        f"{rounds} round(s), variants alternated in the order of the table; {size}² image "
        "with a centred hole of half each side; every figure a fresh process "
        f"({os.path.basename(sys.executable)}); "
        + ("--checkpoint's weights" if settings.checkpoint else "seeded random weights"),
        "median/min/max: gi-export and gi-inpaint start to exit; first request: the first "
        "serving_default call alone. vs: median over rounds of the row over its reference "
        "in the same round (gi-inpaint export over checkpoint; warm-up over none)",
        "before_load_s: process start (gi-inpaint: its module import) to the model load; "
        "next_s: a second request (the warm cost)",
    ]
    if ready is not None:
        section.notes.append(f"load + replay + first request over load + first request: "
                             f"{ready:.2f} (the price of answering the first request fast)")
    return section


# -- the first-request process ----------------------------------------------------------------


def warmup_records(version_dir):
    """``[(signature, {input: array})]`` of the export's warm-up file, parsed as TF Serving
    reads it (needs ``tensorflow_serving.apis``, the ``[serving]`` extra)."""
    # lazy: TensorFlow start-up, and the serving extra is optional
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    from gi_tf.inference.export import EXTRA_DIR
    from gi_tf.inference.warmup import WARMUP_FILE

    records = []
    path = os.path.join(version_dir, EXTRA_DIR, WARMUP_FILE)
    for serialized in tf.data.TFRecordDataset(path).as_numpy_iterator():
        request = prediction_log_pb2.PredictionLog.FromString(serialized).predict_log.request
        records.append((request.model_spec.signature_name,
                        {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}))
    return records


def first_request(version_dir, size, replay):
    """In a fresh process: import, load, (replay the warm-up), first and second request.

    Returns ``{"before_load_s", "load_s", "replay_s", "call_s", "next_s"}``.
    """
    start = time.perf_counter()
    # lazy: the import is part of what is measured
    import tensorflow as tf

    imported = time.perf_counter()
    loaded = tf.saved_model.load(version_dir)
    load_s = time.perf_counter() - imported
    replay_s = 0.0
    if replay:
        begin = time.perf_counter()
        for name, inputs in warmup_records(version_dir):
            outputs = loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
            [value.numpy() for value in outputs.values()]
        replay_s = time.perf_counter() - begin
    image = ((smooth_test_image(1, size, size)[0] + 1.0) * 127.5).round().astype(np.uint8)
    mask = np.zeros((1, size, size, 1), np.uint8)
    mask[:, size // 4:size // 4 + size // 2, size // 4:size // 4 + size // 2] = 255
    serve = loaded.signatures["serving_default"]
    times = []
    for _ in range(2):
        begin = time.perf_counter()
        serve(image=tf.constant(image[None]), mask=tf.constant(mask))["inpainted"].numpy()
        times.append(time.perf_counter() - begin)
    return {"before_load_s": imported - start, "load_s": load_s, "replay_s": replay_s,
            "call_s": times[0], "next_s": times[1]}


def main(argv):
    """``python -m gi_tf.benchmarks.startup VERSION_DIR SIZE none|replay``."""
    if len(argv) != 4 or argv[3] not in ("none", "replay") or not argv[2].isdigit():
        raise SystemExit("usage: python -m gi_tf.benchmarks.startup VERSION_DIR SIZE "
                         "none|replay")
    result = first_request(argv[1], int(argv[2]), argv[3] == "replay")
    print(RESULT_TAG + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
