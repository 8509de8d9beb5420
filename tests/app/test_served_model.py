"""Tests for gi_tf.app.served_model: which model gi-app serves and what the page says about it."""

import os

import numpy as np
import pytest

from gi_tf.app import served_model as app_model


def _fake_saved_model(directory):
    """A directory that looks like an export base (only the file that marks it)."""
    os.makedirs(os.path.join(directory, "1"))
    open(os.path.join(directory, "1", "saved_model.pb"), "wb").close()
    return directory


@pytest.fixture(scope="module")
def generator_checkpoint(tmp_path_factory):
    """A freshly initialised generator saved as a gi_tf checkpoint: (directory, generator)."""
    from gi_tf.models.checkpoints import save_generator
    from gi_tf.models.config import ModelConfig
    from gi_tf.models.generator import build_generator

    generator = build_generator()
    directory = str(tmp_path_factory.mktemp("quickstart") / "model")
    save_generator(generator, directory, ModelConfig())
    return directory, generator


def test_find_model_prefers_a_saved_model_over_a_checkpoint(tmp_path, generator_checkpoint):
    checkpoint_dir, _ = generator_checkpoint
    root = tmp_path / "demo_out"
    root.mkdir()
    os.symlink(checkpoint_dir, root / "a_checkpoint")
    assert app_model.find_model(str(root)) == ("checkpoint", str(root / "a_checkpoint"))
    export = _fake_saved_model(str(root / "export"))
    assert app_model.find_model(str(root)) == ("saved_model", export)


def test_find_model_in_missing_or_empty_directory(tmp_path):
    assert app_model.find_model(str(tmp_path / "missing")) is None
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert app_model.find_model(str(tmp_path / "empty")) is None


def test_explicit_model_path_without_a_model_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a SavedModel .* nor a gi_tf checkpoint"):
        app_model.choose_model(str(tmp_path), quickstart_dir=None)


def test_without_any_model_the_page_warns_and_says_how_to_get_one(tmp_path):
    served = app_model.choose_model(None, quickstart_dir=str(tmp_path / "nothing_here"))
    assert served.kind == "untrained" and not served.trained and served.source is None
    banner = served.banner()
    assert banner.startswith("**Warning") and "randomly initialised" in banner
    for hint in ("gi-demo", "gi-train", "gi-import-tf1", "--model"):
        assert hint in banner
    assert served.inpainter.generator is not None


def test_quickstart_checkpoint_is_found_and_loaded(tmp_path, generator_checkpoint):
    checkpoint_dir, generator = generator_checkpoint
    os.symlink(checkpoint_dir, tmp_path / "model")
    served = app_model.choose_model(None, quickstart_dir=str(tmp_path))
    assert (served.kind, served.quickstart, served.trained) == ("checkpoint", True, True)
    assert "quickstart" in served.banner() and "gi-import-tf1" in served.banner()
    for loaded, original in zip(served.inpainter.generator.weights, generator.weights):
        np.testing.assert_array_equal(loaded.numpy(), original.numpy())


def test_explicit_checkpoint_banner_names_it(generator_checkpoint):
    checkpoint_dir, _ = generator_checkpoint
    served = app_model.choose_model(checkpoint_dir)
    assert (served.kind, served.quickstart) == ("checkpoint", False)
    prefix = os.path.join(checkpoint_dir, "ckpt-1")
    assert served.source == prefix
    assert served.banner() == f"Model: checkpoint `{prefix}`."


def test_find_model_in_the_gi_demo_layout(tmp_path, generator_checkpoint):
    """demo_out/{attention,no_attention}/ checkpoints and export/<version>/ SavedModel."""
    checkpoint_dir, _ = generator_checkpoint
    for name in ("no_attention", "attention"):
        os.symlink(checkpoint_dir, tmp_path / name)
    (tmp_path / "eval").mkdir()
    assert app_model.find_model(str(tmp_path)) == ("checkpoint", str(tmp_path / "attention"))
    _fake_saved_model(str(tmp_path / "export"))
    assert app_model.find_model(str(tmp_path)) == ("saved_model", str(tmp_path / "export"))
