"""Training step time and images/s at 128^2 and 256^2, batch 1, 4 and 16.

One step is one ``InpaintingGAN.train_step`` (``gi_tf.training.gan``): ``critic_steps``
(5, as released) critic updates with gradient penalty, then one generator update,
each on ``batch`` images. The figure is the call ``gi-train`` makes:
:meth:`gi_tf.training.loop.TrainLoop.run` (``strategy.run(train_step)`` inside a compiled
``tf.while_loop`` that takes its batches from an iterator), one step per call
(``loop x1``) and ``LOOP_STEPS`` steps per call (``loop xN``, per-step time). For
reference the same run times ``tf.function(gan.train_step)`` on a constant batch
(``train_step``), and ``loop x1`` of a second model with TensorFlow's automatic gradients
(``TrainConfig(fast_gradients=False)``, the step before the hand-written gradients; same
weights); ``vs_train_step`` = time / that time. ``images_per_s`` counts
generator-update images (``batch / step time``); ``updates_images_per_s`` counts every
image seen by an update (``(critic_steps + 1) * batch / step time``). Batches come from
an in-memory dataset, so image decoding is not part of the figure. The box mask is
scaled with the image (half its side, as released at 256).
"""

import numpy as np
import tensorflow as tf

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import parse_cases
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.common import time_interleaved

NAME = "training"
TITLE = "training step (TrainLoop.run: strategy.run(train_step), as gi-train)"
COLUMNS = ["size", "batch", "critic_steps", "path", "first_s", "step_s", "cpu_s",
           "images_per_s", "updates_images_per_s", "vs_train_step", "cpu_vs_train_step",
           "calls"]
CRITIC_STEPS = 5
LOOP_STEPS = 3
AUTOMATIC_PATH = "loop x1, fast_gradients=False"


def cases(settings):
    """``[(size, batch)]``: ``--training_cases`` if given, else the default list."""
    if settings.training_cases:
        return parse_cases(settings.training_cases)
    if settings.quick:
        return [(32, 1)]
    return [(128, 1), (128, 4), (128, 16), (256, 1), (256, 4), (256, 16)]


def build_loop(size, batch, critic_steps, seed, **overrides):
    """``(gan, TrainLoop, images)`` for one case; raises with a clear message if unavailable.

    ``overrides``: further :class:`gi_tf.training.config.TrainConfig` fields.
    """
    try:
        # lazy: an import failure becomes this section's error row
        from gi_tf.data.masks import MaskConfig
        from gi_tf.models.config import ModelConfig  # lazy: loaded with its section
        from gi_tf.training.config import TrainConfig  # lazy: loaded with its section
        from gi_tf.training.gan import build_inpainting_gan  # lazy: loaded with its section
        from gi_tf.training.loop import TrainLoop  # lazy: loaded with its section
    except ImportError as exc:
        raise RuntimeError(f"the training modules are unavailable ({exc})") from exc
    mask = MaskConfig(box_height=size // 2, box_width=size // 2,
                      max_delta_height=size // 8, max_delta_width=size // 8)
    config = TrainConfig(image_size=size, batch_size=batch, critic_steps=critic_steps,
                         fresh_critic_batches=False, mask=mask, seed=seed,
                         **overrides).validate()
    gan = build_inpainting_gan(config, ModelConfig())
    images = tf.constant(smooth_test_image(config.images_per_step, size, size, seed))
    return gan, TrainLoop(gan), images


def _paths(gan, loop, images, automatic_loop):
    """``{path: (fn, steps per call)}``; every fn blocks until its steps are done."""
    iterator = iter(tf.data.Dataset.from_tensors(images).repeat())
    automatic_iterator = iter(tf.data.Dataset.from_tensors(images).repeat())
    train_step = tf.function(gan.train_step, jit_compile=gan.config.jit_compile)
    return {
        "train_step": (lambda: {k: np.asarray(v) for k, v in train_step(images).items()}, 1),
        "loop x1": (lambda: loop.run(iterator, 1), 1),
        f"loop x{LOOP_STEPS}": (lambda: loop.run(iterator, LOOP_STEPS), LOOP_STEPS),
        AUTOMATIC_PATH: (lambda: automatic_loop.run(automatic_iterator, 1), 1),
    }


def _automatic_twin(gan, size, batch, critic_steps, seed):
    """The same model with ``fast_gradients=False`` (TensorFlow's automatic gradients)."""
    twin, loop, _ = build_loop(size, batch, critic_steps, seed, fast_gradients=False)
    for mine, theirs in zip(twin.variables, gan.variables):
        mine.assign(theirs)
    return loop


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    critic_steps = 1 if settings.quick else CRITIC_STEPS
    for size, batch in cases(settings):
        base = {"size": f"{size}x{size}", "batch": batch, "critic_steps": critic_steps}
        try:
            gan, loop, images = build_loop(size, batch, critic_steps, settings.seed)
            automatic = _automatic_twin(gan, size, batch, critic_steps, settings.seed)
            paths = _paths(gan, loop, images, automatic)
            timings = time_interleaved({path: fn for path, (fn, _) in paths.items()},
                                       settings.repeats, settings.max_seconds)
        except Exception as exc:
            section.rows.append(dict(base, error=error_text(exc)))
            continue
        reference = timings["train_step"]
        for path, (_, steps) in paths.items():
            timing = timings[path]
            seconds = timing["median_s"] / steps
            section.rows.append(dict(
                base, path=path, first_s=timing["first_s"], step_s=seconds,
                cpu_s=timing["cpu_s"] / steps, images_per_s=batch / seconds,
                updates_images_per_s=(critic_steps + 1) * batch / seconds,
                vs_train_step=seconds / reference["median_s"],
                cpu_vs_train_step=timing["cpu_s"] / steps / reference["cpu_s"],
                calls=timing["calls"]))
    section.notes.append("images_per_s = generator-update images per second; step_s and "
                         "cpu_s are per step (a loop xN call runs N steps); paths are timed "
                         "in interleaved rounds")
    section.notes.append("vs_train_step, cpu_vs_train_step = wall / process-CPU time per step "
                         "over tf.function(train_step)'s in the same rounds (>1: slower)")
    section.notes.append(f"'{AUTOMATIC_PATH}': the same step with TensorFlow's automatic "
                         "gradients (before the hand-written ones), same weights and batch")
    return section
