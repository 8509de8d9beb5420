"""Reports of an :class:`gi_tf.evaluation.evaluate.Evaluation`: CSV, markdown table, example grid.

:func:`write_outputs` writes, into one folder (local or any TF filesystem, e.g.
``gs://``), every file atomically through :mod:`gi_tf.utils.files` (a reader never sees
half a file, and a failed run leaves the previous files intact):

* ``metrics.csv``: one row per (image, mask kind, method) with every metric;
* ``summary.csv``: the means per (mask kind, method);
* ``metrics.md``: a header, the markdown table (:func:`markdown_table`) and a note on
  the metric definitions;
* ``examples.png``: one row per kept example: input | masked | each method | attention
  map (:func:`example_grid`).

gi-demo's generated text lives here too: the spread of a metric over training seeds
(:func:`seed_statistics`, :func:`seed_table`), the plain reading of the results
(:func:`reading`: the best method per mask kind, the ablation read against the spread
over seeds, gi_tf against each baseline) and the header of its ``metrics.md``
(:func:`demo_header`).
"""

import csv
import io
import math
import os
import platform

import numpy as np

from gi_tf.evaluation.evaluate import GROUND_TRUTH
from gi_tf.evaluation.evaluate import best_method
from gi_tf.evaluation.metrics import METRICS
from gi_tf.utils import files

HEADERS = {"l1": "ℓ1 %", "l1_hole": "ℓ1 hole %", "l2": "ℓ2 %", "l2_hole": "ℓ2 hole %",
           "psnr": "PSNR dB", "psnr_hole": "PSNR hole dB", "ssim": "SSIM",
           "ssim_hole": "SSIM hole", "tv": "TV %", "tv_hole": "TV hole %", "ms": "ms/img"}

METRIC_NOTE = (
    "Metrics on [0,1] pixel values (t = truth, p = result): ℓ1 = 100·mean|p−t|, "
    "ℓ2 = 100·mean (p−t)² (percent of the range), PSNR with peak 1 (inf if identical), "
    "SSIM with an 11×11 Gaussian window, σ=1.5, per RGB channel (Wang et al. 2004), "
    "TV = 100·(mean|Δvertical| + mean|Δhorizontal|) of the result: compare it with the "
    "ground-truth row, lower is only smoother. 'hole' columns count hole pixels only. "
    "These are our definitions, not the paper's unpublished ones. ms/img: wall time per "
    "image of each method on this machine (after one warm-up call).")


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`gi_tf.utils.files.write_text`)."""
    return files.write_text(path, text)


def csv_text(rows):
    """CSV of dict rows (columns: union of keys in first-seen order; floats to 6 digits)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def format_value(value, key):
    """A table cell: ``—`` when absent, ``inf``/``nan``, SSIM to 3 decimals, else 2."""
    if value is None:
        return "—"
    if math.isinf(value):
        return "inf"
    if math.isnan(value):
        return "nan"
    if key.startswith("ssim"):
        return f"{value:.3f}"
    if key == "ms":
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown_table(summary, metrics=METRICS, with_time=True):
    """Markdown table, one row per (mask kind, method), one column per metric."""
    keys = list(metrics) + (["ms"] if with_time else [])
    lines = ["| mask | method | n | " + " | ".join(HEADERS.get(k, k) for k in keys) + " |",
             "|---|---|---:|" + "---:|" * len(keys)]
    for row in summary:
        cells = [format_value(row.get(k), k) for k in keys]
        lines.append(f"| {row['mask_kind']} | {row['method']} | {row['count']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def masked_view(image, holes, fill=255):
    """The input with its hole painted ``fill`` (white), as a user would see it."""
    out = np.array(image, copy=True)
    out[np.asarray(holes, bool)] = fill
    return out


LEGEND_SIZE = 65  # px, the attention colour disc under an example grid


def _attention_source(attention, preferred):
    if preferred in attention:
        return preferred
    return next(iter(attention), None)


def _enlarged(images, min_side):
    """Images enlarged by the smallest integer factor (pixel duplication) that brings
    their smaller side to ``min_side`` or more, so small results stay visible."""
    from gi_tf.utils.visualize import upsample_nearest  # lazy: only for the image files

    side = min(min(im.shape[:2]) for im in images)
    factor = max(1, -(-int(min_side) // side))
    return [upsample_nearest(im, factor) if factor > 1 else im for im in images]


def _sample_count(evaluation):
    """Samples evaluated: one ground-truth row each (0 for a hand-made evaluation)."""
    return sum(row["method"] == GROUND_TRUTH for row in evaluation.rows)


def grid_caption(shown, total, chosen=None):
    """What an example grid shows of the evaluation, e.g. ``"4 of 12 samples shown
    (the first 4)"``; ``""`` when the total is unknown (0).

    >>> grid_caption(4, 12, "the first 4")
    '4 of 12 samples shown (the first 4)'
    >>> grid_caption(3, 3)
    'all 3 samples shown'
    """
    if not total:
        return ""
    if shown >= total:
        return f"all {total} samples shown"
    return f"{shown} of {total} samples shown" + (f" ({chosen})" if chosen else "")


def example_grid(evaluation, attention_from=None, min_side=128, chosen=None):
    """uint8 RGB grid: per example, input | masked | each method | attention map.

    A caption on top says how many of the evaluated samples are shown (:func:`grid_caption`);
    with an attention column, the last row is its colour key and how to read it
    (:func:`gi_tf.utils.visualize.legend_panel`, the legend gi-app shows).

    Args:
        evaluation: :class:`gi_tf.evaluation.evaluate.Evaluation` with ``examples``.
        attention_from: method whose attention map is shown (default: the first method
            that returned one).
        min_side: images smaller than this are enlarged by an integer factor (pixel
            duplication, no interpolation) for viewing; 0 keeps the original size.
        chosen: how the shown samples were picked, for the caption (e.g. "the first 4").
    """
    from gi_tf.utils.visualize import caption_strip  # lazy: OpenCV draws the text
    from gi_tf.utils.visualize import legend_panel
    from gi_tf.utils.visualize import side_by_side

    rows, attention_shown = [], False
    for example in evaluation.examples:
        sample = example["sample"]
        images = [sample.image, masked_view(sample.image, sample.holes)]
        labels = ["input", f"masked ({sample.kind})"]
        for name in evaluation.methods:
            images.append(example["results"][name])
            labels.append(name)
        source = _attention_source(example["attention"], attention_from)
        if source is not None:
            images.append(example["attention"][source])
            labels.append("attention" if len(example["attention"]) == 1
                          else f"attention ({source})")
            attention_shown = True
        if min_side:
            images = _enlarged(images, min_side)
        rows.append(side_by_side(images, labels=labels))
    if not rows:
        raise ValueError("no examples to draw (num_examples=0?)")
    width = max(r.shape[1] for r in rows)
    caption = grid_caption(len(rows), _sample_count(evaluation), chosen)
    if caption:
        rows.insert(0, caption_strip(caption, width))
    if attention_shown and width >= LEGEND_SIZE + 40:
        rows.append(legend_panel(width, LEGEND_SIZE))
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    return np.concatenate(rows, axis=0)


def output_names(evaluation):
    """The files :func:`write_outputs` writes for ``evaluation``, in writing order.

    ``examples.png`` only when the evaluation kept examples (``num_examples > 0``).
    """
    names = ["metrics.csv", "summary.csv", "metrics.md"]
    return names + (["examples.png"] if evaluation.examples else [])


def write_outputs(evaluation, output_dir, header="", attention_from=None, footer="",
                  chosen=None):
    """Write the report files (module doc) into ``output_dir``; return the table.

    The files are :func:`output_names` (``examples.png`` only if there are examples).

    Args:
        evaluation: :class:`gi_tf.evaluation.evaluate.Evaluation`.
        output_dir: created if missing.
        header: markdown put above the table in ``metrics.md`` (e.g. the command, the
            model and the mask seed).
        attention_from: see :func:`example_grid`.
        footer: markdown put after the metric note in ``metrics.md``.
        chosen: how the examples were picked, for the grid's caption (:func:`example_grid`).
    """
    from gi_tf.utils.image_io import write_image_atomic  # lazy: only for the image files

    files.makedirs(output_dir)
    summary = evaluation.summary()
    table = markdown_table(summary)
    write_text_atomic(files.join(output_dir, "metrics.csv"), csv_text(evaluation.rows))
    write_text_atomic(files.join(output_dir, "summary.csv"), csv_text(summary))
    document = ((header.rstrip() + "\n\n" if header else "") + table + "\n\n" + METRIC_NOTE
                + "\n" + ("\n" + footer.rstrip() + "\n" if footer else ""))
    write_text_atomic(files.join(output_dir, "metrics.md"), document)
    if evaluation.examples:
        write_image_atomic(files.join(output_dir, "examples.png"),
                           example_grid(evaluation, attention_from, chosen=chosen))
    return table


# -- gi-demo: the spread over training seeds and the automatic reading ---------------------
# gi-demo trains every variant once per training seed; its trained models are named
# method_name(MODEL_NAME | ABLATION_NAME, seed) in the evaluation.

MODEL_NAME = "gi_tf"
ABLATION_NAME = "gi_tf, no attention"
SEEDED_MODELS = (MODEL_NAME, ABLATION_NAME)


def method_name(base, seed):
    """Table name of one trained model, e.g. ``"gi_tf (seed 0)"``."""
    return f"{base} (seed {seed})"



def seed_statistics(summary, seeds, kind="all", metric="l1_hole"):
    """The spread of ``metric`` over training seeds, per variant, for one mask kind.

    Args:
        summary: rows of :func:`gi_tf.evaluation.evaluate.summarize` whose trained models
            are named :func:`method_name` ``(MODEL_NAME | ABLATION_NAME, seed)``.
        seeds: the training seeds.
        kind: mask kind (``"all"`` when several were evaluated).
        metric: a :data:`gi_tf.evaluation.metrics.METRICS` name.

    Returns:
        ``{base name: {"seeds", "values", "mean", "sd", "min", "max"}}`` for each variant
        present; ``sd`` is the sample standard deviation (0 for one seed); values follow
        ``seeds``.
    """
    by = {(r["mask_kind"], r["method"]): r for r in summary}
    out = {}
    for base in SEEDED_MODELS:
        found = [(s, by[(kind, method_name(base, s))][metric]) for s in seeds
                 if (kind, method_name(base, s)) in by
                 and metric in by[(kind, method_name(base, s))]]
        if not found:
            continue
        values = np.array([v for _, v in found], np.float64)
        out[base] = {"seeds": [s for s, _ in found], "values": values.tolist(),
                     "mean": float(values.mean()),
                     "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                     "min": float(values.min()), "max": float(values.max())}
    return out


def _kind(summary):
    kinds = list(dict.fromkeys(r["mask_kind"] for r in summary))
    return "all" if "all" in kinds else kinds[0]


def seed_table(summary, seeds):
    """Markdown: hole ℓ1, PSNR and SSIM per variant as mean ± sd over seeds, min–max, and
    each seed; the baselines (no training seed) as single values."""
    kind = _kind(summary)
    stats = {m: seed_statistics(summary, seeds, kind, m)
             for m in ("l1_hole", "psnr_hole", "ssim_hole")}
    lines = [f"Spread over the {len(seeds)} training seed(s) ({', '.join(map(str, seeds))}), "
             f"mask kind {kind}; sd = sample standard deviation over seeds:", "",
             "| method | seeds | hole ℓ1 % mean ± sd | hole ℓ1 min – max | hole ℓ1 per seed "
             "| hole PSNR dB | hole SSIM |", "|---|---:|---:|---:|---|---:|---:|"]
    for base, l1 in stats["l1_hole"].items():
        psnr, ssim = stats["psnr_hole"].get(base), stats["ssim_hole"].get(base)
        lines.append(
            f"| {base} | {len(l1['values'])} | {l1['mean']:.2f} ± {l1['sd']:.2f} | "
            f"{l1['min']:.2f} – {l1['max']:.2f} | "
            + ", ".join(f"{v:.2f}" for v in l1["values"]) + " | "
            + (f"{psnr['mean']:.2f} ± {psnr['sd']:.2f}" if psnr else "—") + " | "
            + (f"{ssim['mean']:.3f} ± {ssim['sd']:.3f}" if ssim else "—") + " |")
    trained = {method_name(b, s) for b in SEEDED_MODELS for s in seeds}
    for row in summary:
        if row["mask_kind"] != kind or row["method"] in trained or "l1_hole" not in row:
            continue
        lines.append(f"| {row['method']} | — | {row['l1_hole']:.2f} | | | "
                     f"{row.get('psnr_hole', float('nan')):.2f} | "
                     f"{row.get('ssim_hole', float('nan')):.3f} |")
    return "\n".join(lines)


def ablation_reading(summary, seeds):
    """One sentence on the ablation: per-seed hole ℓ1 gaps against the spread over seeds.

    The gap of a seed is (no attention − attention) for the two models trained with that
    seed; the spread is the larger range (max − min over seeds) of the two variants.
    Attention is *robustly ahead* when it is ahead on every seed and the smallest gap
    exceeds the spread. None when either variant is missing.
    """
    kind = _kind(summary)
    stats = seed_statistics(summary, seeds, kind)
    if MODEL_NAME not in stats or ABLATION_NAME not in stats:
        return None
    with_att, without = stats[MODEL_NAME], stats[ABLATION_NAME]
    common = [s for s in with_att["seeds"] if s in without["seeds"]]
    value = {base: dict(zip(stats[base]["seeds"], stats[base]["values"]))
             for base in (MODEL_NAME, ABLATION_NAME)}
    gaps = [value[ABLATION_NAME][s] - value[MODEL_NAME][s] for s in common]
    head = (f"- ablation ({kind}, hole ℓ1, {len(common)} training seed(s)): "
            f"{with_att['mean']:.2f} ± {with_att['sd']:.2f} % with contextual attention vs "
            f"{without['mean']:.2f} ± {without['sd']:.2f} % without; gap per seed "
            + ", ".join(f"{g:+.2f}" for g in gaps) + " points")
    if len(common) < 2:
        return head + (" (one seed: no spread to compare the gap with; run several, e.g. "
                       "--seeds=0,1,2, before reading it).")
    spread_points = max(with_att["max"] - with_att["min"], without["max"] - without["min"])
    ahead = sum(g > 0 for g in gaps)
    if ahead == len(gaps) and min(gaps) > spread_points:
        verdict = (f"attention ahead on every seed, the smallest gap ({min(gaps):.2f}) larger "
                   f"than the spread between seeds ({spread_points:.2f})")
    elif ahead == len(gaps):
        verdict = (f"attention ahead on every seed, but the smallest gap ({min(gaps):.2f}) is "
                   f"within the spread between seeds ({spread_points:.2f}): not conclusive")
    else:
        verdict = (f"attention ahead on {ahead} of {len(gaps)} seeds (spread between seeds "
                   f"{spread_points:.2f}): no robust difference")
    return f"{head}: {verdict}."


def baseline_reading(summary, seeds):
    """Sentences comparing the attention model (every seed) with each baseline on hole ℓ1."""
    kind = _kind(summary)
    stats = seed_statistics(summary, seeds, kind).get(MODEL_NAME)
    if stats is None:
        return []
    trained = {method_name(b, s) for b in SEEDED_MODELS for s in seeds}
    lines = []
    for row in summary:
        if row["mask_kind"] != kind or row["method"] in trained or "l1_hole" not in row:
            continue
        value = row["l1_hole"]
        if stats["max"] < value:
            verdict = "gi_tf ahead with every seed"
        elif stats["min"] > value:
            verdict = f"{row['method']} ahead of gi_tf with every seed"
        else:
            verdict = "neither ahead with every seed"
        lines.append(f"- {row['method']}: hole ℓ1 {value:.2f} % vs gi_tf {stats['mean']:.2f} % "
                     f"(seeds {stats['min']:.2f} – {stats['max']:.2f}): {verdict}.")
    return lines


def reading(summary, seeds=(0,)):
    """Plain sentences: the best method per kind on hole ℓ1, PSNR and SSIM, the ablation
    over training seeds (:func:`ablation_reading`) and gi_tf against each baseline."""
    lines = []
    kinds = list(dict.fromkeys(r["mask_kind"] for r in summary))
    for kind in kinds:
        best = {m: best_method(summary, m, kind) for m in ("l1_hole", "psnr_hole", "ssim_hole")}
        lines.append(f"- {kind}: lowest hole ℓ1: {best['l1_hole']}; highest hole PSNR: "
                     f"{best['psnr_hole']}; highest hole SSIM: {best['ssim_hole']}.")
    ablation = ablation_reading(summary, seeds)
    if ablation:
        lines.append(ablation)
    lines += baseline_reading(summary, seeds)
    return "\n".join(lines)


def demo_header(settings, stats, timings, cpu_s):
    """Markdown above gi-demo's table in ``eval/metrics.md``: command, machine, task,
    training (with each model's time and final hole ℓ1), held-out set and timings.

    Args:
        settings: :class:`gi_tf.evaluation.demo.DemoSettings`.
        stats: ``{(variant, seed): stats}`` of :func:`gi_tf.evaluation.demo.train_variant`.
        timings: ``{step: wall seconds}``.
        cpu_s: process CPU seconds of the whole run.
    """
    import tensorflow as tf  # lazy: only for its version; the reports need no TensorFlow

    config = settings.train_config
    lines = [f"# gi-demo results ({settings.date})", "",
             f"Command: `{settings.command}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs visible; "
             f"{platform.python_implementation()} {platform.python_version()}, TensorFlow "
             f"{tf.__version__}; op determinism "
             f"{'on' if settings.deterministic else 'off'}.", "",
             f"Task: wallpapers (a random tile repeated with a random period and phase: the "
             f"hole's content exists elsewhere in the image), {config.image_size} px.", "",
             f"Training (each model): {config.max_steps} steps, batch {config.batch_size}, "
             f"{config.critic_steps} critic update(s) per step, adversarial weight "
             f"{config.loss.gan_weight:g}, masks {config.mask.kind}, learning rate "
             f"{config.learning_rate:g}; pool of {settings.train_images} images "
             f"({'wallpapers + photo crops' if settings.photos else 'wallpapers'}); seeds "
             f"{', '.join(map(str, settings.seeds))}.", ""]
    for (variant, seed), stat in stats.items():
        lines.append(f"- {variant}, seed {seed}: {stat['wall_s']:.0f} s wall, "
                     f"{stat['cpu_s']:.0f} s CPU, final hole_l1 "
                     f"{stat.get('hole_l1', float('nan')):.4f}")
    lines += ["", f"Held-out: {settings.held_out} wallpapers of another seed"
              + (" + 3 unseen photographs" if settings.photos else "")
              + f", masks {', '.join(settings.mask_kinds)} with seed {settings.mask_seed}.", "",
              "Timings (wall s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
              + f"; process CPU time {cpu_s:.0f} s.", ""]
    return "\n".join(lines)
