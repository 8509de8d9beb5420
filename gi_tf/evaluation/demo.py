"""The built-in demo as a library: train, export, inpaint held-out images, evaluate.

:func:`run_demo` does what ``gi-demo`` (:mod:`gi_tf.cli.demo`) promises, from a
:class:`DemoSettings`: on the borrowing task (:mod:`gi_tf.data.borrowing`) it trains, per
training seed, the full generator and the ablation without contextual attention with the
same :class:`~gi_tf.training.config.TrainConfig` (:func:`train_variant`; gi-demo's is the
quickstart preset); exports the first seed's full model; scores every model and the
baselines on held-out images (:func:`held_out_samples`,
:func:`gi_tf.evaluation.evaluate.evaluate`); and writes the report, the spread over seeds
and one panel per sample (:func:`write_panels`). Op determinism is on while it runs
(:func:`op_determinism`), so the same settings on the same machine give the same metrics.
What the preset is and why: docs/demo.md and WORKSPACE.md, "Evaluation, demo, app".
"""

import contextlib
import dataclasses
import os
import time

import numpy as np

from gi_tf.data import borrowing
from gi_tf.data import builtin_images
from gi_tf.evaluation.baselines import baseline_methods
from gi_tf.evaluation.demo_settings import DEFAULT_SEEDS  # noqa: F401 (its home is TF-free)
from gi_tf.evaluation.demo_settings import DemoSettings  # noqa: F401
from gi_tf.evaluation.evaluate import Evaluation
from gi_tf.evaluation.evaluate import Sample
from gi_tf.evaluation.evaluate import evaluate
from gi_tf.evaluation.evaluate import generated_mask
from gi_tf.evaluation.evaluate import inpainter_method
from gi_tf.evaluation.report import ABLATION_NAME
from gi_tf.evaluation.report import MODEL_NAME
from gi_tf.evaluation.report import demo_header
from gi_tf.evaluation.report import example_grid
from gi_tf.evaluation.report import method_name
from gi_tf.evaluation.report import reading
from gi_tf.evaluation.report import seed_table
from gi_tf.evaluation.report import write_outputs
from gi_tf.utils import files
from gi_tf.utils.image_io import write_image_atomic

VARIANTS = (("attention", True, MODEL_NAME), ("no_attention", False, ABLATION_NAME))
PHOTO_FRACTION = 0.25


class Timer:
    """Wall and process CPU seconds since construction (CPU time barely depends on load)."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu():
        times = os.times()
        return times.user + times.system

    def elapsed(self):
        """``(wall_s, cpu_s)``."""
        return time.perf_counter() - self.wall, self._cpu() - self.cpu


def train_variant(train_config, use_attention, images, directory, log=print):
    """Train one generator on a uint8 image pool; its run directory is ``directory``.

    The run goes through :func:`gi_tf.training.loop.train` (the ``gi-train`` loop). Its
    training checkpoint (critics and both optimizers: ~128 MB at 128 px) is then replaced
    by a generator-only checkpoint (~14 MB) plus ``model_config.json`` and
    ``train_config.json``, which ``Inpainter.from_checkpoint(directory)`` and ``gi-export``
    load; a demo rerun trains from scratch anyway.

    Returns:
        ``(generator, model_config, stats)``; stats: ``steps``, ``wall_s``, ``cpu_s`` and
        the last logged mean of every trained loss term.

    Raises:
        gi_tf.training.loss_checks.NonFiniteLossError: a loss became NaN/Inf (nothing is
            saved after the last good checkpoint).
    """
    from gi_tf.models.checkpoints import save_generator  # these load TensorFlow: not
    from gi_tf.models.config import ModelConfig  # at import (gi-demo --help imports
    from gi_tf.training.loop import train  # this module)

    model_config = ModelConfig(use_attention=use_attention)
    files.rmtree(directory, missing_ok=True)  # a rerun trains from scratch, as before
    dataset = builtin_images.in_memory_dataset(images, train_config.images_per_step,
                                               train_config.seed)
    timer = Timer()
    result = train(train_config, model_config, None, directory, dataset=dataset, log=log)
    wall_s, cpu_s = timer.elapsed()
    generator = result.model.generator
    files.rmtree(directory)
    save_generator(generator, directory, model_config)
    train_config.write(directory)
    stats = dict(steps=result.step, wall_s=wall_s, cpu_s=cpu_s, **result.logs)
    return generator, model_config, stats


def op_determinism(enabled=True):
    """Context manager: TensorFlow op determinism on inside the block, as before after it.

    ``tf.config.experimental.enable_op_determinism`` makes every op and ``tf.data``
    deterministic (an op without a deterministic kernel raises instead of varying); it is
    process-wide, so the previous state is restored on exit. ``enabled=False`` changes
    nothing.
    """

    @contextlib.contextmanager
    def scope():
        import tensorflow as tf  # lazy: gi-demo --help imports this module
        from tensorflow.python.framework import config as tf_config  # lazy: TensorFlow start-up

        before = tf_config.is_op_determinism_enabled()
        if enabled:
            tf.config.experimental.enable_op_determinism()
        try:
            yield
        finally:
            if enabled and not before:
                tf_config.disable_op_determinism()

    return scope()


def training_pool(count, size, photos):
    """uint8 ``[N, S, S, 3]``: wallpapers of the training seed (+ photo crops if ``photos``)."""
    return builtin_images.training_images(
        count, size, seed=borrowing.TRAIN_SEED, synthetic=borrowing.wallpapers,
        photo_fraction=PHOTO_FRACTION if photos else 0.0)


def held_out_samples(count, size, kinds, mask_seed, photos):
    """:data:`gi_tf.evaluation.evaluate.Sample` s of the held-out images, one per mask kind.

    ``count`` wallpapers of :data:`gi_tf.data.borrowing.HELD_OUT_SEED` (sample kinds
    ``"box"``/``"free"``) and, with ``photos``, the held-out photographs (kinds
    ``"photo box"``/``"photo free"``). The hole of image ``i`` is
    ``generated_mask(kind, size, size, mask_seed, i)``.
    """
    samples = []
    images = borrowing.held_out_wallpapers(count, size)
    if photos:
        images += builtin_images.held_out_images(0, size, photos=True)
    for index, (name, image, group) in enumerate(images):
        for kind in kinds:
            holes = generated_mask(kind, size, size, mask_seed, index)
            samples.append(Sample(name, image, holes, kind if group == "wallpapers"
                                  else f"photo {kind}"))
    return samples


def write_panels(evaluation, directory, attention_from):
    """One PNG per kept example (input | masked | each method | attention); returns paths."""
    paths = []
    for example in evaluation.examples:
        single = Evaluation(evaluation.methods)
        single.examples = [example]
        sample = example["sample"]
        name = f"{sample.name}_{sample.kind.replace(' ', '-')}.png"
        paths.append(write_image_atomic(os.path.join(directory, name),
                                        example_grid(single, attention_from)))
    return paths


def spread(items, count):
    """``count`` items evenly spaced over ``items`` (all of them if fewer)."""
    if count >= len(items):
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round()]


def run_directory(output_dir, variant, seed):
    """Run directory of one trained model: ``<output_dir>/<variant>/seed_<seed>``."""
    return os.path.join(output_dir, variant, f"seed_{seed}")


def run_demo(settings, verbose=1, log=print):
    """Run the whole demo (module doc); returns ``(evaluation, table, timings)``.

    The steps, in order: :func:`_data`, :func:`_train_all`, :func:`_export`,
    :func:`_evaluate_all` and :func:`_write_report`, all under :func:`op_determinism`.
    ``evaluation`` holds every sample's rows for every method; its ``methods`` and
    ``examples`` are those drawn in the panels and ``eval/examples.png``
    (:func:`pictured`: the first seed's models and the baselines).
    """
    settings.validate()
    with op_determinism(settings.deterministic):
        total, timings = Timer(), {}
        step = Timer()
        images, samples = _data(settings)
        timings["data"] = step.elapsed()[0]
        generator, model_config, stats = _train_all(settings, images, log, verbose)
        timings[f"training ({len(stats)} models)"] = sum(s["wall_s"] for s in stats.values())
        step = Timer()
        export_dir = _export(settings, generator, model_config, log)
        timings["export"] = step.elapsed()[0]
        step = Timer()
        shown = _evaluate_all(settings, stats, export_dir, samples, verbose, log)
        timings["evaluate"] = step.elapsed()[0]
        timings["total"], cpu_s = total.elapsed()
        table = _write_report(settings, shown, stats, timings, cpu_s, log)
    return shown, table, timings


def pictured(evaluation, seed, baselines):
    """The evaluation as the pictures show it: every row, but examples with only the
    ``seed`` models (labelled :data:`MODEL_NAME` and :data:`ABLATION_NAME`), the
    ``baselines`` and the attention map of the full model."""
    names = {method_name(base, seed): base for _, _, base in VARIANTS}
    names = {m: names.get(m, m) for m in evaluation.methods if m in names or m in baselines}
    shown = Evaluation(list(names.values()))
    shown.rows = evaluation.rows
    attention = method_name(MODEL_NAME, seed)
    shown.examples = [
        {"sample": e["sample"],
         "results": {label: e["results"][m] for m, label in names.items()},
         "attention": ({MODEL_NAME: e["attention"][attention]} if attention in e["attention"]
                       else {})}
        for e in evaluation.examples]
    return shown


def _data(settings):
    """Step 1: ``(training pool, held-out samples)``."""
    size = settings.train_config.image_size
    images = training_pool(settings.train_images, size, settings.photos)
    samples = held_out_samples(settings.held_out, size, settings.mask_kinds,
                               settings.mask_seed, settings.photos)
    return images, samples


def _train_all(settings, images, log, verbose):
    """Step 2: train every (variant, seed); returns the first seed's attention generator,
    its model config and ``{(variant, seed): stats}``."""
    config, out = settings.train_config, settings.output_dir
    variants = VARIANTS if settings.ablation else VARIANTS[:1]
    stats, first = {}, None
    for seed in settings.seeds:
        seed_config = dataclasses.replace(config, seed=seed)
        for variant, use_attention, base in variants:
            log(f"[gi-demo] training {method_name(base, seed)}: {config.max_steps} steps of "
                f"batch {config.batch_size} at {config.image_size} px")
            generator, model_config, stats[(variant, seed)] = train_variant(
                seed_config, use_attention, images, run_directory(out, variant, seed),
                log=log if verbose else (lambda line: None))
            if first is None:
                first = (generator, model_config)
    return first[0], first[1], stats


def _export(settings, generator, model_config, log):
    """Step 3: the SavedModel of the first seed's full model; returns its directory."""
    from gi_tf.inference.export import export_generator  # TensorFlow: not for --help

    out, seed = settings.output_dir, tuple(settings.seeds)[0]
    export_dir = export_generator(generator, model_config, os.path.join(out, "export"),
                                  source=run_directory(out, "attention", seed))
    log(f"[gi-demo] exported the SavedModel of {method_name(MODEL_NAME, seed)} to "
        f"{export_dir}")
    return export_dir


def _methods(settings, stats, export_dir):
    """``({name: method}, baselines)``: every trained model (the first seed's full model
    through its SavedModel, the others from their checkpoints), then the baselines."""
    from gi_tf.inference.inpainter import Inpainter  # TensorFlow: not for --help

    out, seeds = settings.output_dir, tuple(settings.seeds)
    methods = {}
    for variant, _, base in VARIANTS:
        for seed in seeds:
            if (variant, seed) not in stats:
                continue
            methods[method_name(base, seed)] = inpainter_method(
                Inpainter.load(export_dir) if (variant, seed) == ("attention", seeds[0])
                else Inpainter.from_checkpoint(run_directory(out, variant, seed)))
    baselines = baseline_methods()
    methods.update(baselines)
    return methods, baselines


def _evaluate_all(settings, stats, export_dir, samples, verbose, log):
    """Step 4: inpaint and score the held-out samples with every method, write one panel
    per sample; returns the evaluation as pictured (:func:`pictured`), its examples
    thinned to ``settings.num_examples``."""
    methods, baselines = _methods(settings, stats, export_dir)
    log(f"[gi-demo] inpainting {len(samples)} held-out samples with {len(methods)} methods")
    evaluation = evaluate(methods, samples, num_examples=len(samples), progress=verbose > 0,
                          total=len(samples))
    shown = pictured(evaluation, tuple(settings.seeds)[0], list(baselines))
    panels = os.path.join(settings.output_dir, "panels")
    files.rmtree(panels, missing_ok=True)  # panels of an earlier run's samples would linger
    write_panels(shown, panels, MODEL_NAME)
    shown.examples = spread(shown.examples, settings.num_examples)
    return shown


def _write_report(settings, shown, stats, timings, cpu_s, log):
    """Step 5: ``eval/`` (:func:`gi_tf.evaluation.report.write_outputs` with the seed table
    and the reading) and the printed summary; returns the table."""
    out, seeds = settings.output_dir, tuple(settings.seeds)
    summary = shown.summary()
    seeds_md, text = seed_table(summary, seeds), reading(summary, seeds)
    table = write_outputs(shown, os.path.join(out, "eval"),
                          header=demo_header(settings, stats, timings, cpu_s),
                          attention_from=MODEL_NAME,
                          chosen="evenly spread; every sample has a panel in panels/",
                          footer=seeds_md + "\n\nReading (automatic):\n\n" + text)
    log("\n" + table + "\n\n" + seeds_md + "\n\n" + text + "\n")
    log("[gi-demo] wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + f"; CPU time {cpu_s:.0f} s")
    panels = os.path.join(out, "panels")
    log(f"[gi-demo] wrote {os.path.join(out, 'eval', 'metrics.md')}, examples.png, "
        f"{len(files.listdir(panels))} panels in {panels}")
    return table
