"""gi_tf: DeepFill v1 (Yu et al., CVPR 2018) in TensorFlow 2 / Keras 3.

Public entry points:

* ``gi_tf.layers``: ``ContextualAttention``, ``AttentionPropagation``.
* ``gi_tf.models``: ``InpaintGenerator``, ``LocalCritic``, ``GlobalCritic``.
* ``gi_tf.Inpainter``: load a SavedModel or checkpoint and inpaint uint8 RGB images.

Conventions everywhere in the public API: images are RGB, either uint8 or float in
[-1, 1]; masks mark holes with 1 (float) / True / >=128 (uint8).
"""

__version__ = "0.2.0"

__all__ = ["Inpainter", "__version__"]


def __getattr__(name):
    # Lazy so that `import gi_tf` stays cheap (TensorFlow loads on first real use).
    if name == "Inpainter":
        from gi_tf.inference.inpainter import Inpainter  # lazy: TensorFlow start-up

        return Inpainter
    raise AttributeError(f"module 'gi_tf' has no attribute {name!r}")
