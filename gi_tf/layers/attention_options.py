"""The contextual attention's choices, importable without Keras or TensorFlow (configs,
``gi-train --help``); the layer is :class:`gi_tf.layers.contextual_attention.ContextualAttention`.
"""

# "batched": one convolution over the batch (the fast default); "literal": the released
# code's per-sample loop, for fidelity checks.
IMPLEMENTATIONS = ("batched", "literal")
