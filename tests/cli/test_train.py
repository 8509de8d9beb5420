"""gi-train: flagfiles, flags -> configs, the smoke preset end to end, exact resume."""

import dataclasses
import glob
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from absl import app
from absl import flags

from gi_tf.cli import train as train_cli
from gi_tf.cli.config_flags import flag_fields
from gi_tf.data.masks import MaskConfig
from gi_tf.data.pipeline import DataConfig
from gi_tf.models.checkpoints import load_generator
from gi_tf.models.config import ModelConfig
from gi_tf.training import presets
from gi_tf.training.config import LossConfig
from gi_tf.training.config import TrainConfig
from gi_tf.training.config import read_train_config
from gi_tf.training.loss_checks import TRAIN_TERMS

import shared_artifacts
from event_files import read_events

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLAGFILES = sorted(glob.glob(os.path.join(REPO_ROOT, "flags", "train", "*.flags")))
SMOKE = os.path.join(REPO_ROOT, "flags", "train", "smoke.flags")


def _parse(argv):
    flag_values = flags.FlagValues()
    train_cli.define_flags(flag_values)
    flag_values(["gi-train"] + argv)
    return flag_values


@pytest.mark.smoke
@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_every_flagfile_parses_and_validates(path, tmp_path):
    # --data before the flagfile: a file that names its data source overrides it.
    flag_values = _parse(["--data=/data/images", f"--flagfile={path}",
                          f"--model_dir={tmp_path}"])
    train_config, model_config, data_config = train_cli.configs_from_flags(flag_values)
    assert data_config.image_size == train_config.image_size
    assert isinstance(model_config, ModelConfig)


@pytest.mark.parametrize("name,random_crop", [("places2_256", True), ("celebahq", False)])
def test_paper_presets_hold_the_released_settings(name, random_crop, tmp_path):
    path = os.path.join(REPO_ROOT, "flags", "train", f"{name}.flags")
    flag_values = _parse([f"--flagfile={path}", f"--model_dir={tmp_path}", "--data=x"])
    train_config, _, data_config = train_cli.configs_from_flags(flag_values)
    released = TrainConfig()  # its defaults are checked against the released ones elsewhere
    assert train_config.loss == LossConfig() and train_config.mask == MaskConfig()
    for field in ("image_size", "batch_size", "critic_steps", "fresh_critic_batches",
                  "max_steps", "learning_rate", "beta_1", "beta_2", "epsilon"):
        assert getattr(train_config, field) == getattr(released, field), field
    assert data_config.random_crop is random_crop and not data_config.flip


def test_flags_reach_every_config(tmp_path):
    flag_values = _parse([
        f"--model_dir={tmp_path}", "--data=photos.flist", "--image_size=64", "--batch_size=4",
        "--mask_kind=free", "--mask_max_strokes=2", "--mask_per_sample=false",
        "--mixed_precision=mixed_bfloat16", "--local_size=24", "--gamma=0.99",
        "--loss_discount=distance", "--loss_gp_weight=5", "--nouse_attention",
        "--critic_steps=2", "--flip"])
    train_config, model_config, data_config = train_cli.configs_from_flags(flag_values)
    mask = train_config.mask
    assert (mask.kind, mask.max_strokes, mask.per_sample) == ("free", 2, False)
    assert (mask.box_height, mask.max_delta_width) == (32, 8)  # scaled with image_size
    assert train_config.mixed_precision == "mixed_bfloat16" and train_config.local_size == 24
    assert train_config.loss == LossConfig(gamma=0.99, discount="distance", gp_weight=5.0)
    assert (train_config.batch_size, train_config.critic_steps) == (4, 2)
    assert model_config == ModelConfig(use_attention=False)
    assert (data_config.source, data_config.image_size, data_config.flip) == (
        "photos.flist", 64, True)


def test_flag_defaults_are_the_config_dataclasses_defaults(tmp_path):
    flag_values = _parse([f"--model_dir={tmp_path}", "--data=photos"])
    train_config, model_config, data_config = train_cli.configs_from_flags(flag_values)
    assert train_config == TrainConfig()  # at 256 the scaled mask is the released one
    assert model_config == ModelConfig()
    assert data_config == DataConfig(source="photos")
    # Every scalar field is a flag with the field's help text.
    for cls, prefix, skip in ((TrainConfig, "", ()), (LossConfig, "loss_", ()),
                              (DataConfig, "", ("image_size", "seed")),
                              (MaskConfig, "mask_", ()), (ModelConfig, "", ())):
        for field in flag_fields(cls, skip):
            name = {"source": "data", "kind": "mask"}.get(field.name, prefix + field.name)
            assert field.metadata["help"] in flag_values[name].help, name
    assert {f.name for f in flag_fields(TrainConfig)} == {
        f.name for f in dataclasses.fields(TrainConfig)} - {"loss", "mask"}


def test_legacy_sentinel_values_still_mean_scaled_with_the_image(tmp_path):
    flag_values = _parse([f"--model_dir={tmp_path}", "--data=x", "--image_size=64",
                          "--mask_box_height=0", "--mask_max_delta_width=-1",
                          "--local_size=0", "--mixed_precision=none"])
    train_config, _, _ = train_cli.configs_from_flags(flag_values)
    assert (train_config.mask.box_height, train_config.mask.max_delta_width) == (32, 8)
    assert train_config.local_size is None and train_config.mixed_precision is None


def test_bad_values_and_stray_arguments_are_usage_errors(tmp_path):
    flag_values = _parse([f"--model_dir={tmp_path}", "--data=x", "--image_size=60"])
    with pytest.raises(app.UsageError, match="image_size=60"):
        train_cli.main(["gi-train"], flag_values)
    with pytest.raises(app.UsageError, match="Unexpected arguments"):
        train_cli.main(["gi-train", "  # an indented comment"], flag_values)
    with pytest.raises(flags.IllegalFlagValueError):
        _parse([f"--model_dir={tmp_path}", "--data=x", "--mask=circle"])


def _flag_dict(flag_values):
    return {name: flag_values[name].value for name in flag_values if name != "preset"}


@pytest.mark.parametrize("name", presets.preset_names())
def test_a_preset_by_name_equals_its_flagfile(name, tmp_path):
    common = [f"--model_dir={tmp_path}", "--data=x"]
    by_name = _parse(common[:1] + [f"--preset={name}"] + common[1:])
    by_file = _parse(common[:1] + [f"--flagfile={presets.preset_path(name)}"] + common[1:])
    assert by_name.preset == name
    assert _flag_dict(by_name) == _flag_dict(by_file)
    assert train_cli.configs_from_flags(by_name) == train_cli.configs_from_flags(by_file)


def test_preset_follows_absl_flag_order(tmp_path):
    model_dir = f"--model_dir={tmp_path}"
    after = _parse([model_dir, "--preset=smoke", "--image_size=64", "--nofresh_critic_batches"])
    assert (after.image_size, after.batch_size, after.data) == (64, 2, "builtin:textures:32")
    assert after.fresh_critic_batches is False
    before = _parse([model_dir, "--image_size=64", "--preset=smoke"])  # the preset wins
    assert before.image_size == 32
    # Inside a flagfile too, and a second preset replaces what the first one set.
    flagfile = tmp_path / "mine.flags"
    flagfile.write_text("--preset=places2_256\n--batch_size=4\n--data=photos\n")
    nested = _parse([model_dir, f"--flagfile={flagfile}"])
    assert (nested.batch_size, nested.critic_steps, nested.random_crop) == (4, 5, True)
    assert _parse([model_dir, "--preset=places2_256", "--preset=smoke"]).image_size == 32
    with pytest.raises(flags.IllegalFlagValueError, match="celebahq.*smoke"):
        _parse([model_dir, "--preset=places2"])


def test_recorded_flags_of_a_preset_run_reproduce_it(tmp_path):
    flag_values = _parse([f"--model_dir={tmp_path}", "--preset=quickstart", "--max_steps=7"])
    path = train_cli.write_flags_file(str(tmp_path), flag_values,
                                      train_cli.define_flags(flags.FlagValues()))
    with open(path) as f:
        text = f.read()
    assert "--preset" not in text.replace("# (started from --preset=quickstart", "")
    again = _parse([f"--flagfile={path}"])
    assert train_cli.configs_from_flags(again) == train_cli.configs_from_flags(flag_values)
    assert again.max_steps == 7 and again.data == flag_values.data  # set by the preset


def _run_cli(argv):
    """Run gi-train's main in-process; returns the log lines it wrote."""
    return shared_artifacts.run_train_cli(argv)


@pytest.fixture(scope="module")
def smoke_run(shared_smoke_run):
    """The smoke preset as CI runs it: ``(model_dir, log lines)``, built once per session
    (``shared_smoke_run``, tests/conftest.py; tests/test_legacy_formats.py reads it too)."""
    return shared_smoke_run


@pytest.mark.smoke
def test_smoke_preset_writes_checkpoints_configs_and_progress(smoke_run):
    model_dir, lines = smoke_run
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-4")
    assert os.path.exists(os.path.join(model_dir, "ckpt-2.index"))  # keep_checkpoints=2
    config = read_train_config(model_dir)
    assert (config.image_size, config.max_steps, config.critic_steps) == (32, 4, 1)
    assert ModelConfig.read(model_dir) == ModelConfig()
    progress = [line for line in lines if line.startswith("step ")]
    assert [line.split(" |")[0] for line in progress] == [f"step {i}/4" for i in range(1, 5)]
    for line in progress[1:]:
        assert "steps/s" in line and "images/s" in line and "ETA" in line
    # The recorded flags reproduce the run's configs.
    recorded = _parse([f"--flagfile={os.path.join(model_dir, train_cli.FLAGS_FILE)}"])
    again = _parse([f"--flagfile={SMOKE}", f"--model_dir={model_dir}"])
    assert train_cli.configs_from_flags(recorded) == train_cli.configs_from_flags(again)


def test_smoke_preset_writes_every_loss_term_and_panels(smoke_run):
    model_dir, _ = smoke_run
    events = read_events(os.path.join(model_dir, "train"))
    for term in TRAIN_TERMS:
        assert [step for step, _ in events[f"loss/{term}"]] == [2, 4], term
    for index in range(2):  # summary_images=2
        steps = [step for step, _ in events[f"panels/{index}"]]
        assert steps == [2, 4]
        panel = events[f"panels/{index}"][0][1]
        # input | masked | coarse | refined | attention, 32 px each, 4 px gaps, labels
        assert panel.shape == (16 + 32 + 8, 5 * 32 + 6 * 4, 3)


def test_training_directory_loads_as_a_generator_checkpoint(smoke_run):
    model_dir, _ = smoke_run
    generator, model_config, prefix = load_generator(model_dir)
    assert prefix.endswith("ckpt-4") and model_config == ModelConfig()
    reader = tf.train.load_checkpoint(prefix)
    stored = [n for n in reader.get_variable_to_shape_map() if n.startswith("generator/")]
    assert len(stored) == len(generator.weights)  # the weights keep generator-only names
    kernel = reader.get_tensor("generator/conv1/_kernel/.ATTRIBUTES/VARIABLE_VALUE")
    np.testing.assert_array_equal(generator.conv_layers()["conv1"].kernel.numpy(), kernel)


def _variables(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name)
            for name, dtype in reader.get_variable_to_dtype_map().items()
            if dtype != tf.variant}  # the input iterator's state is an opaque variant


@pytest.mark.smoke
def test_resume_after_two_steps_equals_the_uninterrupted_run(smoke_run, tmp_path):
    # The smoke run trained 4 steps and kept its step-2 checkpoint, exactly what a run
    # stopped after 2 steps leaves. Resume a copy of that for 2 more steps in a fresh
    # model and compare every stored variable with the uninterrupted step-4 checkpoint.
    model_dir, _ = smoke_run
    resumed = str(tmp_path / "resumed")
    os.makedirs(resumed)
    for path in glob.glob(os.path.join(model_dir, "ckpt-2.*")) + glob.glob(
            os.path.join(model_dir, "*.json")):
        shutil.copy(path, resumed)
    tf.compat.v1.train.update_checkpoint_state(resumed, "ckpt-2")
    lines = _run_cli([f"--flagfile={SMOKE}", f"--model_dir={resumed}"])
    assert any(line.startswith("Resuming from") and "at step 2" in line for line in lines)
    assert [line.split(" |")[0] for line in lines if line.startswith("step ")] == [
        "step 3/4", "step 4/4"]
    expected = _variables(os.path.join(model_dir, "ckpt-4"))
    got = _variables(tf.train.latest_checkpoint(resumed))
    assert got.keys() == expected.keys()
    assert len([n for n in expected if "optimizer" in n]) > 200  # moments, iterations
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_changed_settings_on_resume_are_reported(smoke_run, tmp_path):
    model_dir, _ = smoke_run
    resumed = str(tmp_path / "changed")
    shutil.copytree(model_dir, resumed)
    lines = _run_cli([f"--flagfile={SMOKE}", f"--model_dir={resumed}", "--max_steps=4",
                      "--loss_gamma=0.99"])
    assert any("changed settings ['loss']" in line for line in lines)
    assert any(line.startswith("Nothing to do: step 4") for line in lines)
    assert dataclasses.replace(read_train_config(resumed)).loss.gamma == 0.99


def test_any_tensorflow_filesystem_trains_and_resumes(smoke_run):
    # TF's in-memory filesystem: nothing may land in a local folder named "ram:". (Export
    # and loading from ram:// are tests/test_ram_filesystem.py's.) The smoke run's step-2
    # checkpoint and configs are copied there (as a run is copied to a bucket), and gi-train
    # resumes it there: every read and write of a run (configs, flags, checkpoint state,
    # checkpoints, events) goes to ram://.
    from gi_tf.models.checkpoints import load_generator

    source, _ = smoke_run
    model_dir = "ram://gi_tf_test/run"
    tf.io.gfile.makedirs(model_dir)
    for path in glob.glob(os.path.join(source, "ckpt-2.*")) + glob.glob(
            os.path.join(source, "*.json")):
        tf.io.gfile.copy(path, f"{model_dir}/{os.path.basename(path)}")
    tf.compat.v1.train.update_checkpoint_state(model_dir, "ckpt-2")
    lines = _run_cli([f"--flagfile={SMOKE}", f"--model_dir={model_dir}", "--max_steps=3",
                      "--summary_images=0"])
    assert any(line.startswith("Resuming from") and "at step 2" in line for line in lines)
    assert [line.split(" |")[0] for line in lines if line.startswith("step ")] == ["step 3/3"]
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-3")
    assert tf.io.gfile.exists(model_dir + "/" + train_cli.FLAGS_FILE)  # not among the copies
    assert tf.io.gfile.glob(model_dir + "/train/events.out.tfevents.*")
    _, _, prefix = load_generator(model_dir)
    assert prefix == model_dir + "/ckpt-3"
    assert not os.path.exists("ram:") and not os.path.exists(os.path.join(REPO_ROOT, "ram:"))


# Killed training (issue 12, case 1): SIGKILL at moments drawn from a seeded RNG, in the
# middle of the first checkpoint write (TensorFlow stages it in ckpt-2_temp/) and at a
# random moment after step 3 began (mid-step, mid-write of ckpt-4, or while exiting),
# then the same command once more: it must end bit-identical to the uninterrupted smoke
# run, with nothing partial left in the run directory.
KILL_SEEDS = (0,)  # each seed costs three gi-train processes (~45 s of CPU)


def _run_and_kill(command, log_path, ready, delay, timeout=600):
    """Start ``command``; once ``ready()`` holds wait ``delay`` s, then SIGKILL it.

    Returns the exit code (negative: killed) and the log so far.
    """
    import subprocess
    import sys
    import time

    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gi_tf.cli.train", *command],
                                   stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    deadline = time.monotonic() + timeout
    try:
        while ready is not None and process.poll() is None and not ready():
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.002)
        if ready is not None and process.poll() is None:
            time.sleep(delay)
            process.kill()
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
    with open(log_path) as log:
        return code, log.read()


@pytest.mark.e2e
@pytest.mark.parametrize("seed", KILL_SEEDS)
def test_killed_training_resumes_to_the_uninterrupted_result(seed, smoke_run, tmp_path):
    rng = np.random.default_rng(seed)
    model_dir = str(tmp_path / "killed")
    command = [f"--flagfile={SMOKE}", f"--model_dir={model_dir}"]
    log = str(tmp_path / "log.txt")

    def has_line(text):
        return lambda: os.path.exists(log) and text in open(log).read()

    staging = os.path.join(model_dir, "ckpt-2_temp")
    code, first = _run_and_kill(command, log, lambda: os.path.exists(staging),
                                rng.uniform(0.0, 0.3))
    assert code == -9, first[-3000:]
    code, second = _run_and_kill(command, log, has_line("step 3/4"), rng.uniform(0.0, 2.0))
    assert code in (-9, 0), second[-3000:]
    code, last = _run_and_kill(command, log, None, 0.0)
    assert code == 0, last[-3000:]
    assert "Traceback" not in first + second + last
    expected = _variables(os.path.join(smoke_run[0], "ckpt-4"))
    got = _variables(os.path.join(model_dir, "ckpt-4"))
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    leftovers = [name for name in os.listdir(model_dir)
                 if name.endswith("_temp") or ".tmp-" in name]
    assert leftovers == [] and tf.train.latest_checkpoint(model_dir).endswith("ckpt-4")


@pytest.mark.e2e
def test_mirrored_on_devices_that_do_not_exist_stops_at_once_naming_the_visible_ones(tmp_path):
    # The flag's own help example on a machine with fewer than two GPUs: it hung in the
    # first all-reduce (0 % CPU, no message) before devices were checked.
    import subprocess
    import sys

    if len(tf.config.list_physical_devices("GPU")) >= 2:
        pytest.skip("this machine has the two GPUs")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO_ROOT, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "gi_tf.cli.train", "--preset=smoke", "--max_steps=2",
         f"--model_dir={tmp_path / 'm'}", "--strategy=mirrored", "--devices=/gpu:0,/gpu:1"],
        env=env, text=True, capture_output=True, timeout=300)
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]
    assert "--devices: TensorFlow does not see /gpu:0, /gpu:1; it sees /cpu:0" in line, line
    assert not (tmp_path / "m").exists()  # stopped before anything was written
