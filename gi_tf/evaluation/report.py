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
"""

import csv
import io
import math

import numpy as np

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


def _attention_source(attention, preferred):
    if preferred in attention:
        return preferred
    return next(iter(attention), None)


def _enlarged(images, min_side):
    """Images enlarged by the smallest integer factor (pixel duplication) that brings
    their smaller side to ``min_side`` or more, so small results stay visible."""
    from gi_tf.utils.visualize import upsample_nearest

    side = min(min(im.shape[:2]) for im in images)
    factor = max(1, -(-int(min_side) // side))
    return [upsample_nearest(im, factor) if factor > 1 else im for im in images]


def example_grid(evaluation, attention_from=None, min_side=128):
    """uint8 RGB grid: per example, input | masked | each method | attention map.

    Args:
        evaluation: :class:`gi_tf.evaluation.evaluate.Evaluation` with ``examples``.
        attention_from: method whose attention map is shown (default: the first method
            that returned one).
        min_side: images smaller than this are enlarged by an integer factor (pixel
            duplication, no interpolation) for viewing; 0 keeps the original size.
    """
    from gi_tf.utils.visualize import side_by_side

    rows = []
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
        if min_side:
            images = _enlarged(images, min_side)
        rows.append(side_by_side(images, labels=labels))
    if not rows:
        raise ValueError("no examples to draw (num_examples=0?)")
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    return np.concatenate(rows, axis=0)


def output_names(evaluation):
    """The files :func:`write_outputs` writes for ``evaluation``, in writing order.

    ``examples.png`` only when the evaluation kept examples (``num_examples > 0``).
    """
    names = ["metrics.csv", "summary.csv", "metrics.md"]
    return names + (["examples.png"] if evaluation.examples else [])


def write_outputs(evaluation, output_dir, header="", attention_from=None, footer=""):
    """Write the report files (module doc) into ``output_dir``; return the table.

    The files are :func:`output_names` (``examples.png`` only if there are examples).

    Args:
        evaluation: :class:`gi_tf.evaluation.evaluate.Evaluation`.
        output_dir: created if missing.
        header: markdown put above the table in ``metrics.md`` (e.g. the command, the
            model and the mask seed).
        attention_from: see :func:`example_grid`.
        footer: markdown put after the metric note in ``metrics.md``.
    """
    from gi_tf.utils.image_io import write_image_atomic

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
                           example_grid(evaluation, attention_from))
    return table

