"""The built-in demo as a library: train, export, inpaint held-out images, evaluate.

:func:`run_demo` does what ``gi-demo`` (:mod:`gi_tf.cli.demo`) promises, from a
:class:`DemoSettings`; every step is a small function usable on its own:

1. :func:`gi_tf.data.builtin_images.training_images`: procedural textures (and, with the
   ``[demo]`` extra, crops of public-domain/CC0 photographs) from the training seed;
2. :func:`train_variant` twice with the same :func:`quickstart_config` (same data, same
   steps): the full generator and, for the ablation, the one without contextual
   attention; each writes a checkpoint;
3. :func:`gi_tf.inference.export.export_generator` for the full model (a SavedModel);
4. :func:`held_out_samples` (other seeds, other photographs) scored by
   :func:`gi_tf.evaluation.evaluate.evaluate` for the SavedModel, the no-attention checkpoint and
   OpenCV's Telea and Navier-Stokes, written by :func:`gi_tf.evaluation.report.write_outputs`
   plus one panel per sample (:func:`write_panels`) and a plain reading (:func:`reading`).

The quickstart preset is a CPU-sized version of the released setting: 64 px images,
batch 8, box holes of half the image side shrunk by up to 1/16 per side, mixed half and
half with free-form strokes, Adam 1e-4 as released. It trains the reconstruction
objective only (spatially discounted hole ℓ1 + known-region ℓ1, both with the coarse
terms): ``critic_steps=0`` and ``gan_weight=0``. On 2 CPU cores one critic update (with
its gradient penalty) costs about twice a generator update, and in a few hundred steps
the WGAN term (weight 0.001 in the released loss) cannot help; the contextual-attention
branch is still trained end to end, which is what the ablation measures. ``gi-train
--flagfile=flags/train/quickstart.flags`` trains the same preset; raise
``critic_steps``/``gan_weight`` there (or ``gi-demo --critic_steps``) for the full GAN.
"""

import dataclasses
import os
import platform
import time

import numpy as np

from gi_tf.utils import files

MODEL_NAME = "gi_tf"
ABLATION_NAME = "gi_tf, no attention"
PHOTO_FRACTION = 0.25


def quickstart_config(image_size=64, **overrides):
    """The CPU quickstart :class:`~gi_tf.training.config.TrainConfig` (module doc).

    Mask sizes follow ``image_size`` as in the released 256 px setting: box of half the
    side, ``max_delta`` of an eighth. ``overrides`` are other TrainConfig fields;
    ``critic_steps > 0`` without a ``loss`` override restores the released GAN weight.
    """
    from gi_tf.data.masks import MaskConfig
    from gi_tf.training.config import LossConfig
    from gi_tf.training.config import TrainConfig

    box, delta = image_size // 2, image_size // 8
    mask = MaskConfig(kind="mixed", box_height=box, box_width=box, max_delta_height=delta,
                      max_delta_width=delta, free_ratio=0.5)
    values = dict(image_size=image_size, batch_size=8, critic_steps=0,
                  fresh_critic_batches=False, max_steps=300, mask=mask,
                  loss=LossConfig(gan_weight=0.0), seed=0, log_every=25,
                  checkpoint_every=1000, summary_images=0)
    if overrides.get("critic_steps", 0) > 0 and "loss" not in overrides:
        values["loss"] = LossConfig()
    values.update(overrides)
    return TrainConfig(**values).validate()


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """One demo run.

    Attributes:
        output_dir: str, everything is written below it.
        train_config: :class:`~gi_tf.training.config.TrainConfig` of both models.
        train_images: int, size of the training pool.
        held_out: int, held-out textures (each evaluated with every mask kind).
        mask_kinds: tuple of ``"box"``/``"free"``.
        mask_seed: int, seed of the evaluation holes.
        photos: bool, add scikit-image photographs (training crops, held-out photos).
        ablation: bool, also train and evaluate the no-attention generator.
        num_examples: int, rows of ``eval/examples.png``.
        command, date: str, recorded in ``eval/metrics.md``.
    """

    output_dir: str
    train_config: object
    train_images: int = 1024
    held_out: int = 16
    mask_kinds: tuple = ("box", "free")
    mask_seed: int = 0
    photos: bool = False
    ablation: bool = True
    num_examples: int = 6
    command: str = ""
    date: str = ""


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

    The run goes through :func:`gi_tf.training.loop.train` (the ``gi-train`` loop), so
    ``directory`` holds a resumable training checkpoint that
    ``Inpainter.from_checkpoint(directory)`` loads.

    Returns:
        ``(generator, model_config, stats)``; stats: ``steps``, ``wall_s``, ``cpu_s`` and
        the last logged mean of every trained loss term.

    Raises:
        gi_tf.training.loss_checks.NonFiniteLossError: a loss became NaN/Inf (nothing is
            saved after the last good checkpoint).
    """
    from gi_tf.data import builtin_images
    from gi_tf.models.config import ModelConfig
    from gi_tf.training.loop import train

    model_config = ModelConfig(use_attention=use_attention).validate()
    files.rmtree(directory, missing_ok=True)  # a rerun trains from scratch, as before
    dataset = builtin_images.in_memory_dataset(images, train_config.images_per_step,
                                               train_config.seed)
    timer = Timer()
    result = train(train_config, model_config, None, directory, dataset=dataset, log=log)
    wall_s, cpu_s = timer.elapsed()
    stats = dict(steps=result.step, wall_s=wall_s, cpu_s=cpu_s, **result.logs)
    return result.model.generator, model_config, stats


def held_out_samples(count, size, kinds, mask_seed, photos):
    """:data:`gi_tf.evaluation.evaluate.Sample` s of the held-out images, one per mask kind.

    Sample kinds are ``"box"``/``"free"`` for textures and ``"photo box"``/
    ``"photo free"`` for the held-out photographs.
    """
    from gi_tf.data import builtin_images
    from gi_tf.evaluation.evaluate import Sample
    from gi_tf.evaluation.evaluate import generated_mask

    samples = []
    images = builtin_images.held_out_images(count, size, photos=photos)
    for index, (name, image, group) in enumerate(images):
        for kind in kinds:
            holes = generated_mask(kind, size, size, mask_seed, index)
            samples.append(Sample(name, image, holes, kind if group == "textures"
                                  else f"photo {kind}"))
    return samples


def write_panels(evaluation, directory, attention_from):
    """One PNG per kept example (input | masked | each method | attention); returns paths."""
    from gi_tf.evaluation.evaluate import Evaluation
    from gi_tf.evaluation.report import example_grid
    from gi_tf.utils.image_io import write_image_atomic

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


def reading(summary):
    """Plain sentences: the best method per kind on hole ℓ1, PSNR and SSIM, and the ablation."""
    from gi_tf.evaluation.evaluate import best_method

    lines = []
    kinds = list(dict.fromkeys(r["mask_kind"] for r in summary))
    for kind in kinds:
        best = {m: best_method(summary, m, kind) for m in ("l1_hole", "psnr_hole", "ssim_hole")}
        lines.append(f"- {kind}: lowest hole ℓ1: {best['l1_hole']}; highest hole PSNR: "
                     f"{best['psnr_hole']}; highest hole SSIM: {best['ssim_hole']}.")
    by = {(r["mask_kind"], r["method"]): r for r in summary}
    kind = "all" if "all" in kinds else kinds[0]
    if (kind, MODEL_NAME) in by and (kind, ABLATION_NAME) in by:
        with_att, without = by[(kind, MODEL_NAME)], by[(kind, ABLATION_NAME)]
        delta = without["l1_hole"] - with_att["l1_hole"]
        lines.append(
            f"- ablation ({kind}, {with_att['count']} samples): hole ℓ1 "
            f"{with_att['l1_hole']:.2f} % "
            f"with contextual attention vs {without['l1_hole']:.2f} % without "
            f"({'attention ahead' if delta > 0 else 'attention not ahead'} by "
            f"{abs(delta):.2f} points; one training run each, so small gaps are noise).")
    return "\n".join(lines)


def _header(settings, stats, photos_used, timings, cpu_s):
    import tensorflow as tf

    config = settings.train_config
    lines = [f"# gi-demo results ({settings.date})", "",
             f"Command: `{settings.command}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs visible; "
             f"{platform.python_implementation()} {platform.python_version()}, TensorFlow "
             f"{tf.__version__}.", "",
             f"Training (each model): {config.max_steps} steps, batch {config.batch_size}, "
             f"{config.image_size} px, {config.critic_steps} critic update(s) per step, "
             f"adversarial weight {config.loss.gan_weight:g}, masks "
             f"{config.mask.kind}; pool of {settings.train_images} images "
             f"({'textures + photo crops' if photos_used else 'textures'}), "
             f"seed {config.seed}.", ""]
    for name, stat in stats.items():
        lines.append(f"- {name}: {stat['wall_s']:.0f} s wall, {stat['cpu_s']:.0f} s CPU, "
                     f"final hole_l1 {stat.get('hole_l1', float('nan')):.4f}")
    lines += ["", f"Held-out: {settings.held_out} textures of another seed"
              + (" + 3 unseen photographs" if photos_used else "")
              + f", masks {', '.join(settings.mask_kinds)} with seed {settings.mask_seed}.", "",
              "Timings (wall s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
              + f"; process CPU time {cpu_s:.0f} s.", ""]
    return "\n".join(lines)


def run_demo(settings, verbose=1, log=print):
    """Run the whole demo (module doc); returns ``(evaluation, table, timings)``."""
    from gi_tf.data import builtin_images
    from gi_tf.evaluation.baselines import baseline_methods
    from gi_tf.evaluation.evaluate import evaluate
    from gi_tf.evaluation.evaluate import inpainter_method
    from gi_tf.evaluation.report import write_outputs
    from gi_tf.inference.export import export_generator
    from gi_tf.inference.inpainter import Inpainter

    total, timings, stats = Timer(), {}, {}
    config, out = settings.train_config, settings.output_dir
    step = Timer()
    images = builtin_images.training_images(settings.train_images, config.image_size,
                                       photo_fraction=PHOTO_FRACTION if settings.photos else 0.0)
    timings["data"] = step.elapsed()[0]
    variants = [("attention", True)] + ([("no_attention", False)] if settings.ablation else [])
    generators = {}
    for variant, use_attention in variants:
        log(f"[gi-demo] training the {variant.replace('_', '-')} model: {config.max_steps} steps "
            f"of batch {config.batch_size} at {config.image_size} px")
        generator, model_config, stats[variant] = train_variant(
            config, use_attention, images, os.path.join(out, variant),
            log=log if verbose else (lambda line: None))
        generators[variant] = (generator, model_config)
        timings[f"train {variant}"] = stats[variant]["wall_s"]
    step = Timer()
    generator, model_config = generators["attention"]
    export_dir = export_generator(generator, model_config, os.path.join(out, "export"),
                                  source=os.path.join(out, "attention"))
    timings["export"] = step.elapsed()[0]
    log(f"[gi-demo] exported the SavedModel to {export_dir}")

    step = Timer()
    methods = {MODEL_NAME: inpainter_method(Inpainter.load(export_dir))}
    if settings.ablation:
        methods[ABLATION_NAME] = inpainter_method(
            Inpainter.from_checkpoint(os.path.join(out, "no_attention")))
    methods.update(baseline_methods())
    samples = held_out_samples(settings.held_out, config.image_size, settings.mask_kinds,
                               settings.mask_seed, settings.photos)
    log(f"[gi-demo] inpainting {len(samples)} held-out samples with {len(methods)} methods")
    evaluation = evaluate(methods, samples, num_examples=len(samples), progress=verbose > 0,
                          total=len(samples))
    write_panels(evaluation, os.path.join(out, "panels"), MODEL_NAME)
    evaluation.examples = spread(evaluation.examples, settings.num_examples)
    timings["evaluate"] = step.elapsed()[0]
    timings["total"], cpu_s = total.elapsed()
    header = _header(settings, stats, settings.photos, timings, cpu_s)
    summary = evaluation.summary()
    text = reading(summary)
    table = write_outputs(evaluation, os.path.join(out, "eval"), header=header,
                          attention_from=MODEL_NAME, footer="Reading (automatic):\n\n" + text)
    log("\n" + table + "\n\n" + text + "\n")
    log("[gi-demo] wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + f"; CPU time {cpu_s:.0f} s")
    panels = os.path.join(out, "panels")
    log(f"[gi-demo] wrote {os.path.join(out, 'eval', 'metrics.md')}, examples.png, "
        f"{len(files.listdir(panels))} panels in {panels}")
    return evaluation, table, timings
