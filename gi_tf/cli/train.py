"""gi-train: train DeepFill v1 on a folder, a .flist file or TFRecord shards.

Examples (from the repository root)::

    # CPU smoke run (built-in textures, well under a minute)
    python -m gi_tf.cli.train --flagfile=flags/train/smoke.flags --model_dir=/tmp/smoke

    # the paper's Places2 set-up on every local GPU
    gi-train --flagfile=flags/train/places2_256.flags --data=/data/places2/train.flist \\
        --model_dir=runs/places2 --strategy=mirrored

    # resume: run the same command again (the newest checkpoint in --model_dir is used)

Flags become :class:`~gi_tf.training.config.TrainConfig`,
:class:`~gi_tf.models.config.ModelConfig` and :class:`~gi_tf.data.pipeline.DataConfig` (flag names
equal field names); the library never reads flags. The run records
``train_config.json``, ``model_config.json``, ``data_config.json`` and
``flags_used.flags`` (repeat with ``--flagfile=<model_dir>/flags_used.flags``) in
``--model_dir``.
"""

import dataclasses
import os

from absl import app
from absl import flags
from absl import logging

MASK_KINDS = ("box", "free", "mixed")
PRECISIONS = ("none", "mixed_float16", "mixed_bfloat16")
FLAGS_FILE = "flags_used.flags"
ALIASES = ("mask_kind", "gamma")  # accepted on input, never written


def define_flags(flag_values=flags.FLAGS):
    """Define gi-train's flags on ``flag_values``; returns their names."""
    before = set(flag_values)
    fv = dict(flag_values=flag_values)
    # Run and data.
    flags.DEFINE_string("model_dir", None, "Run directory: checkpoints, summaries, configs.",
                        **fv)
    flags.DEFINE_string("data", None, "Training images: a folder, a .flist file, a TFRecord "
                        "glob (*.tfrecord*) or builtin:textures[:N].", **fv)
    flags.DEFINE_bool("random_crop", False, "Upscale small images then random-crop "
                      "(Places2); otherwise resize to image_size (CelebA-HQ).", **fv)
    flags.DEFINE_bool("flip", False, "Random horizontal flips (not in the released code).",
                      **fv)
    flags.DEFINE_integer("shuffle_buffer", 1024, "Shuffle buffer over files; 0 = file order.",
                         **fv)
    flags.DEFINE_integer("num_parallel_calls", -1, "Parallel decoders; -1 = AUTOTUNE.", **fv)
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                      "default: one device; mirrored: all local GPUs (or --devices); "
                      "multi_worker: the cluster in TF_CONFIG.", **fv)
    flags.DEFINE_list("devices", None, "Devices for --strategy=mirrored, e.g. /gpu:0,/gpu:1.",
                      **fv)
    # Model.
    flags.DEFINE_bool("use_attention", True, "Contextual-attention branch (False = baseline).",
                      **fv)
    flags.DEFINE_enum("attention_implementation", "batched", ["batched", "literal"],
                      "Contextual attention implementation.", **fv)
    # Schedule and optimiser.
    flags.DEFINE_integer("image_size", 256, "Training image side (multiple of 8).", **fv)
    flags.DEFINE_integer("batch_size", 16, "GLOBAL batch size of every update.", **fv)
    flags.DEFINE_integer("max_steps", 1_000_000, "Generator updates in total.", **fv)
    flags.DEFINE_integer("critic_steps", 5, "Critic updates per generator update.", **fv)
    flags.DEFINE_bool("fresh_critic_batches", True, "A new batch for every update "
                      "(released); False reuses one batch per step.", **fv)
    flags.DEFINE_integer("local_size", 0, "Local critic input side; 0 = image_size // 2.",
                         **fv)
    flags.DEFINE_float("learning_rate", 1e-4, "Adam learning rate (both networks).", **fv)
    flags.DEFINE_float("beta_1", 0.5, "Adam beta_1.", **fv)
    flags.DEFINE_float("beta_2", 0.9, "Adam beta_2.", **fv)
    flags.DEFINE_float("epsilon", 1e-8, "Adam epsilon (TF1 default).", **fv)
    flags.DEFINE_enum("mixed_precision", "none", list(PRECISIONS),
                      "Mixed precision policy (float16 uses dynamic loss scaling).", **fv)
    flags.DEFINE_bool("jit_compile", False, "XLA-compile the gradient computations.", **fv)
    flags.DEFINE_bool("run_eagerly", False, "Run steps eagerly (debugging; slow).", **fv)
    flags.DEFINE_integer("seed", 0, "Seeds weights, masks, penalties and the data order.",
                         **fv)
    flags.DEFINE_integer("checkpoint_every", 1000, "Steps between checkpoints.", **fv)
    flags.DEFINE_integer("summary_every", 100, "Steps between TensorBoard summaries.", **fv)
    flags.DEFINE_integer("log_every", 10, "Steps between progress lines.", **fv)
    flags.DEFINE_integer("keep_checkpoints", 5, "Checkpoints to keep.", **fv)
    flags.DEFINE_integer("summary_images", 4, "Images per TensorBoard panel set.", **fv)
    # Losses: --loss_<field> set LossConfig fields.
    flags.DEFINE_float("loss_gamma", 0.9, "Spatial discount (released 0.9; paper 0.99; "
                       "1 = off).", **fv)
    flags.DEFINE_alias("gamma", "loss_gamma", flag_values=flag_values)
    flags.DEFINE_enum("loss_discount", "box", ["box", "distance"], "box: released "
                      "bbox-edge form; distance: gamma**distance to the nearest known pixel.",
                      **fv)
    flags.DEFINE_float("loss_coarse_weight", 1.2, "Weight of coarse terms inside the L1 "
                       "losses.", **fv)
    flags.DEFINE_float("loss_l1_weight", 1.2, "Weight of the discounted hole L1.", **fv)
    flags.DEFINE_float("loss_ae_weight", 1.2, "Weight of the known-region L1.", **fv)
    flags.DEFINE_float("loss_gan_weight", 0.001, "Weight of the adversarial terms.", **fv)
    flags.DEFINE_float("loss_gp_weight", 10.0, "Gradient penalty weight (lambda).", **fv)
    flags.DEFINE_float("loss_global_wgan_weight", 1.0, "Global critic weight in the GAN "
                       "term.", **fv)
    # Masks: --mask picks the kind; --mask_<field> set MaskConfig fields.
    flags.DEFINE_enum("mask", "box", list(MASK_KINDS), "Training holes.", **fv)
    flags.DEFINE_alias("mask_kind", "mask", flag_values=flag_values)
    flags.DEFINE_integer("mask_box_height", 0, "Box height; 0 = image_size // 2 (128 at "
                         "256, released).", **fv)
    flags.DEFINE_integer("mask_box_width", 0, "Box width; 0 = image_size // 2.", **fv)
    flags.DEFINE_integer("mask_max_delta_height", -1, "Total vertical hole shrink inside "
                         "the box; -1 = image_size // 8 (32 at 256, released).", **fv)
    flags.DEFINE_integer("mask_max_delta_width", -1, "Total horizontal shrink; -1 = "
                         "image_size // 8.", **fv)
    flags.DEFINE_integer("mask_vertical_margin", 0, "Minimal box distance to top/bottom.",
                         **fv)
    flags.DEFINE_integer("mask_horizontal_margin", 0, "Minimal box distance to the sides.",
                         **fv)
    flags.DEFINE_float("mask_free_ratio", 0.5, "Share of free-form holes for --mask=mixed.",
                       **fv)
    flags.DEFINE_bool("mask_per_sample", True, "One mask per image (False: one per batch, "
                      "as released).", **fv)
    flags.DEFINE_integer("mask_max_strokes", 3, "Brush strokes per free-form hole (at most).",
                         **fv)
    flags.mark_flags_as_required(["model_dir", "data"], flag_values=flag_values)
    return sorted(set(flag_values) - before)


def configs_from_flags(flag_values):
    """``(TrainConfig, ModelConfig, DataConfig)`` from parsed flags (validated)."""
    from gi_tf.data.pipeline import DataConfig
    from gi_tf.models.config import ModelConfig
    from gi_tf.training.config import LossConfig
    from gi_tf.training.config import TrainConfig
    from gi_tf.training.config import scaled_mask_config

    f = flag_values
    size = f.image_size

    delta = size // 8  # -1 = scaled with the image, as the released 32 at 256
    mask = scaled_mask_config(
        size, kind=f.mask,
        box_height=f.mask_box_height or size // 2,
        box_width=f.mask_box_width or size // 2,
        max_delta_height=f.mask_max_delta_height if f.mask_max_delta_height >= 0 else delta,
        max_delta_width=f.mask_max_delta_width if f.mask_max_delta_width >= 0 else delta,
        vertical_margin=f.mask_vertical_margin, horizontal_margin=f.mask_horizontal_margin,
        free_ratio=f.mask_free_ratio, per_sample=f.mask_per_sample,
        max_strokes=f.mask_max_strokes)
    loss = LossConfig(**{field.name: f[f"loss_{field.name}"].value
                         for field in dataclasses.fields(LossConfig)})
    train_config = TrainConfig(
        image_size=size, batch_size=f.batch_size, critic_steps=f.critic_steps,
        fresh_critic_batches=f.fresh_critic_batches, max_steps=f.max_steps,
        local_size=f.local_size or None, learning_rate=f.learning_rate, beta_1=f.beta_1,
        beta_2=f.beta_2, epsilon=f.epsilon, loss=loss, mask=mask,
        mixed_precision=None if f.mixed_precision == "none" else f.mixed_precision,
        jit_compile=f.jit_compile, run_eagerly=f.run_eagerly, seed=f.seed,
        checkpoint_every=f.checkpoint_every, summary_every=f.summary_every,
        log_every=f.log_every, keep_checkpoints=f.keep_checkpoints,
        summary_images=f.summary_images)
    model_config = ModelConfig(use_attention=f.use_attention,
                               attention_implementation=f.attention_implementation)
    data_config = DataConfig(source=f.data, image_size=size, random_crop=f.random_crop,
                             flip=f.flip, shuffle_buffer=f.shuffle_buffer,
                             num_parallel_calls=f.num_parallel_calls, seed=f.seed)
    train_config.validate()
    model_config.validate()
    data_config.validate()
    return train_config, model_config, data_config


def write_flags_file(directory, flag_values, names):
    """Write ``--name=value`` lines of ``names`` to ``directory/flags_used.flags`` atomically."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, FLAGS_FILE)
    lines = ["# Flags of the last gi-train run in this directory; repeat it with",
             f"# python -m gi_tf.cli.train --flagfile={path}"]
    for name in names:
        if name in ALIASES:
            continue
        flag = flag_values[name]
        if flag.value is not None:
            lines.append(flag.serialize())
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


def train_from_flags(flag_values, names=None):
    """Build configs and the strategy from parsed flags, record them, and train.

    Returns:
        :class:`gi_tf.training.loop.TrainResult`.

    Raises:
        app.UsageError: invalid flag values.
        SystemExit: a loss became NaN/Inf or ``--model_dir`` cannot be resumed (the
            message says which term, step or checkpoint).
    """
    try:
        train_config, model_config, data_config = configs_from_flags(flag_values)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    from gi_tf.training import distribute
    from gi_tf.training.loop import train
    from gi_tf.training.loss_checks import NonFiniteLossError

    strategy = distribute.make_strategy(flag_values.strategy, flag_values.devices)
    model_dir = flag_values.model_dir
    if distribute.worker_info(strategy).is_chief:
        write_flags_file(model_dir, flag_values, names or define_flags(flags.FlagValues()))
    try:
        result = train(train_config, model_config, data_config, model_dir,
                       strategy=strategy, log=logging.info)
    except (NonFiniteLossError, ValueError) as err:
        logging.error("%s", err)
        raise SystemExit(f"gi-train: {err}") from err
    logging.info("Done: step %d, checkpoint %s", result.step, result.checkpoint)
    return result


def main(argv, flag_values=flags.FLAGS):
    """``app.run`` entry point: train with the parsed ``flag_values``."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]} (an indented comment line in "
                             "a flagfile also shows up here)")
    train_from_flags(flag_values)


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
