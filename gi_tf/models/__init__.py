"""DeepFill v1 networks."""

import importlib

_EXPORTS = {"GlobalCritic": "critics", "LocalCritic": "critics", "InpaintGenerator": "generator",
            "build_generator": "generator"}


def __getattr__(name):
    # lazy: a TF-free submodule (config: configs, --help) imports without Keras/TensorFlow
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"gi_tf.models.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'gi_tf.models' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
