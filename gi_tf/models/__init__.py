"""DeepFill v1 networks."""

from gi_tf.models.critics import GlobalCritic
from gi_tf.models.critics import LocalCritic
from gi_tf.models.generator import InpaintGenerator
from gi_tf.models.generator import build_generator

__all__ = ["GlobalCritic", "InpaintGenerator", "LocalCritic", "build_generator"]
