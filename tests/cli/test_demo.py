"""gi-demo: the quickstart preset, and a tiny end-to-end run (train, export, evaluate)."""

import csv
import os

import numpy as np
import pytest
from absl import flags

from gi_tf.cli import demo
from gi_tf.evaluation import demo as demo_pipeline

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _parse(flag_values, argv):
    demo.define_flags(flag_values)
    return flag_values(["gi-demo"] + argv)


def test_quickstart_flagfile_gives_gi_train_the_built_in_preset(tmp_path):
    from gi_tf.cli import train

    flag_values = flags.FlagValues()
    train.define_flags(flag_values)
    flag_values(["gi-train", "--flagfile=" + os.path.join(REPO_ROOT, "flags", "train",
                                                          "quickstart.flags"),
                 f"--model_dir={tmp_path}"])
    train_config, model_config, data_config = train.configs_from_flags(flag_values)
    assert train_config.resolved() == demo.quickstart_config().resolved()
    assert model_config.use_attention and data_config.source == "builtin:wallpapers"
    assert data_config.image_size == 128


def test_preset_scales_box_masks_with_the_image_size():
    config = demo.quickstart_config()
    assert (config.image_size, config.max_steps, config.batch_size) == (128, 35, 8)
    assert (config.mask.kind, config.mask.box_height, config.mask.max_delta_height) == (
        "box", 64, 16)
    assert config.critic_steps == 0 and config.loss.gan_weight == 0.0
    config = demo.quickstart_config(256, max_steps=7)
    assert (config.image_size, config.max_steps, config.mask.box_width) == (256, 7, 128)
    # asking for critic updates brings back the released adversarial weight
    assert demo.quickstart_config(critic_steps=5).loss.gan_weight == 0.001
    with pytest.raises(ValueError, match="image_size"):
        demo.quickstart_config(60)


def test_settings_from_flags_and_usage_errors(tmp_path):
    from absl import app

    fv = flags.FlagValues()
    _parse(fv, [f"--output_dir={tmp_path}", "--steps=5", "--photos=no", "--mask=free",
                "--size=64", "--seeds=3,1"])
    settings = demo.settings_from_flags(fv)
    assert settings.train_config.max_steps == 5 and settings.mask_kinds == ("free",)
    assert settings.train_config.image_size == 64 and settings.seeds == (3, 1)
    assert settings.photos is False and settings.ablation is True and settings.deterministic
    assert "--steps=5" in settings.command and "--seeds=3,1" in settings.command
    fv = flags.FlagValues()
    _parse(fv, [])
    settings = demo.settings_from_flags(fv)
    assert settings.seeds == (0, 1, 2) and settings.train_config.image_size == 128
    assert settings.photos is False  # results must not depend on what else is installed
    for argv, message in ((["--mask=circle"], "--mask"), (["--image_size=30"], "image_size"),
                          (["--seeds=a"], "--seeds"), (["--seeds=1,1"], "seeds"),
                          (["--seeds=-1"], "seeds")):
        fv = flags.FlagValues()
        _parse(fv, argv)
        with pytest.raises(app.UsageError, match=message):
            demo.settings_from_flags(fv)


def test_held_out_holes_can_all_be_filled_by_copying_from_the_known_region():
    """The demo's held-out set (16 wallpapers at 128 px, box and free holes): every hole
    pixel's true value lies in the known region at a multiple of the stated period."""
    from gi_tf.data import borrowing

    samples = demo_pipeline.held_out_samples(16, 128, ("box", "free"), 0, False)
    assert len(samples) == 32
    for sample in samples:
        index = int(sample.name.split("-")[1])
        image, period = borrowing.wallpaper(borrowing.HELD_OUT_SEED, index, 128)
        assert np.array_equal(sample.image, image)
        assert sample.name.endswith(f"{period[0]}x{period[1]}")
        offsets, found = borrowing.copy_offsets(sample.holes, period)
        assert found[sample.holes].all()
        ys, xs = np.nonzero(sample.holes)
        assert np.array_equal(image[ys + offsets[ys, xs, 0], xs + offsets[ys, xs, 1]],
                              image[ys, xs])


@pytest.mark.e2e
def test_tiny_demo_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    fv = flags.FlagValues()
    argv = _parse(fv, [f"--output_dir={out}", "--steps=2", "--size=32", "--batch_size=2",
                       "--train_images=4", "--held_out=1", "--mask=box,free", "--photos=no",
                       "--seeds=0,1", "--num_examples=1"])
    demo.main(argv, fv)
    printed = capsys.readouterr().out
    assert "| all | gi_tf (seed 0) | 2 |" in printed and "OpenCV Telea" in printed
    assert "| gi_tf, no attention | 2 |" in printed  # the spread over the two seeds
    assert "- ablation (all, hole ℓ1, 2 training seed(s))" in printed
    assert os.path.exists(out / "export" / "1" / "saved_model.pb")
    for variant in ("attention", "no_attention"):
        for seed in (0, 1):
            assert os.path.exists(out / variant / f"seed_{seed}" / "model_config.json")
    with open(out / "eval" / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["mask_kind"], r["method"]) for r in rows][:6] == [
        ("box", "ground truth"), ("box", "gi_tf (seed 0)"), ("box", "gi_tf (seed 1)"),
        ("box", "gi_tf, no attention (seed 0)"), ("box", "gi_tf, no attention (seed 1)"),
        ("box", "OpenCV Telea")]
    document = (out / "eval" / "metrics.md").read_text()
    assert "2 steps, batch 2" in document and "Reading (automatic)" in document
    assert "Spread over the 2 training seed(s) (0, 1)" in document
    name = demo_pipeline.held_out_samples(1, 32, ("box",), 0, False)[0].name
    assert name.startswith("wallpaper-000-")
    assert sorted(os.listdir(out / "panels")) == [f"{name}_box.png", f"{name}_free.png"]
    assert os.path.getsize(out / "eval" / "examples.png") > 0


@pytest.mark.e2e
def test_the_same_settings_give_the_same_weights_and_metrics(tmp_path):
    """Op determinism + seeded draws: two runs of one tiny demo agree bit for bit."""
    import dataclasses

    import tensorflow as tf

    settings = demo_pipeline.DemoSettings(
        output_dir="", train_config=demo.quickstart_config(
            32, max_steps=3, batch_size=2), seeds=(5,), train_images=4, held_out=2,
        mask_kinds=("box",), ablation=False, num_examples=1)
    runs = []
    for name in ("a", "b"):
        evaluation, _, _ = demo_pipeline.run_demo(
            dataclasses.replace(settings, output_dir=str(tmp_path / name)), verbose=0,
            log=lambda line: None)
        runs.append(evaluation)
    rows = [[{k: v for k, v in row.items() if k != "ms"} for row in run.rows] for run in runs]
    assert rows[0] == rows[1] and len(rows[0]) == 2 * (1 + len(runs[0].methods))
    readers = [tf.train.load_checkpoint(str(tmp_path / name / "attention" / "seed_5"))
               for name in ("a", "b")]
    names = [n for n, dtype in readers[0].get_variable_to_dtype_map().items()
             if "generator" in n and dtype.is_floating]
    assert len(names) == 84  # every weight of the generator (the demo keeps only it)
    for variable in names:
        assert np.array_equal(readers[0].get_tensor(variable), readers[1].get_tensor(variable))
    # the determinism switch is restored afterwards (it is process-wide)
    from tensorflow.python.framework import config as tf_config
    assert not tf_config.is_op_determinism_enabled()
