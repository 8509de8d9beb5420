"""Training presets chosen by name: ``gi-train --preset=places2_256``.

A preset is an absl flagfile of gi-train flags shipped inside the package (package data),
so ``pip install`` users have them without a checkout. In a checkout,
``flags/train/<name>.flags`` are symbolic links to these files: one source, and
``--flagfile=flags/train/<name>.flags`` means the same as ``--preset=<name>``.

* ``places2_256``: the paper's Places2 set-up (released ``inpaint.yml``), 256 px random crops;
* ``celebahq``: the same on CelebA-HQ faces (resized, not cropped);
* ``smoke``: 32 px built-in textures, 4 steps (CPU seconds; CI runs it);
* ``quickstart``: the CPU preset gi-demo trains (128 px wallpapers, 35 steps, reconstruction
  losses).

Example:
    >>> preset_names()
    ['celebahq', 'places2_256', 'quickstart', 'smoke']
    >>> os.path.basename(preset_path("smoke"))
    'smoke.flags'
"""

import os

PRESET_DIR = os.path.dirname(os.path.abspath(__file__))
SUFFIX = ".flags"


def preset_names():
    """Sorted names of the presets shipped with the package."""
    return sorted(name[:-len(SUFFIX)] for name in os.listdir(PRESET_DIR)
                  if name.endswith(SUFFIX))


def preset_path(name):
    """Path of the flagfile of preset ``name``.

    Raises:
        ValueError: no preset of that name (the message lists the presets).
    """
    names = preset_names()
    if name not in names:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(names)}")
    return os.path.join(PRESET_DIR, name + SUFFIX)
