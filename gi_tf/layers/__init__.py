"""Keras layers of DeepFill v1."""

from gi_tf.layers.attention_propagation import AttentionPropagation
from gi_tf.layers.contextual_attention import ContextualAttention

__all__ = ["AttentionPropagation", "ContextualAttention"]
