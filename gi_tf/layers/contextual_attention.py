"""Contextual attention (Yu et al., CVPR 2018, §3.2), with the released code's exact numerics.

Hole features are rebuilt from known ("background") features anywhere in the image:

1. downsample foreground, background and holes by ``rate`` (TF1 align-corners nearest);
2. cut 3x3 background patches, L2-normalise them (floor 1e-4; the foreground is not
   normalised, as in the released code) and score every foreground position against
   every background patch (a convolution with the patches as kernels = a matmul of
   patch matrices);
3. propagate the scores (:class:`AttentionPropagation`, before the softmax);
4. zero the scores of background patches touching a hole, softmax with scale 10, zero
   them again (the surviving weights sum to less than one, as released);
5. paste ``2*rate`` raw patches from the full-resolution background with the weights
   (a transposed convolution with stride ``rate``) and divide by 4.

Two formulations give the same numbers (tested to 1e-5): ``"batched"`` (patch matrices
and batched matmuls, the default: faster, see WORKSPACE.md) and ``"literal"``
(``extract_patches`` -> ``conv`` -> softmax -> ``conv_transpose``, one sample at a time,
as the paper and the released code describe it).
"""

import keras
from keras import ops

from gi_tf.layers import attention_patches as patches_lib
from gi_tf.layers.attention_chunked import chunk_rows
from gi_tf.layers.attention_chunked import chunked_attention
from gi_tf.layers.attention_options import IMPLEMENTATIONS
from gi_tf.layers.attention_propagation import AttentionPropagation
from gi_tf.layers.contextual_attention_literal import attend_literal
from gi_tf.layers.resizing import resize_nearest_align_corners


@keras.saving.register_keras_serializable(package="gi_tf")
class ContextualAttention(keras.layers.Layer):
    """Fills hole features by attending to known features (DeepFill v1 contextual attention).

    Args:
        ksize: int, size of the matching patches. Default 3.
        stride: int, step between background patches. Only 1 is supported: the released
            code's offset decoding and its constant /4 assume it.
        rate: int, matching runs on a grid downsampled by ``rate``; the reconstruction
            uses ``2*rate`` patches of the full-resolution background. Default 2.
        fuse_k: int, attention-propagation kernel size. Default 3.
        softmax_scale: float, scale of the scores inside the softmax. Default 10.
        fuse: bool, apply attention propagation. Default True.
        implementation: ``"batched"`` (default) or ``"literal"``; same results.
        chunk_elements: optional int, score entries per chunk (batched only). When the
            full score matrix of a sample batch is larger, the foreground is processed in
            chunks of grid rows (exact same result; peak memory about
            ``8 * 4 B * chunk_elements`` plus the patch matrices; see
            :mod:`gi_tf.layers.attention_chunked`). ``None`` (default) never chunks.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        foreground: float tensor ``[B, H, W, C]``: features to fill.
        background: float tensor ``[B, H, W, C]``: features to borrow from (the
            generator passes the same tensor twice).
        holes: optional float tensor ``[B, H, W, 1]``, 1 = hole, per sample; ``None``
            means no hole. H and W must be multiples of ``rate``.

    Returns:
        ``(y, offsets)``: ``y`` float ``[B, H, W, C]``, the rebuilt features;
        ``offsets`` int32 ``[B, H/rate, W/rate, 2]`` = (delta row, delta col) from each
        position to its best-matching background patch on the downsampled grid
        (0 = attends to itself). Visualise with :func:`gi_tf.utils.visualize.offsets_to_rgb`.
        A sample whose background is entirely hole gives ``y = 0`` and finite offsets.

    Example:
        >>> import numpy as np
        >>> layer = ContextualAttention(rate=2)
        >>> x = np.random.rand(2, 16, 16, 8).astype("float32")
        >>> holes = np.zeros((2, 16, 16, 1), "float32"); holes[:, 4:10, 4:10] = 1
        >>> y, offsets = layer(x, x, holes)
        >>> tuple(y.shape), tuple(offsets.shape)
        ((2, 16, 16, 8), (2, 8, 8, 2))
    """

    def __init__(
        self,
        ksize=3,
        stride=1,
        rate=2,
        fuse_k=3,
        softmax_scale=10.0,
        fuse=True,
        implementation="batched",
        chunk_elements=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(stride) != 1:
            raise ValueError(
                f"stride={stride!r} is not supported: the released code's offset decoding and "
                "its constant /4 normalisation assume stride 1 (use `rate` to save memory)."
            )
        if int(rate) < 1 or int(ksize) < 1:
            raise ValueError(f"rate and ksize must be positive, got rate={rate!r}, ksize={ksize!r}")
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}"
            )
        self.ksize = int(ksize)
        self.stride = int(stride)
        self.rate = int(rate)
        self.fuse_k = int(fuse_k)
        self.softmax_scale = float(softmax_scale)
        self.fuse = bool(fuse)
        self.implementation = implementation
        self.chunk_elements = None if chunk_elements is None else int(chunk_elements)
        self.propagation = AttentionPropagation(fuse_k=self.fuse_k, name="propagation")

    def build(self, foreground_shape, background_shape=None, holes_shape=None):
        self.propagation.build((None, None, None, None, None))
        self.built = True

    def _check_static_shapes(self, foreground, background, holes):
        """Clear errors for sizes known at trace time (dynamic ``None`` dims pass)."""
        f_shape = tuple(foreground.shape)
        if len(f_shape) != 4:
            raise ValueError(f"foreground must be [B, H, W, C], got shape {f_shape}")
        for axis, name in ((1, "height"), (2, "width")):
            if f_shape[axis] is not None and f_shape[axis] % self.rate:
                raise ValueError(
                    f"ContextualAttention(rate={self.rate}) needs a feature {name} that is a "
                    f"multiple of rate, got {f_shape[axis]} (input shape {f_shape})"
                )
        b_shape = tuple(background.shape)
        if len(b_shape) != 4 or any(
            f is not None and b is not None and f != b for f, b in zip(f_shape, b_shape)
        ):
            raise ValueError(
                f"background must have the foreground's shape {f_shape}, got {b_shape}"
            )
        if holes is None:
            return
        m_shape = tuple(holes.shape)
        expected = (f_shape[0], f_shape[1], f_shape[2], 1)
        mismatch = [
            axis for axis, (m, f) in enumerate(zip(m_shape, expected))
            if m is not None and f is not None and m != f and not (axis == 0 and m == 1)
        ]
        if len(m_shape) != 4 or mismatch:
            raise ValueError(
                f"holes must be [B, H, W, 1] (or [1, H, W, 1]) matching the foreground "
                f"{f_shape}, got {m_shape}"
            )

    def call(self, foreground, background, holes=None):
        self._check_static_shapes(foreground, background, holes)
        out_dtype = foreground.dtype
        # The attention is computed in float32 (also under mixed precision).
        foreground = ops.cast(foreground, "float32")
        background = ops.cast(background, "float32")
        shape = ops.shape(foreground)
        small_h, small_w = shape[1] // self.rate, shape[2] // self.rate
        f_small = resize_nearest_align_corners(foreground, small_h, small_w)
        b_small = resize_nearest_align_corners(background, small_h, small_w)
        if holes is None:
            valid = ops.ones((shape[0], small_h * small_w), "float32")
        else:
            holes_small = resize_nearest_align_corners(ops.cast(holes, "float32"), small_h, small_w)
            valid = patches_lib.hole_free_patches(holes_small, self.ksize)
            # A [1, H, W, 1] mask (the released code's convention) is shared by the batch.
            valid = ops.broadcast_to(valid, (shape[0], small_h * small_w))
        if self.implementation == "batched":
            y, best = self._attend_batched(f_small, b_small, valid, background)
        else:
            y, best = attend_literal(self, f_small, b_small, valid, background)
        offsets = self._relative_offsets(best, small_h, small_w)
        return ops.cast(y, out_dtype), offsets

    # -- the named steps of the batched formulation --------------------------------------

    def propagate(self, scores, small_h, small_w):
        """Attention propagation of [B, Lf, Lb] scores (no-op when ``fuse`` is off)."""
        if not self.fuse:
            return scores
        batch = ops.shape(scores)[0]
        grid = ops.reshape(scores, (batch, small_h, small_w, small_h, small_w))
        grid = self.propagation(grid)
        return ops.reshape(grid, (batch, small_h * small_w, small_h * small_w))

    def masked_softmax(self, scores, valid):
        """Multiply by validity, scaled softmax over background, multiply again."""
        valid = ops.expand_dims(valid, 1)  # [B, 1, Lb]
        weights = ops.softmax(scores * valid * self.softmax_scale, axis=-1)
        return weights * valid

    def _attend_batched(self, f_small, b_small, valid, background):
        shape = ops.shape(background)
        small_h, small_w = shape[1] // self.rate, shape[2] // self.rate
        f_patches = patches_lib.dense_patches(f_small, self.ksize)
        kernels = patches_lib.background_kernels(b_small, self.ksize)
        raw = patches_lib.raw_patches(background, self.rate)

        def full():
            scores = patches_lib.match_scores(f_patches, kernels)  # [B, Lf, Lb]
            scores = self.propagate(scores, small_h, small_w)
            weights = self.masked_softmax(scores, valid)  # [B, Lf, Lb]
            best = ops.cast(ops.argmax(weights, axis=-1), "int32")  # [B, Lf]
            return ops.matmul(weights, raw), best

        if self.chunk_elements is None:
            pasted, best = full()
        else:
            pasted, best = self._maybe_chunked(full, f_patches, kernels, valid, raw,
                                               small_h, small_w)
        y = patches_lib.fold_patches(pasted, shape[1], shape[2], shape[3], self.rate) / 4.0
        return y, best

    def _maybe_chunked(self, full, f_patches, kernels, valid, raw, small_h, small_w):
        """Full attention if its score matrix fits ``chunk_elements``, else row chunks."""
        row_elements = small_w * small_h * small_w
        rows = chunk_rows(self.chunk_elements, small_h, small_w)

        def chunked():
            return chunked_attention(self, f_patches, kernels, valid, raw,
                                     small_h, small_w, rows)

        fits = small_h * row_elements <= self.chunk_elements
        if isinstance(fits, bool):
            return full() if fits else chunked()
        return ops.cond(fits, full, chunked)

    def _relative_offsets(self, best, small_h, small_w):
        """Flat best-match index [B, Lf] -> int32 (d_row, d_col) [B, h, w, 2]."""
        best = ops.cast(best, "int32")
        batch = ops.shape(best)[0]
        best = ops.reshape(best, (batch, small_h, small_w))
        rows = ops.reshape(ops.arange(small_h, dtype="int32"), (1, -1, 1))
        cols = ops.reshape(ops.arange(small_w, dtype="int32"), (1, 1, -1))
        d_row = best // small_w - rows
        d_col = best % small_w - cols
        return ops.stack([d_row, d_col], axis=-1)

    def compute_output_shape(self, foreground_shape, background_shape=None, holes_shape=None):
        batch, height, width, _ = foreground_shape
        small = [None if d is None else d // self.rate for d in (height, width)]
        return tuple(foreground_shape), (batch, small[0], small[1], 2)

    def compute_output_spec(self, foreground, background=None, holes=None):
        # The default spec would give the offsets the layer's float compute dtype.
        y_shape, offsets_shape = self.compute_output_shape(foreground.shape)
        return (
            keras.KerasTensor(y_shape, dtype=self.compute_dtype),
            keras.KerasTensor(offsets_shape, dtype="int32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "ksize": self.ksize,
                "stride": self.stride,
                "rate": self.rate,
                "fuse_k": self.fuse_k,
                "softmax_scale": self.softmax_scale,
                "fuse": self.fuse,
                "implementation": self.implementation,
                "chunk_elements": self.chunk_elements,
            }
        )
        return config
