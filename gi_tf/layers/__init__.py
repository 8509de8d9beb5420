"""Keras layers of DeepFill v1."""

import importlib

_EXPORTS = {"AttentionPropagation": "attention_propagation", "ContextualAttention": "contextual_attention"}


def __getattr__(name):
    # lazy: a TF-free submodule (attention_options: configs, --help) imports without
    # Keras/TensorFlow
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"gi_tf.layers.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'gi_tf.layers' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
