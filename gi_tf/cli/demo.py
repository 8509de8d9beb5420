"""gi-demo: train, export and evaluate DeepFill v1 on a built-in borrowing task, no download.

Usage::

    gi-demo                        # or: python -m gi_tf.cli.demo
    gi-demo --steps=300 --seeds=0,1,2,3,4   # the same, trained longer, more seeds

Trains the quickstart preset (:func:`quickstart_config`, read from the same flagfile as
``gi-train --preset=quickstart``) per seed with and without attention, exports the first
seed's model, evaluates every model and the baselines on held-out wallpapers and writes
everything under ``--output_dir`` (default ``demo_out/``, where ``gi-app`` looks for a
model). The library: :mod:`gi_tf.evaluation.demo`; the output layout: docs/demo.md.
"""

import datetime

from absl import app
from absl import flags
from absl import logging

from gi_tf.cli import train
from gi_tf.cli.evaluate import command_line
from gi_tf.cli.runner import run_app
from gi_tf.evaluation.demo_settings import DEFAULT_SEEDS
from gi_tf.evaluation.demo_settings import DemoSettings
from gi_tf.utils import files

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Define this binary's flags on ``flag_values`` (tests pass a fresh ``FlagValues``)."""
    fv = {"flag_values": flag_values}
    flags.DEFINE_string("output_dir", "demo_out", "Where every output goes (created; a "
                        "rerun overwrites checkpoints and reports and adds an export "
                        "version).", **fv)
    flags.DEFINE_integer("steps", None, "Training steps per model (default: the preset's "
                         "35). Time grows linearly with it.", lower_bound=1, **fv)
    flags.DEFINE_integer("image_size", 128, "Training and evaluation image side, a multiple "
                         "of 8 >= 32 (time grows with its square). Alias: --size.", **fv)
    flags.DEFINE_alias("size", "image_size", flag_values=flag_values)
    flags.DEFINE_list("seeds", [str(s) for s in DEFAULT_SEEDS], "Training seeds: every "
                      "variant is trained once per seed, and the ablation is read from the "
                      "spread over them. Time grows linearly with their number.", **fv)
    flags.DEFINE_integer("critic_steps", None, "Critic updates per generator update (default: "
                         "the preset's 0, reconstruction losses only; > 0 also restores the "
                         "released adversarial weight 0.001). Each costs ~2 generator steps.",
                         lower_bound=0, **fv)
    flags.DEFINE_integer("batch_size", None, "Training batch size (default: the preset's 8).",
                         lower_bound=1, **fv)
    flags.DEFINE_integer("train_images", 512, "Images in the training pool.", lower_bound=1,
                         **fv)
    flags.DEFINE_integer("held_out", 16, "Held-out wallpapers (each is evaluated with every "
                         "mask kind).", lower_bound=1, **fv)
    flags.DEFINE_list("mask", ["box", "free"], "Evaluation mask kinds: box, free.", **fv)
    flags.DEFINE_integer("mask_seed", 0, "Seed of the evaluation holes.", **fv)
    flags.DEFINE_enum("photos", "no", ["auto", "yes", "no"], "Add scikit-image's sample "
                      "photographs: crops in training, 3 held-out photos (auto: when "
                      "scikit-image is installed).", **fv)
    flags.DEFINE_bool("ablation", True, "Also train and evaluate the generator without "
                      "contextual attention.", **fv)
    flags.DEFINE_integer("num_examples", 4, "Rows of eval/examples.png.", lower_bound=1, **fv)
    flags.DEFINE_bool("deterministic", True, "TensorFlow op determinism (the same command "
                      "on the same machine gives the same metrics).", **fv)


def quickstart_config(image_size=128, **overrides):
    """The CPU quickstart :class:`~gi_tf.training.config.TrainConfig`: the ``quickstart``
    preset (``gi_tf/training/presets/quickstart.flags``) read as ``gi-train
    --preset=quickstart --image_size=...`` reads it (:func:`gi_tf.cli.train.preset_configs`).

    Box holes follow gi-train's default: the released 256 px geometry scaled to
    ``image_size`` (a box of half the side, ``max_delta`` of an eighth). ``overrides``
    are gi-train flags (``max_steps``, ``batch_size``, ``critic_steps``, ...);
    ``critic_steps > 0`` without a ``loss_*`` override restores the released adversarial
    weight (the preset sets it to 0).

    Raises:
        ValueError: an invalid value (the message names the field).
    """
    from gi_tf.training.config import LossConfig  # loads TensorFlow: not for --help

    values = dict(image_size=image_size, **overrides)
    if (overrides.get("critic_steps", 0) > 0
            and not any(name.startswith("loss_") for name in overrides)):
        values["loss_gan_weight"] = LossConfig.gan_weight
    train_config, _, _ = train.preset_configs("quickstart", **values)
    return train_config


def _use_photos(choice):
    # lazy: TensorFlow not needed for --help
    from gi_tf.data import builtin_images

    if choice == "yes" and not builtin_images.photos_available():
        raise app.UsageError("--photos=yes needs scikit-image: pip install 'gi_tf[demo]'")
    return choice == "yes" or (choice == "auto" and builtin_images.photos_available())


def settings_from_flags(flag_values=FLAGS):
    """A :class:`gi_tf.evaluation.demo.DemoSettings` from parsed flags."""
    # lazy: TensorFlow not needed for --help
    from gi_tf.evaluation.evaluate import MASK_KINDS

    fv = flag_values
    if not fv.mask or set(fv.mask) - set(MASK_KINDS):
        raise app.UsageError(f"--mask must list kinds from {MASK_KINDS}; got {fv.mask}")
    try:
        seeds = tuple(int(seed) for seed in fv.seeds)
    except ValueError as err:
        raise app.UsageError(f"--seeds must list integers; got {fv.seeds}") from err
    overrides = {"max_steps": fv.steps, "batch_size": fv.batch_size,
                 "critic_steps": fv.critic_steps}
    try:
        config = quickstart_config(
            fv.image_size, **{k: v for k, v in overrides.items() if v is not None})
        return DemoSettings(
            output_dir=fv.output_dir, train_config=config, seeds=seeds,
            train_images=fv.train_images, held_out=fv.held_out, mask_kinds=tuple(fv.mask),
            mask_seed=fv.mask_seed, photos=_use_photos(fv.photos), ablation=fv.ablation,
            num_examples=fv.num_examples, deterministic=fv.deterministic,
            command=command_line("gi-demo", fv),
            date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        ).validate()
    except ValueError as err:
        raise app.UsageError(str(err)) from err


def main(argv, flag_values=FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from gi_tf.evaluation import demo as demo_pipeline  # lazy: TensorFlow not needed for --help

    logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines drown the progress
    settings = settings_from_flags(flag_values)
    try:  # an output folder that cannot be made is said before minutes of training
        files.makedirs(settings.output_dir)
        demo_pipeline.run_demo(settings)
    except files.FileError as err:
        raise SystemExit(f"gi-demo: error: {err}") from err


def run():
    """Console-script entry point (``gi-demo``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
