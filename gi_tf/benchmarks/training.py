"""Training step time and images/s at 128^2 and 256^2, batch 1, 4 and 16.

One step is one ``InpaintingGAN.train_step`` (``gi_tf.training.gan``): ``critic_steps``
(5, as released) critic updates with gradient penalty, then one generator update,
each on ``batch`` images. ``images_per_s`` counts generator-update images
(``batch / step time``); ``updates_images_per_s`` counts every image seen by an update
(``(critic_steps + 1) * batch / step time``). Inputs are random tensors already in
memory, so the input pipeline is not part of the figure. The box mask is scaled with
the image (half its side, as released at 256).
"""

import numpy as np

from gi_tf.benchmarks.common import Section
from gi_tf.benchmarks.common import error_text
from gi_tf.benchmarks.common import smooth_test_image
from gi_tf.benchmarks.common import time_call

NAME = "training"
TITLE = "training step (InpaintingGAN.train_step under tf.function)"
COLUMNS = ["size", "batch", "critic_steps", "first_s", "step_s", "images_per_s",
           "updates_images_per_s", "calls"]
CRITIC_STEPS = 5


def cases(quick):
    if quick:
        return [(32, 1)]
    return [(128, 1), (128, 4), (128, 16), (256, 1), (256, 4), (256, 16)]


def build_step(size, batch, critic_steps, seed):
    """A traced ``train_step`` and its input; raises with a clear message if unavailable."""
    import tensorflow as tf

    try:
        from gi_tf.data.masks import MaskConfig
        from gi_tf.models.config import ModelConfig
        from gi_tf.training.config import TrainConfig
        from gi_tf.training.gan import build_inpainting_gan
    except ImportError as exc:
        raise RuntimeError(f"the training modules are unavailable ({exc})") from exc
    mask = MaskConfig(box_height=size // 2, box_width=size // 2,
                      max_delta_height=size // 8, max_delta_width=size // 8)
    config = TrainConfig(image_size=size, batch_size=batch, critic_steps=critic_steps,
                         fresh_critic_batches=False, mask=mask, seed=seed).validate()
    gan = build_inpainting_gan(config, ModelConfig())
    images = tf.constant(smooth_test_image(config.images_per_step, size, size, seed))
    return tf.function(gan.train_step, jit_compile=config.jit_compile), images


def run(settings, context):
    section = Section(NAME, TITLE, COLUMNS)
    critic_steps = 1 if settings.quick else CRITIC_STEPS
    for size, batch in cases(settings.quick):
        row = {"size": f"{size}x{size}", "batch": batch, "critic_steps": critic_steps}
        try:
            step, images = build_step(size, batch, critic_steps, settings.seed)
            timing = time_call(lambda: {k: np.asarray(v) for k, v in step(images).items()},
                               settings.repeats, settings.max_seconds)
        except Exception as exc:
            row["error"] = error_text(exc)
            section.rows.append(row)
            continue
        seconds = timing["median_s"]
        row.update({"first_s": timing["first_s"], "step_s": seconds,
                    "images_per_s": batch / seconds,
                    "updates_images_per_s": (critic_steps + 1) * batch / seconds,
                    "calls": timing["calls"]})
        section.rows.append(row)
    section.notes.append("images_per_s = generator-update images per second")
    return section
