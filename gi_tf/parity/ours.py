"""gi_tf's side of every comparison: the same computations through gi_tf's public paths.

* attention: :class:`gi_tf.layers.ContextualAttention` (default, batched);
* generator: a generator imported with :mod:`gi_tf.tf1.checkpoint` (the ``gi-import-tf1``
  path: BGR -> RGB inside the weights), run on RGB; uint8 results through
  :func:`gi_tf.inference.preprocessing.inpaint_uint8` with the original's ``"crop"`` policy;
* training: :meth:`gi_tf.training.gan.InpaintingGAN.critic_gradients` and
  ``generator_gradients`` (the two halves of ``train_step``) with the authors' draws
  injected (their one box and one mask repeated over the batch, their GP weights).

Everything returns NumPy, keyed like :mod:`gi_tf.parity.original`'s fetches.
"""

import numpy as np
import tensorflow as tf

from gi_tf.data.masks import MaskConfig
from gi_tf.inference import preprocessing
from gi_tf.layers.contextual_attention import ContextualAttention
from gi_tf.models.config import ModelConfig
from gi_tf.models.generator import build_generator
from gi_tf.parity import weights as weights_lib
from gi_tf.tf1 import checkpoint as tf1_checkpoint
from gi_tf.tf1 import names as tf1_names
from gi_tf.training.config import TrainConfig
from gi_tf.training.gan import build_inpainting_gan

# gi_tf's loss terms under the authors' names (gp_loss is weighted: WGAN_GP_LAMBDA * gp).
LOSS_NAMES = {"l1_loss": "hole_l1", "ae_loss": "known_l1", "g_loss": "g_total",
              "d_loss": "d_total", "gp_loss": "gp"}


def attention(case, foreground, background, mask, implementation="batched"):
    """``{"y", "offsets"}`` of ``ContextualAttention`` (the mask repeated over the batch)."""
    layer = ContextualAttention(rate=case.rate, fuse=case.fuse, implementation=implementation)
    holes = None if mask is None else np.repeat(mask, case.batch, axis=0)
    y, offsets = layer(tf.constant(foreground), tf.constant(background),
                       None if holes is None else tf.constant(holes))
    return {"y": np.asarray(y), "offsets": np.asarray(offsets)}


def generator_names_and_shapes():
    """``{TF1 name: shape}`` of the generator (from gi_tf's own name table)."""
    return weights_lib.variable_shapes(tf1_names.tf1_name_table(build_generator()))


def imported_generator(checkpoint=None, arrays=None, implementation="batched"):
    """A generator through the import path: a TF1 checkpoint prefix, or its arrays (BGR)."""
    generator = build_generator(attention_implementation=implementation)
    if checkpoint is not None:
        generator, _ = tf1_checkpoint.import_tf1_generator(checkpoint, generator)
        return generator
    tf1_checkpoint.assign_tf1_weights(generator, arrays, bgr_to_rgb=True)
    return generator


def generator_outputs(generator, images_rgb, mask):
    """``{"coarse", "refined", "offsets"}`` (RGB) for uint8 RGB images and a shared mask."""
    image = tf.cast(tf.constant(images_rgb), tf.float32) / 127.5 - 1.0
    holes = tf.constant(np.repeat(mask, len(images_rgb), axis=0))
    coarse, refined, offsets = generator(image, holes, training=False)
    return {"coarse": np.asarray(coarse), "refined": np.asarray(refined),
            "offsets": np.asarray(offsets)}


def server_result(generator, image_rgb, mask_image):
    """uint8 RGB ``[1, H', W', 3]``: ``inpaint_uint8`` with the original's crop policy."""
    result = preprocessing.inpaint_uint8(
        generator, tf.constant(image_rgb[None]), tf.constant(mask_image[None, :, :, :1]),
        policy="crop")
    return np.asarray(result["inpainted"])


def training_config(sizes):
    """gi_tf's training config for the released set-up at the parity sizes."""
    mask = MaskConfig(box_height=sizes.train_box, box_width=sizes.train_box,
                      max_delta_height=sizes.train_delta, max_delta_width=sizes.train_delta,
                      per_sample=False)
    return TrainConfig(image_size=sizes.train_size, batch_size=sizes.train_batch,
                       critic_steps=1, fresh_critic_batches=False,
                       local_size=sizes.train_box, mask=mask)


class TrainingStep:
    """A gi_tf GAN at the parity sizes with weights by TF1 name and injectable draws."""

    def __init__(self, sizes, arrays=None):
        self.sizes = sizes
        self.config = training_config(sizes)
        self.gan = build_inpainting_gan(self.config, ModelConfig())
        self.generator_table = tf1_names.tf1_name_table(self.gan.generator)
        self.critic_table = weights_lib.critic_name_table(self.gan.local_critic,
                                                          self.gan.global_critic)
        if arrays is not None:
            self.assign(arrays)
        self.g_names = [self._name(v, self.generator_table)
                        for v in self.gan.generator.trainable_variables]
        self.d_names = [self._name(v, self.critic_table) for v in self.gan.critic_variables]

    @classmethod
    def with_drawn_weights(cls, sizes, seed):
        """Weights drawn by TF1 name from ``seed`` (as the authors' side draws them)."""
        probe = cls(sizes)
        probe.assign(weights_lib.draw_weights(probe.shapes(), seed))
        return probe

    def assign(self, arrays):
        weights_lib.assign(self.generator_table, arrays)
        weights_lib.assign(self.critic_table, arrays)

    @staticmethod
    def _name(variable, table):
        for name, candidate in table.items():
            if candidate is variable:
                return name
        raise ValueError(f"{variable.path} is not in the TF1 name table")

    def shapes(self):
        return {**weights_lib.variable_shapes(self.generator_table),
                **weights_lib.variable_shapes(self.critic_table)}

    def run(self, images, draws):
        """Loss terms (authors' names) and ``{TF1 name: gradient}`` of both losses.

        Args:
            images: float32 ``[B, S, S, 3]`` in 0..255.
            draws: :class:`gi_tf.parity.cases.TrainingDraws`.
        """
        batch = len(images)
        box = self.sizes.train_box
        holes = tf.constant(np.repeat(draws.mask, batch, axis=0))
        bboxes = tf.constant(np.tile([[draws.top, draws.left, box, box]], (batch, 1)), tf.int32)
        alphas = (tf.constant(draws.alpha_global.reshape(batch, 1, 1, 1)),
                  tf.constant(draws.alpha_local.reshape(batch, 1, 1, 1)))
        known = tf.reduce_mean(1.0 - holes)
        self.gan.draw = lambda step, update, local_batch: (holes, bboxes, alphas, known)
        x = tf.constant(images, tf.float32) / 127.5 - 1.0
        d_gradients, d_terms = self.gan.critic_gradients(x, 0)
        g_gradients, g_terms = self.gan.generator_gradients(x)
        terms = {**d_terms, **g_terms}
        out = {name: float(terms[ours]) for name, ours in LOSS_NAMES.items()}
        out["gp_loss"] *= self.config.loss.gp_weight
        out["g_gradients"] = {n: np.asarray(g) for n, g in zip(self.g_names, g_gradients)}
        out["d_gradients"] = {n: np.asarray(g) for n, g in zip(self.d_names, d_gradients)}
        return out
