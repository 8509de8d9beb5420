"""Attention propagation ("fuse"): the DeepFill v1 score smoothing.

Yu et al., *Generative Image Inpainting with Contextual Attention*, CVPR 2018, §3.2
("attention propagation"). The released code implements it as two convolutions of
the score matrix with a ``fuse_k x fuse_k`` identity kernel: once with foreground and
background positions flattened in row-major order (a horizontal propagation), once in
column-major order (vertical). Because the flattening wraps, the last pixel of one row
is the neighbour of the first pixel of the next; this layer keeps that behaviour.
"""

import keras
from keras import ops


def diagonal_sum(scores, fuse_k):
    """Correlate ``[B, Lf, Lb]`` with a ``fuse_k x fuse_k`` identity kernel, SAME zero padding.

    ``out[p, q] = sum_i scores[p + i - a, q + i - a]`` for ``i in [0, fuse_k)`` with
    ``a = (fuse_k - 1) // 2`` (TF's SAME split) and zero outside the matrix.

    Args:
        scores: float tensor ``[B, Lf, Lb]``.
        fuse_k: int, kernel size.

    Returns:
        float tensor ``[B, Lf, Lb]``.
    """
    before = (fuse_k - 1) // 2
    after = fuse_k - 1 - before
    padded = ops.pad(scores, [[0, 0], [before, after], [before, after]])
    shape = ops.shape(scores)
    total = None
    for i in range(fuse_k):
        part = ops.slice(padded, [0, i, i], [shape[0], shape[1], shape[2]])
        total = part if total is None else total + part
    return total


def _column_major(scores):
    """``[B, Hf, Wf, Hb, Wb]`` -> ``[B, Wf*Hf, Wb*Hb]`` (both position axes column-major)."""
    shape = ops.shape(scores)
    transposed = ops.transpose(scores, (0, 2, 1, 4, 3))
    return ops.reshape(transposed, (shape[0], shape[2] * shape[1], shape[4] * shape[3]))


@keras.saving.register_keras_serializable(package="gi_tf")
class AttentionPropagation(keras.layers.Layer):
    """Propagates contextual-attention scores along both image axes (DeepFill v1 "fuse").

    A high score between foreground position ``p`` and background position ``q`` is
    reinforced when the neighbours of ``p`` also match the same neighbours of ``q``,
    which favours copying coherent regions rather than isolated patches. Applied to the
    raw cosine scores *before* the softmax, as in the released code (the paper describes
    it after; see WORKSPACE.md).

    Args:
        fuse_k: int, size of the identity kernel (3 = neighbours -1, 0, +1). Default 3.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        scores: float tensor ``[B, Hf, Wf, Hb, Wb]``: score of every foreground
            position ``(i, j)`` against every background position ``(k, l)``.

    Returns:
        float tensor of the same shape: the propagated scores.

    Example:
        >>> import numpy as np
        >>> layer = AttentionPropagation(fuse_k=3)
        >>> tuple(layer(np.ones((1, 2, 2, 2, 2), "float32")).shape)
        (1, 2, 2, 2, 2)
    """

    def __init__(self, fuse_k=3, **kwargs):
        super().__init__(**kwargs)
        if int(fuse_k) < 1:
            raise ValueError(f"fuse_k must be a positive integer, got {fuse_k!r}")
        self.fuse_k = int(fuse_k)

    def call(self, scores):
        shape = ops.shape(scores)
        batch, hf, wf, hb, wb = shape[0], shape[1], shape[2], shape[3], shape[4]
        # Horizontal pass: positions flattened row-major.
        flat = ops.reshape(scores, (batch, hf * wf, hb * wb))
        flat = diagonal_sum(flat, self.fuse_k)
        # Vertical pass: positions flattened column-major.
        cols = _column_major(ops.reshape(flat, (batch, hf, wf, hb, wb)))
        cols = diagonal_sum(cols, self.fuse_k)
        cols = ops.reshape(cols, (batch, wf, hf, wb, hb))
        return ops.transpose(cols, (0, 2, 1, 4, 3))

    def compute_output_shape(self, scores_shape):
        return tuple(scores_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"fuse_k": self.fuse_k})
        return config
