"""gi-train: train DeepFill v1 on a folder, a .flist file or TFRecord shards.

Examples (from the repository root)::

    # CPU smoke run (built-in textures, well under a minute)
    gi-train --preset=smoke --model_dir=/tmp/smoke

    # the paper's Places2 set-up on every local GPU
    gi-train --preset=places2_256 --data=/data/places2/train.flist \\
        --model_dir=runs/places2 --strategy=mirrored

    # resume: run the same command again (the newest checkpoint in --model_dir is used)

Flags become :class:`~gi_tf.training.config.TrainConfig`,
:class:`~gi_tf.models.config.ModelConfig` and :class:`~gi_tf.data.pipeline.DataConfig` (flag names
equal field names); the library never reads flags. ``--preset=NAME`` (places2_256, celebahq,
smoke, quickstart: :mod:`gi_tf.training.presets`) sets a named preset's flags where it
stands, like ``--flagfile`` of that preset (in a checkout ``flags/train/NAME.flags``, a link
to the same file): flags after it override it. The run records
``train_config.json``, ``model_config.json``, ``data_config.json`` and
``flags_used.flags`` (repeat with ``--flagfile=<model_dir>/flags_used.flags``) in
``--model_dir``.
"""

import contextlib

from absl import app
from absl import flags
from absl import logging

from gi_tf.cli import config_flags
from gi_tf.cli.runner import run_app
from gi_tf.data.config import DataConfig
from gi_tf.data.config import MaskConfig
from gi_tf.models.config import ModelConfig
from gi_tf.training.config import LossConfig
from gi_tf.training.config import STRATEGIES
from gi_tf.training.config import TrainConfig
from gi_tf.training.config import scaled_mask_config
from gi_tf.training.presets import preset_names
from gi_tf.training.presets import preset_path
from gi_tf.utils import files

FLAGS_FILE = "flags_used.flags"
ALIASES = ("mask_kind", "gamma")  # accepted on input, never written
# MaskConfig geometry defaults to the released 256 px box scaled to --image_size
# (training.config.scaled_mask_config); older runs wrote these legacy "scaled" values.
SCALED_MASK_FIELDS = {"box_height": 0, "box_width": 0, "max_delta_height": -1,
                      "max_delta_width": -1}
MASK_FLAGS = dict(prefix="mask_", rename={"kind": "mask"})
DATA_FLAGS = dict(rename={"source": "data"}, skip=("image_size", "seed"))
TRAIN_SKIP = ("loss", "mask")
PRESET = "preset"  # its values are written out flag by flag, never the name itself
STALL_AFTER_S = 600  # a multi-replica run without a progress line this long says so


class PresetFlag(flags.Flag):
    """``--preset=NAME``: parses the preset's flagfile into the flags, where it stands.

    absl parses flags in order and a later value replaces an earlier one, so the preset's
    values come first and every flag after ``--preset`` (on the command line or in a
    flagfile) overrides them, exactly as with ``--flagfile=<the preset's file>``.
    """

    def __init__(self, flag_values):
        names = preset_names()
        super().__init__(
            flags.EnumParser(names), flags.ArgumentSerializer(), PRESET, None,
            f"Named training preset, one of {', '.join(names)} (shipped with gi_tf; "
            "gi_tf/training/presets/). Its values are set where --preset stands: flags "
            "after it override them.")
        self._target = flag_values

    def parse(self, argument):
        super().parse(argument)
        path = preset_path(self.value)
        for arg in self._target.read_flags_from_files([f"--flagfile={path}"],
                                                      force_gnu=False):
            name, sep, value = arg.lstrip("-").partition("=")
            if not sep:  # --flag / --noflag: booleans only
                value = "true"
                if name not in self._target and name.startswith("no"):
                    name, value = name[2:], "false"
            flag = self._target[name] if name in self._target else None
            if flag is None or (not sep and not flag.boolean):
                raise flags.Error(f"preset {self.value!r} ({path}): cannot apply {arg!r}")
            flag.parse(value)
            flag.using_default_value = False


def define_flags(flag_values=flags.FLAGS):
    """Define gi-train's flags on ``flag_values``; returns their names.

    Every flag but ``--model_dir``, ``--strategy`` and ``--devices`` is a field of
    :class:`~gi_tf.training.config.TrainConfig`, ``LossConfig`` (``--loss_*``),
    :class:`~gi_tf.data.masks.MaskConfig` (``--mask``, ``--mask_*``),
    :class:`~gi_tf.data.pipeline.DataConfig` (``--data`` = ``source``) or
    :class:`~gi_tf.models.config.ModelConfig`, with that field's default and help.
    """
    before = set(flag_values)
    fv = dict(flag_values=flag_values)
    flags.DEFINE_flag(PresetFlag(flag_values), flag_values=flag_values)
    flags.DEFINE_string("model_dir", None, "Run directory: checkpoints, summaries, configs "
                        "(any TensorFlow filesystem: a local path, gs://..., ram://...).", **fv)
    flags.DEFINE_enum("strategy", "default", list(STRATEGIES),
                      "default: one device; mirrored: all local GPUs (or --devices); "
                      "multi_worker: the cluster in TF_CONFIG.", **fv)
    flags.DEFINE_list("devices", None, "Devices for --strategy=mirrored, e.g. /gpu:0,/gpu:1; "
                      "each must be one TensorFlow sees (/cpu:0,/cpu:1 splits the CPU into "
                      "logical devices: the multi-replica path on one machine, no faster).",
                      **fv)
    config_flags.define_config_flags(DataConfig, flag_values, **DATA_FLAGS)
    config_flags.define_config_flags(ModelConfig, flag_values)
    config_flags.define_config_flags(TrainConfig, flag_values, skip=TRAIN_SKIP,
                                     help_suffix={"seed": " Also the data seed."})
    config_flags.define_config_flags(LossConfig, flag_values, prefix="loss_")
    flags.DEFINE_alias("gamma", "loss_gamma", flag_values=flag_values)
    scaled = " Default: scaled with --image_size (the released value at 256)."
    config_flags.define_config_flags(
        MaskConfig, flag_values, **MASK_FLAGS,
        defaults={name: None for name in SCALED_MASK_FIELDS},
        help_suffix={name: scaled for name in SCALED_MASK_FIELDS})
    flags.DEFINE_alias("mask_kind", "mask", flag_values=flag_values)
    flags.mark_flags_as_required(["model_dir", "data"], flag_values=flag_values)
    return sorted(set(flag_values) - before)


def configs_from_flags(flag_values):
    """``(TrainConfig, ModelConfig, DataConfig)`` from parsed flags (validated)."""
    values = config_flags.config_values(TrainConfig, flag_values, skip=TRAIN_SKIP)
    if values.get("local_size") == 0:  # the legacy spelling of "image_size // 2"
        values["local_size"] = None
    mask_values = config_flags.config_values(MaskConfig, flag_values, **MASK_FLAGS)
    for name, legacy in SCALED_MASK_FIELDS.items():
        if mask_values.get(name) == legacy:
            del mask_values[name]
    mask = scaled_mask_config(values["image_size"], **mask_values)
    loss = config_flags.config_from_flags(LossConfig, flag_values, prefix="loss_")
    train_config = TrainConfig(loss=loss, mask=mask, **values)
    model_config = config_flags.config_from_flags(ModelConfig, flag_values)
    data_config = config_flags.config_from_flags(
        DataConfig, flag_values, **DATA_FLAGS, image_size=train_config.image_size,
        seed=train_config.seed)
    return train_config, model_config, data_config


def preset_configs(name, **flag_overrides):
    """``(TrainConfig, ModelConfig, DataConfig)`` of preset ``name``, as gi-train reads it.

    The same as ``gi-train --preset=NAME --name=value ...`` (the preset first, then the
    overrides, by gi-train flag name, e.g. ``image_size=64``, ``loss_gan_weight=0.001``),
    without a ``--model_dir``. gi-demo builds its training config this way, so the
    preset's flagfile is the one source of its values.

    Raises:
        ValueError: an unknown preset or flag, or an invalid value.
    """
    flag_values = flags.FlagValues()
    define_flags(flag_values)
    try:
        flag_values[PRESET].parse(name)
        for flag_name, value in flag_overrides.items():
            if flag_name not in flag_values:
                raise ValueError(f"--{flag_name}: no such gi-train flag")
            flag_values[flag_name].parse(value)
    except flags.Error as err:
        raise ValueError(str(err)) from err
    flag_values.mark_as_parsed()
    return configs_from_flags(flag_values)


def write_flags_file(directory, flag_values, names):
    """Write ``--name=value`` lines of ``names`` to ``directory/flags_used.flags`` atomically."""
    path = files.join(directory, FLAGS_FILE)
    lines = ["# Flags of the last gi-train run in this directory; repeat it with",
             f"# python -m gi_tf.cli.train --flagfile={path}"]
    if PRESET in flag_values and flag_values[PRESET].value is not None:
        lines.append(f"# (started from --preset={flag_values[PRESET].value}; its values are "
                     "written out below)")
    for name in names:
        if name in ALIASES or name == PRESET:
            continue
        flag = flag_values[name]
        if flag.value is not None:
            lines.append(flag.serialize())
    return files.write_text(path, "\n".join(lines) + "\n")


def train_from_flags(flag_values, names=None):
    """Build configs and the strategy from parsed flags, record them, and train.

    Returns:
        :class:`gi_tf.training.loop.TrainResult`.

    Raises:
        app.UsageError: invalid flag values.
        SystemExit: a loss became NaN/Inf, ``--model_dir`` cannot be resumed, or a
            write failed (the message says which term, step, checkpoint or file).
    """
    try:
        train_config, model_config, data_config = configs_from_flags(flag_values)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    from gi_tf.training import distribute  # lazy: TensorFlow start-up
    from gi_tf.training.loop import train  # lazy: TensorFlow start-up
    from gi_tf.training.loss_checks import NonFiniteLossError  # lazy: TensorFlow start-up

    try:
        strategy = distribute.make_strategy(flag_values.strategy, flag_values.devices,
                                            log=logging.info)
    except ValueError as err:  # devices TensorFlow does not see, a bad TF_CONFIG
        raise app.UsageError(str(err)) from err
    model_dir = flag_values.model_dir
    info = distribute.worker_info(strategy)
    from gi_tf.data import sources  # lazy: TensorFlow start-up

    try:  # a bad --data writes no run directory
        sources.check_source(data_config.source)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"gi-train: error: {err}") from err
    if info.is_chief:
        write_flags_file(model_dir, flag_values, names or define_flags(flags.FlagValues()))
    watch = None
    if info.num_replicas > 1:  # steps end in collectives that wait for every replica
        what = (f"all {info.num_workers} workers of TF_CONFIG" if info.num_workers > 1
                else f"all {info.num_replicas} replicas")
        watch = distribute.StallWatch(logging.warning, STALL_AFTER_S, what)

    def log(message):
        if watch is not None:
            watch.progress()
        logging.info("%s", message)

    try:
        with watch if watch is not None else contextlib.nullcontext():
            result = train(train_config, model_config, data_config, model_dir,
                           strategy=strategy, log=log)
    except (NonFiniteLossError, ValueError, OSError) as err:  # OSError: a failed write
        raise SystemExit(f"gi-train: error: {err}") from err  # printed once, by Python
    logging.info("Done: step %d, checkpoint %s", result.step, result.checkpoint)
    return result


def main(argv, flag_values=flags.FLAGS):
    """``app.run`` entry point: train with the parsed ``flag_values``."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]} (an indented comment line in "
                             "a flagfile also shows up here)")
    train_from_flags(flag_values)


def run():
    """Console-script entry point (``gi-train``)."""
    run_app(main, define_flags)


if __name__ == "__main__":
    run()
