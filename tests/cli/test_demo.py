"""gi-demo: the quickstart preset, and a tiny end-to-end run (train, export, evaluate)."""

import csv
import os

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
    assert train_config.resolved() == demo_pipeline.quickstart_config().resolved()
    assert model_config.use_attention and data_config.source == "builtin:textures"
    assert data_config.image_size == 64


def test_preset_scales_masks_with_the_image_size():
    config = demo_pipeline.quickstart_config(128, max_steps=7)
    assert (config.image_size, config.max_steps) == (128, 7)
    assert (config.mask.box_height, config.mask.max_delta_height) == (64, 16)
    assert config.critic_steps == 0 and config.loss.gan_weight == 0.0
    # asking for critic updates brings back the released adversarial weight
    assert demo_pipeline.quickstart_config(critic_steps=5).loss.gan_weight == 0.001
    with pytest.raises(ValueError, match="image_size"):
        demo_pipeline.quickstart_config(60)


def test_settings_from_flags_and_usage_errors(tmp_path):
    from absl import app

    fv = flags.FlagValues()
    _parse(fv, [f"--output_dir={tmp_path}", "--steps=5", "--photos=no", "--mask=free"])
    settings = demo.settings_from_flags(fv)
    assert settings.train_config.max_steps == 5 and settings.mask_kinds == ("free",)
    assert settings.photos is False and settings.ablation is True
    assert "--steps=5" in settings.command and "--photos=no" in settings.command
    for argv, message in ((["--mask=circle"], "--mask"), (["--image_size=30"], "image_size")):
        fv = flags.FlagValues()
        _parse(fv, argv)
        with pytest.raises(app.UsageError, match=message):
            demo.settings_from_flags(fv)


def test_reading_reports_winners_and_the_ablation():
    summary = [
        {"mask_kind": "box", "method": demo_pipeline.MODEL_NAME, "count": 4, "l1_hole": 5.0,
         "psnr_hole": 20.0, "ssim_hole": 0.5},
        {"mask_kind": "box", "method": demo_pipeline.ABLATION_NAME, "count": 4,
         "l1_hole": 6.0, "psnr_hole": 21.0, "ssim_hole": 0.4},
    ]
    text = demo_pipeline.reading(summary)
    assert f"lowest hole ℓ1: {demo_pipeline.MODEL_NAME};" in text
    assert f"highest hole PSNR: {demo_pipeline.ABLATION_NAME};" in text
    assert "5.00 % with contextual attention vs 6.00 % without (attention ahead by 1.00" in text


@pytest.mark.slow
def test_tiny_demo_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    fv = flags.FlagValues()
    argv = _parse(fv, [f"--output_dir={out}", "--steps=2", "--image_size=32",
                       "--batch_size=2", "--train_images=4", "--held_out=1", "--mask=box,free",
                       "--photos=no", "--noablation", "--num_examples=1"])
    demo.main(argv, fv)
    printed = capsys.readouterr().out
    assert "| all | gi_tf | 2 |" in printed and "OpenCV Telea" in printed
    assert os.path.exists(out / "export" / "1" / "saved_model.pb")
    assert os.path.exists(out / "attention" / "model_config.json")
    assert not os.path.exists(out / "no_attention")
    with open(out / "eval" / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["mask_kind"], r["method"]) for r in rows][:3] == [
        ("box", "ground truth"), ("box", "gi_tf"), ("box", "OpenCV Telea")]
    document = (out / "eval" / "metrics.md").read_text()
    assert "2 steps, batch 2, 32 px" in document and "Reading (automatic)" in document
    name = demo_pipeline.held_out_samples(1, 32, ("box",), 0, False)[0].name
    assert sorted(os.listdir(out / "panels")) == [f"{name}_box.png", f"{name}_free.png"]
    assert os.path.getsize(out / "eval" / "examples.png") > 0
