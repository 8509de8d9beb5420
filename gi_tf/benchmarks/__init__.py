"""Benchmark sections of ``gi-bench`` (one module per section) and the TF-vs-JAX check.

Sections run in :data:`SECTION_ORDER`; the yardstick always runs first, so every
figure can be read against the machine's own matmul rate measured in the same run.
"""

SECTION_ORDER = ("yardstick", "attention", "generator", "memory", "precision", "training",
                 "original", "saved_model", "large", "stability",
                 "beam", "startup")
