"""Training configuration: loss weights and the training run, as frozen dataclasses.

Built from absl flags in ``gi_tf/cli/train.py`` (flag names equal field names) and
passed down explicitly to :func:`gi_tf.training.loop.train`; written as JSON
(``train_config.json``) next to the checkpoints of every run. Defaults are the released
v1.0.0 code's (``inpaint.yml`` and ``train.py`` of JiahuiYu/generative_inpainting, branch
``v1.0.0``) unless a docstring says otherwise.
"""

import dataclasses
import math

from gi_tf.data.config import MaskConfig
from gi_tf.utils import files
from gi_tf.utils.options import option

TRAIN_CONFIG_FILE = "train_config.json"
DISCOUNTS = ("box", "distance")
MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")
# gi-train --strategy (gi_tf.training.distribute makes them; named here, without TensorFlow)
STRATEGIES = ("default", "mirrored", "multi_worker")


def _fail(config, field, rule):
    raise ValueError(
        f"{type(config).__name__}.{field}={getattr(config, field)!r}: {rule}")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Weights of the DeepFill v1 objective (``inpaint_model.py``: ``build_graph_with_losses``).

    ``g_loss = gan_weight * (global_wgan_weight * g_global + g_local)
    + l1_weight * hole_l1 + ae_weight * known_l1`` and
    ``d_loss = d_global + d_local + gp_weight * (gp_global + gp_local)``.

    Attributes:
        gamma: spatial-discount base in ``(0, 1]`` (released 0.9; the paper's 0.99;
            1 = no discount).
        coarse_weight: weight of the coarse-stage terms inside both L1 losses (1.2).
        l1_weight: weight of the discounted hole L1 (1.2).
        ae_weight: weight of the known-region L1 (1.2).
        gan_weight: weight of the adversarial terms (0.001).
        gp_weight: gradient-penalty weight lambda (10).
        global_wgan_weight: weight of the global critic inside the adversarial term (1).
        discount: ``"box"`` (released: ``gamma**distance to the box edge`` over the local
            crop, i.e. the hole's box resized to ``local_size``) or ``"distance"``
            (``gamma**distance to the nearest known pixel`` over the whole image; the
            paper's definition, for free-form holes).
    """

    gamma: float = option(0.9, "Spatial discount (released 0.9; paper 0.99; 1 = off).")
    coarse_weight: float = option(1.2, "Weight of coarse terms inside the L1 losses.")
    l1_weight: float = option(1.2, "Weight of the discounted hole L1.")
    ae_weight: float = option(1.2, "Weight of the known-region L1.")
    gan_weight: float = option(0.001, "Weight of the adversarial terms.")
    gp_weight: float = option(10.0, "Gradient penalty weight (lambda).")
    global_wgan_weight: float = option(1.0, "Global critic weight in the GAN term.")
    discount: str = option("box", "box: released bbox-edge form; distance: "
                           "gamma**distance to the nearest known pixel.", choices=DISCOUNTS)

    def __post_init__(self):
        self.validate()  # an invalid LossConfig cannot exist

    def validate(self):
        """Raise ``ValueError`` naming the first invalid field; return ``self``.

        Runs when the config is made (``__post_init__``, ``dataclasses.replace`` too).
        """
        if not 0.0 < self.gamma <= 1.0:
            _fail(self, "gamma", "must be in (0, 1]")
        for field in ("coarse_weight", "l1_weight", "ae_weight", "gan_weight", "gp_weight",
                      "global_wgan_weight"):
            value = getattr(self, field)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                _fail(self, field, "must be a finite number >= 0")
        if self.discount not in DISCOUNTS:
            _fail(self, "discount", f"must be one of {DISCOUNTS}")
        return self


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Attributes:
        image_size: int, training images are ``image_size x image_size`` (a multiple of
            8, >= 32; 256 released).
        batch_size: int, **global** batch size of every critic and generator update
            (16 released); divided evenly among the replicas.
        critic_steps: int >= 0, critic updates per generator update (5 released).
        fresh_critic_batches: bool. True (released): every critic update and the
            generator update get their own batch, so one training step consumes
            ``(critic_steps + 1) * batch_size`` images. False: the step's single batch
            is reused by all updates, each with fresh masks (cheaper input pipeline).
        max_steps: int, number of generator updates (1,000,000 released).
        local_size: int or None, side of the local critic's input: the hole's bounding
            box is cropped and resized to ``local_size x local_size``. None means
            ``image_size // 2`` (128 at 256, the released box size).
        learning_rate, beta_1, beta_2, epsilon: Adam settings of both optimizers
            (1e-4, 0.5, 0.9, 1e-8 = TF1's default epsilon).
        loss: :class:`LossConfig`.
        mask: :class:`gi_tf.data.masks.MaskConfig`; its box sizes are in pixels of
            ``image_size``.
        mixed_precision: None (float32), ``"mixed_float16"`` (with dynamic loss
            scaling) or ``"mixed_bfloat16"``.
        jit_compile: bool, compile the per-replica gradient computations with XLA.
        fast_gradients: bool, hand-written gradients where TensorFlow's automatic ones
            are slow on CPU (the generator's stride-1 convolutions, the critics' input
            gradient inside the gradient penalty); same values to float32 rounding.
            False = TensorFlow's automatic gradients (the reference).
        run_eagerly: bool, run the training step eagerly instead of as a compiled
            ``tf.function`` (debugging; much slower).
        seed: int, seeds masks, gradient-penalty interpolation, weight initialisation
            and the data order.
        steps_per_loop: int > 0, training steps run by one compiled call of
            :class:`gi_tf.training.loop.TrainLoop` (a call also ends at every log,
            summary and checkpoint boundary); losses are read back between calls only.
        checkpoint_every: int > 0, steps between checkpoints (a final one is always
            written).
        summary_every: int > 0, steps between TensorBoard scalar/image summaries.
        log_every: int > 0, steps between progress lines.
        keep_checkpoints: int > 0, checkpoints kept by the ``CheckpointManager``.
        summary_images: int >= 0, images in each TensorBoard panel.
    """

    image_size: int = option(256, "Training image side (multiple of 8).")
    batch_size: int = option(16, "GLOBAL batch size of every update.")
    critic_steps: int = option(5, "Critic updates per generator update.")
    fresh_critic_batches: bool = option(True, "A new batch for every update (released); "
                                        "False reuses one batch per step.")
    max_steps: int = option(1_000_000, "Generator updates in total.")
    local_size: int | None = option(None, "Local critic input side; default image_size // 2.")
    learning_rate: float = option(1e-4, "Adam learning rate (both networks).")
    beta_1: float = option(0.5, "Adam beta_1.")
    beta_2: float = option(0.9, "Adam beta_2.")
    epsilon: float = option(1e-8, "Adam epsilon (TF1 default).")
    loss: LossConfig = option(default_factory=LossConfig, help="Loss weights.")
    mask: MaskConfig = option(default_factory=MaskConfig, help="Training holes.")
    mixed_precision: str | None = option(
        None, "Mixed precision policy (float16 uses dynamic loss scaling); default float32.",
        choices=MIXED_PRECISION_POLICIES)
    jit_compile: bool = option(False, "XLA-compile the gradient computations.")
    fast_gradients: bool = option(True, "Hand-written gradients for the generator's stride-1 "
                                  "convolutions and the critics' penalty (faster, same "
                                  "values to float32 rounding); False = automatic ones.")
    run_eagerly: bool = option(False, "Run steps eagerly (debugging; slow).")
    seed: int = option(0, "Seeds weights, masks, penalties and the data order.")
    steps_per_loop: int = option(100, "Training steps per compiled call (fewer at log, "
                                 "summary and checkpoint boundaries); losses are read "
                                 "back only between calls.")
    checkpoint_every: int = option(1000, "Steps between checkpoints.")
    summary_every: int = option(100, "Steps between TensorBoard summaries.")
    log_every: int = option(10, "Steps between progress lines.")
    keep_checkpoints: int = option(5, "Checkpoints to keep.")
    summary_images: int = option(4, "Images per TensorBoard panel set.")

    def __post_init__(self):
        self._check_fields()  # an invalid TrainConfig cannot exist

    @property
    def resolved_local_size(self):
        """``local_size``, or ``image_size // 2`` when it is None."""
        return self.local_size if self.local_size is not None else self.image_size // 2

    @property
    def batches_per_step(self):
        """Batches of ``batch_size`` images one training step consumes."""
        return self.critic_steps + 1 if self.fresh_critic_batches else 1

    @property
    def images_per_step(self):
        """Images one training step reads from the input pipeline (global)."""
        return self.batches_per_step * self.batch_size

    def resolved(self):
        """A copy with every ``None`` default filled in (what a run records)."""
        return dataclasses.replace(self, local_size=self.resolved_local_size)

    def validate(self, num_replicas=1):
        """Raise ``ValueError`` if ``batch_size`` does not split over ``num_replicas``;
        return ``self``.

        Every field was checked when the config was made (``__post_init__``); this adds
        the one rule that depends on the run's strategy.

        Args:
            num_replicas: int, replicas in sync; ``batch_size`` must divide evenly.
        """
        if self.batch_size % num_replicas:
            _fail(self, "batch_size",
                  f"must be divisible by the number of replicas ({num_replicas})")
        return self

    def _check_fields(self):
        """Raise ``ValueError`` naming the first invalid field (the loss and mask
        configs checked themselves when made; here the mask must fit the image)."""
        if self.image_size < 32 or self.image_size % 8:
            _fail(self, "image_size", "must be a multiple of 8 and >= 32")
        if self.batch_size < 1:
            _fail(self, "batch_size", "must be >= 1")
        if self.critic_steps < 0:
            _fail(self, "critic_steps", "must be >= 0")
        if self.max_steps < 0:
            _fail(self, "max_steps", "must be >= 0")
        if self.local_size is not None and not 8 <= self.local_size <= self.image_size:
            _fail(self, "local_size", "must be in [8, image_size] (or None)")
        for field in ("learning_rate", "epsilon"):
            if not getattr(self, field) > 0:
                _fail(self, field, "must be > 0")
        for field in ("beta_1", "beta_2"):
            if not 0.0 <= getattr(self, field) < 1.0:
                _fail(self, field, "must be in [0, 1)")
        if self.mixed_precision not in (None,) + MIXED_PRECISION_POLICIES:
            _fail(self, "mixed_precision", f"must be None or one of {MIXED_PRECISION_POLICIES}")
        for field in ("steps_per_loop", "checkpoint_every", "summary_every", "log_every",
                      "keep_checkpoints"):
            if getattr(self, field) < 1:
                _fail(self, field, "must be >= 1")
        if self.summary_images < 0:
            _fail(self, "summary_images", "must be >= 0")
        self.mask.check_image_size(self.image_size, self.image_size)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        values = dict(values)
        nested = {"loss": LossConfig, "mask": MaskConfig}
        for key, kind in nested.items():
            if isinstance(values.get(key), dict):
                values[key] = _from_dict(kind, values[key])
        return _from_dict(cls, values)

    def write(self, directory):
        """Write the resolved config to ``directory/train_config.json`` (atomically)."""
        return write_json(files.join(directory, TRAIN_CONFIG_FILE),
                          self.resolved().to_dict())


def scaled_mask_config(image_size, kind="box", **overrides):
    """The released box geometry scaled to ``image_size``: a :class:`MaskConfig`.

    At 256 the released code draws 128x128 boxes and shrinks the hole by 0..16 px per
    side (``MAX_DELTA`` 32); at other sizes the box is ``image_size // 2`` and the
    shrink range ``image_size // 8``, so the hole covers the same share of the image.

    Args:
        image_size: int, training image side.
        kind: ``"box"``, ``"free"`` or ``"mixed"``.
        **overrides: any other :class:`MaskConfig` field.

    Example:
        >>> scaled_mask_config(64).box_height, scaled_mask_config(64).max_delta_height
        (32, 8)
    """
    box, delta = image_size // 2, image_size // 8
    values = dict(kind=kind, box_height=box, box_width=box, max_delta_height=delta,
                  max_delta_width=delta)
    values.update(overrides)
    return MaskConfig(**values)


def read_train_config(directory):
    """The :class:`TrainConfig` recorded in ``directory/train_config.json``, or None."""
    path = files.join(directory, TRAIN_CONFIG_FILE)
    if not files.exists(path):
        return None
    return TrainConfig.from_dict(files.read_json(path))


def _from_dict(cls, values):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"Unknown {cls.__name__} fields {unknown}; known: {sorted(known)}")
    return cls(**values)


def write_json(path, values):
    """Write ``values`` as indented JSON atomically (:func:`gi_tf.utils.files.write_json`)."""
    return files.write_json(path, values)
