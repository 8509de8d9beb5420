"""Presets by name: shipped inside the package, the same files as flags/train/ in a checkout."""

import configparser
import fnmatch
import os

import pytest

from gi_tf.training import presets

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKOUT_FLAGS = os.path.join(REPO_ROOT, "flags", "train")


def test_the_four_presets_are_shipped_by_name():
    assert presets.preset_names() == ["celebahq", "places2_256", "quickstart", "smoke"]
    for name in presets.preset_names():
        path = presets.preset_path(name)
        assert os.path.dirname(path) == os.path.dirname(os.path.abspath(presets.__file__))
        assert os.path.isfile(path)


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="unknown preset 'places2'.*places2_256"):
        presets.preset_path("places2")


def test_checkout_flagfiles_are_the_package_presets():
    # One source: flags/train/<name>.flags is the preset's file (a link), so editing
    # either edits both, and every preset keeps its checkout path.
    names = sorted(n[:-len(".flags")] for n in os.listdir(CHECKOUT_FLAGS) if n.endswith(".flags"))
    assert names == presets.preset_names()
    for name in names:
        checkout = os.path.join(CHECKOUT_FLAGS, name + ".flags")
        assert os.path.samefile(checkout, presets.preset_path(name)), name


def test_setup_cfg_ships_every_preset_as_package_data():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO_ROOT, "setup.cfg"))
    patterns = cfg["options.package_data"][presets.__name__].split()
    for name in presets.preset_names():
        filename = os.path.basename(presets.preset_path(name))
        assert any(fnmatch.fnmatch(filename, p) for p in patterns), filename
