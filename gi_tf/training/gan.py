"""``InpaintingGAN``: the DeepFill v1 WGAN-GP training wrapper (custom ``train_step``).

One :meth:`InpaintingGAN.train_step` is one iteration of the released ``train.py``:
``critic_steps`` (5) updates of both critics (:meth:`critic_step`), then one generator
update (:meth:`generator_step`). It is written as a single-replica view, so it runs
unchanged on one device and under ``strategy.run``; :class:`gi_tf.training.loop.TrainLoop`
runs it for ``gi-train``, ``gi-demo`` and ``gi-bench``, and ``keras.Model.fit`` can too.
It receives the ``critic_steps + 1`` update batches concatenated on the batch axis (chunk
``j`` feeds update ``j``; ``fresh_critic_batches=False``: one batch for all). Draws are
stateless, seeded by the checkpointed step; the objective does not depend on the number of
replicas; losses are float32 under mixed precision; ``jit_compile`` compiles only the
gradient computation. The why of each: WORKSPACE.md, "Training".
"""

import keras
import tensorflow as tf
from keras import ops

from gi_tf.data import masks as masks_lib
from gi_tf.layers.conv_blocks import CRITIC_SLOPE
from gi_tf.layers.conv_gradients import leaky_relu_critic_input_gradient
from gi_tf.models.critics import GlobalCritic
from gi_tf.models.critics import LocalCritic
from gi_tf.models.generator import build_generator
from gi_tf.ops.box_crops import crop_boxes
from gi_tf.training import draws as step_draws
from gi_tf.training import losses as losses_lib
from gi_tf.training.loss_checks import TRAIN_TERMS

EVAL_TERMS = ("hole_mae", "known_mae", "psnr")


def make_optimizer(config, name):
    """Adam with the released settings; wrapped in a ``LossScaleOptimizer`` for float16."""
    optimizer = keras.optimizers.Adam(
        learning_rate=config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2,
        epsilon=config.epsilon, name=name)
    if config.mixed_precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_loss_scale")
    return optimizer


def _first_tensor(data):
    """The image batch out of a tensor, a ``(images, ...)`` tuple or an ``{"image": ...}``."""
    if isinstance(data, dict):
        for key in ("image", "images"):
            if key in data:
                return data[key]
        raise ValueError(f"train_step data dict needs an 'image' key; got {sorted(data)}")
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


@keras.saving.register_keras_serializable(package="gi_tf")
class InpaintingGAN(keras.Model):
    """DeepFill v1 generator + local/global WGAN-GP critics with a custom ``train_step``.

    Build it (inside the strategy's scope) with :func:`build_inpainting_gan`.

    Args:
        generator: a built :class:`gi_tf.models.InpaintGenerator`.
        local_critic: a :class:`LocalCritic` built for ``(local_size, local_size, 3)``.
        global_critic: a :class:`GlobalCritic` built for ``(image_size, image_size, 3)``.
        config: :class:`gi_tf.training.config.TrainConfig` (loss weights, sizes, masks,
            optimizer settings, seed).
        **kwargs: base ``keras.Model`` arguments.

    ``train_step(data)`` input: float ``[batches_per_step * b, H, W, 3]`` RGB in
    [-1, 1] (``b`` = per-replica batch, ``batches_per_step = critic_steps + 1`` or 1),
    or a tuple / ``{"image": ...}`` dict holding it. Returns the loss trackers' means
    (``d_global``, ``d_local``, ``gp``, ``d_total``, ``hole_l1``, ``known_l1``,
    ``g_global``, ``g_local``, ``g_adv``, ``g_total``; unweighted terms, weighted
    totals; critic terms averaged over the step's critic updates).

    ``test_step(data)`` input: images, or ``(images, holes)`` (1 = hole); without holes
    it draws masks from ``config.mask`` with a ``keras.random.SeedGenerator``. Returns
    ``hole_mae`` and ``known_mae`` (mean absolute error of the refined output on hole /
    known pixels, in [0, 1] intensity units) and ``psnr`` (dB, of the completed image in
    [0, 1], mean over images).

    Example (32x32, one critic update per generator update):
        >>> from gi_tf.models.config import ModelConfig
        >>> from gi_tf.training.config import TrainConfig, scaled_mask_config
        >>> config = TrainConfig(image_size=32, batch_size=2, critic_steps=1,
        ...                      mask=scaled_mask_config(32))
        >>> gan = build_inpainting_gan(config, ModelConfig())
        >>> images = keras.random.uniform((4, 32, 32, 3), -1.0, 1.0, seed=0)
        >>> sorted(gan.train_step(images))[:3]
        ['d_global', 'd_local', 'd_total']
        >>> int(gan.step_counter.numpy())
        1
    """

    def __init__(self, generator, local_critic, global_critic, config, **kwargs):
        kwargs.setdefault("name", "inpainting_gan")
        super().__init__(**kwargs)
        self.config = config.resolved()
        self.generator = generator
        self.local_critic = local_critic
        self.global_critic = global_critic
        self.g_optimizer = make_optimizer(self.config, "g_optimizer")
        self.d_optimizer = make_optimizer(self.config, "d_optimizer")
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.critic_variables)
        # Generator updates done so far; ONLY_FIRST_REPLICA keeps it one value under
        # tf.distribute. Seeds derive from it, so with the optimizers it is the whole
        # training state besides the weights.
        self.step_counter = keras.Variable(
            0, dtype="int64", trainable=False, name="step", aggregation="only_first_replica")
        self.eval_seed_generator = keras.random.SeedGenerator(
            self.config.seed + 1, name="eval_seed_generator")
        for term in TRAIN_TERMS + EVAL_TERMS:
            setattr(self, f"{term}_tracker", keras.metrics.Mean(name=term))
        self._critic_gradients_fn = self._maybe_jit(self.critic_gradients)
        self._generator_gradients_fn = self._maybe_jit(self.generator_gradients)
        self.built = True

    def _maybe_jit(self, method):
        if not self.config.jit_compile:
            return method
        return tf.function(method, jit_compile=True, autograph=False)

    # ----------------------------------------------------------------- properties
    @property
    def critic_variables(self):
        return self.local_critic.trainable_variables + self.global_critic.trainable_variables

    @property
    def train_trackers(self):
        return [getattr(self, f"{term}_tracker") for term in TRAIN_TERMS]

    @property
    def eval_trackers(self):
        return [getattr(self, f"{term}_tracker") for term in EVAL_TERMS]

    @property
    def metrics(self):
        return self.train_trackers + self.eval_trackers

    def train_results(self):
        """``{term: scalar tensor}``: the train trackers' means since their last reset."""
        return {tracker.name: tracker.result() for tracker in self.train_trackers}

    def reset_train_trackers(self):
        for tracker in self.train_trackers:
            tracker.reset_state()

    def compile(self, **kwargs):
        """``keras.Model.compile`` without a loss (needed only for ``evaluate``/``fit``)."""
        kwargs.setdefault("optimizer", self.g_optimizer)
        super().compile(**kwargs)

    def call(self, inputs, training=False):
        """``(coarse, refined, offsets)`` of the generator for ``(images, holes)``."""
        images, holes = inputs
        return self.generator(images, holes, training=training)

    # -------------------------------------------------------------- random draws
    def draw(self, step, update, local_batch):
        """This replica's masks, boxes and GP weights (see :func:`gi_tf.training.draws.draw`)."""
        return step_draws.draw(self.config.mask, self.config.image_size, self.config.seed,
                               step, update, local_batch)

    # ------------------------------------------------------------------- forward
    def complete(self, images, holes, training=False):
        """``(coarse, refined, completed, offsets)``; completed = refined pasted in the hole."""
        coarse, refined, offsets = self.generator(images, holes, training=training)
        coarse = ops.cast(coarse, "float32")
        refined = ops.cast(refined, "float32")
        completed = refined * holes + images * (1.0 - holes)
        return coarse, refined, completed, offsets

    def _local(self, images, bboxes, method=None):
        size = self.config.local_size
        mask = self.config.mask
        exact = mask.kind == "box" and (mask.box_height, mask.box_width) == (size, size)
        method = method or ("nearest" if exact else "bilinear")
        return crop_boxes(images, bboxes, size, size, method=method)

    @staticmethod
    def _critic_fn(critic):
        return lambda x: ops.cast(critic(x, training=True), "float32")

    def _critic_input_gradient_fn(self, critic):
        """The penalty's ``d sum(critic(x)) / dx``: hand-written (fast_gradients) or None."""
        if not self.config.fast_gradients:
            return None  # the inner GradientTape of losses.gradient_penalty
        return lambda x: leaky_relu_critic_input_gradient(
            x, critic.convs, critic.dense.kernel, CRITIC_SLOPE, critic.compute_dtype)

    @staticmethod
    def _num_replicas():
        return tf.cast(step_draws.replica_position()[1], tf.float32)

    # ------------------------------------------------------------ critic update
    def critic_gradients(self, images, update):
        """Gradients of the critic loss for one critic update (no variable changes).

        Args:
            images: float32 ``[b, H, W, 3]`` in [-1, 1], this replica's batch.
            update: int scalar, index of the update inside the step (seeds the draws).

        Returns:
            ``(gradients, terms)``: a list matching :attr:`critic_variables`, and
            ``{term: float32 scalar}`` for
            :data:`gi_tf.training.loss_checks.CRITIC_TERMS` (unscaled).
        """
        weights = self.config.loss
        step = self.step_counter.value
        holes, bboxes, (alpha_global, alpha_local), _ = self.draw(
            step, update, tf.shape(images)[0])
        _, _, completed, _ = self.complete(images, holes, training=True)
        real_local = self._local(images, bboxes)
        fake_local = self._local(completed, bboxes)
        holes_local = self._local(holes, bboxes, method="nearest")
        global_fn = self._critic_fn(self.global_critic)
        local_fn = self._critic_fn(self.local_critic)
        with tf.GradientTape() as tape:
            real_g, fake_g = tf.split(global_fn(tf.concat([images, completed], 0)), 2)
            real_l, fake_l = tf.split(local_fn(tf.concat([real_local, fake_local], 0)), 2)
            d_global = losses_lib.wasserstein_critic_loss(real_g, fake_g)
            d_local = losses_lib.wasserstein_critic_loss(real_l, fake_l)
            gp = (losses_lib.gradient_penalty(
                      global_fn, images, completed, holes, alpha_global,
                      input_gradient_fn=self._critic_input_gradient_fn(self.global_critic))
                  + losses_lib.gradient_penalty(
                      local_fn, real_local, fake_local, holes_local, alpha_local,
                      input_gradient_fn=self._critic_input_gradient_fn(self.local_critic)))
            d_total = d_global + d_local + weights.gp_weight * gp
            scaled = self.d_optimizer.scale_loss(d_total / self._num_replicas())
        gradients = tape.gradient(scaled, self.critic_variables)
        terms = {"d_global": d_global, "d_local": d_local, "gp": gp, "d_total": d_total}
        return gradients, terms

    def critic_step(self, images, update=0):
        """One update of both critics on ``images`` (``[b, H, W, 3]``); returns the terms."""
        gradients, terms = self._critic_gradients_fn(images, update)
        self.d_optimizer.apply(gradients, self.critic_variables)
        self._track(terms)
        return terms

    # --------------------------------------------------------- generator update
    def _hole_l1(self, images, coarse, refined, holes, bboxes):
        weights = self.config.loss
        if weights.discount == "box":
            size = self.config.local_size
            discount = losses_lib.box_discount_weights(size, size, weights.gamma)
            images, coarse, refined = (self._local(x, bboxes) for x in (images, coarse, refined))
        else:
            discount = losses_lib.distance_discount_weights(holes, weights.gamma)
        return losses_lib.discounted_hole_l1(images, coarse, refined, discount,
                                             weights.coarse_weight)

    def generator_gradients(self, images):
        """Gradients of the generator loss for one generator update (no variable changes).

        Args:
            images: float32 ``[b, H, W, 3]`` in [-1, 1], this replica's batch.

        Returns:
            ``(gradients, terms)``: a list matching ``generator.trainable_variables``,
            and ``{term: float32 scalar}`` for
            :data:`gi_tf.training.loss_checks.GENERATOR_TERMS` (unscaled).
        """
        weights = self.config.loss
        step = self.step_counter.value
        holes, bboxes, _, known_fraction = self.draw(
            step, self.config.critic_steps, tf.shape(images)[0])
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            coarse, refined, completed, _ = self.complete(images, holes, training=True)
            hole_l1 = self._hole_l1(images, coarse, refined, holes, bboxes)
            # Released: normalised by the batch's known fraction. Re-normalising the
            # replica's value by the *global* fraction makes the mean over replicas equal
            # the one-device loss of the whole global batch.
            known_l1 = losses_lib.known_region_l1(
                images, coarse, refined, holes, weights.coarse_weight)
            local_known = tf.reduce_mean(1.0 - holes)
            known_l1 = known_l1 * tf.math.divide_no_nan(local_known, known_fraction)
            if weights.gan_weight:
                g_global = losses_lib.wasserstein_generator_loss(
                    self._critic_fn(self.global_critic)(completed))
                g_local = losses_lib.wasserstein_generator_loss(
                    self._critic_fn(self.local_critic)(self._local(completed, bboxes)))
            else:  # reconstruction-only training: skip both critics (term weighted 0)
                g_global = g_local = tf.zeros([], tf.float32)
            g_adv = weights.global_wgan_weight * g_global + g_local
            g_total = (weights.gan_weight * g_adv + weights.l1_weight * hole_l1
                       + weights.ae_weight * known_l1)
            scaled = self.g_optimizer.scale_loss(g_total / self._num_replicas())
        gradients = tape.gradient(scaled, variables)
        terms = {"hole_l1": hole_l1, "known_l1": known_l1, "g_global": g_global,
                 "g_local": g_local, "g_adv": g_adv, "g_total": g_total}
        return gradients, terms

    def generator_step(self, images):
        """One generator update on ``images``, then ``step_counter += 1``; returns the terms."""
        gradients, terms = self._generator_gradients_fn(images)
        self.g_optimizer.apply(gradients, self.generator.trainable_variables)
        self._track(terms)
        self.step_counter.assign_add(1)
        return terms

    def _track(self, terms):
        for term, value in terms.items():
            getattr(self, f"{term}_tracker").update_state(value)

    # --------------------------------------------------------------- Keras hooks
    def split_step_batch(self, images):
        """The per-update batches of one step: ``critic_steps + 1`` tensors ``[b, H, W, 3]``."""
        batches = self.config.batches_per_step
        if batches == 1:
            return [images] * (self.config.critic_steps + 1)
        return tf.split(images, batches, axis=0)

    def train_step(self, data):
        """One training step: ``critic_steps`` critic updates, then one generator update.

        ``data``: this replica's step batch (see the class docstring). Returns the train
        trackers' means since their last reset (``{term: scalar tensor}``).
        """
        chunks = self.split_step_batch(tf.cast(_first_tensor(data), tf.float32))
        for update in range(self.config.critic_steps):
            self.critic_step(chunks[update], update)
        self.generator_step(chunks[-1])
        return self.train_results()

    def test_step(self, data):
        if isinstance(data, (tuple, list)) and len(data) > 1:
            images, holes = data[0], data[1]
        else:
            images, holes = _first_tensor(data), None
        images = tf.cast(images, tf.float32)
        if holes is None:
            size = self.config.image_size
            holes, _ = masks_lib.sample_masks(
                self.config.mask, tf.shape(images)[0], size, size,
                self.eval_seed_generator.next())
        holes = tf.cast(holes, tf.float32)
        _, refined, completed, _ = self.complete(images, holes, training=False)
        error = tf.abs(refined - images) / 2.0  # [0, 1] intensity units
        hole_mae = tf.math.divide_no_nan(tf.reduce_sum(error * holes),
                                         3.0 * tf.reduce_sum(holes))
        known_mae = tf.math.divide_no_nan(tf.reduce_sum(error * (1.0 - holes)),
                                          3.0 * tf.reduce_sum(1.0 - holes))
        mse = tf.reduce_mean(tf.square((completed - images) / 2.0), axis=(1, 2, 3))
        psnr = 10.0 * tf.math.log(1.0 / tf.maximum(mse, 1e-10)) / tf.math.log(10.0)
        self.hole_mae_tracker.update_state(hole_mae)
        self.known_mae_tracker.update_state(known_mae)
        self.psnr_tracker.update_state(psnr)
        return {tracker.name: tracker.result() for tracker in self.eval_trackers}

    def get_config(self):
        raise NotImplementedError(
            "InpaintingGAN is a training wrapper; save its parts with tf.train.Checkpoint "
            "(gi_tf.training.checkpoint) or the generator alone "
            "(gi_tf.models.checkpoints.save_generator).")


def build_inpainting_gan(train_config, model_config):
    """Build the generator, both critics and :class:`InpaintingGAN` for a run.

    Call it inside ``strategy.scope()``. Networks use ``train_config.mixed_precision``
    as their dtype policy (float32 when None). Train it with
    :class:`gi_tf.training.loop.TrainLoop` (or :func:`gi_tf.training.loop.train`).

    Args:
        train_config: :class:`gi_tf.training.config.TrainConfig`.
        model_config: :class:`gi_tf.models.config.ModelConfig`.

    Returns:
        A built :class:`InpaintingGAN` (weights and optimizer slots created).
    """
    train_config = train_config.resolved()
    dtype = train_config.mixed_precision or "float32"
    generator = build_generator(
        use_attention=model_config.use_attention,
        attention_implementation=model_config.attention_implementation,
        dtype=dtype, fast_gradients=train_config.fast_gradients)
    local_critic = LocalCritic(dtype=dtype)
    local_critic.build((None, train_config.local_size, train_config.local_size, 3))
    global_critic = GlobalCritic(dtype=dtype)
    global_critic.build((None, train_config.image_size, train_config.image_size, 3))
    return InpaintingGAN(generator, local_critic, global_critic, train_config)
