"""Contextual attention (Yu et al., CVPR 2018, §3.2), with the released code's exact numerics.

Hole features are rebuilt from known ("background") features anywhere in the image. The
steps are the layer's methods, written once:

1. :meth:`~ContextualAttention.grid`: downsample foreground, background and holes by
   ``rate`` (TF1 align-corners nearest); the hole mask = background patches free of holes;
2. ``foreground_patches``, ``background_kernels`` (L2-normalised, floor 1e-4; the
   foreground is not normalised, as released) and ``raw_patches``, at every cell or at
   some; :meth:`~ContextualAttention.match`: the cosine scores (a matmul);
3. :meth:`~ContextualAttention.propagate` (:class:`AttentionPropagation`, before the
   softmax), or :meth:`~ContextualAttention.propagate_rows` for some foreground rows;
4. the scaled softmax with the hole mask (a masked score counts ``exp(0 - max)`` in the
   denominator and gets weight 0): :meth:`~ContextualAttention.masked_softmax` over every
   column, or :meth:`~ContextualAttention.softmax_block` over a block's valid columns;
5. :meth:`~ContextualAttention.paste`: overlap-add the weighted ``2*rate`` raw patches
   (the transposed convolution with stride ``rate``) and divide by 4.

The ways to run it differ only in which rows, columns and cells they take at once:
``"batched"`` (all at once, batched matmuls: the default), ``"literal"`` (one sample at a
time as ``conv`` -> softmax -> ``conv_transpose``: the released code's op bit for bit),
chunked (``chunk_elements``: foreground rows in chunks, their geometry in
:mod:`gi_tf.layers.attention_chunked`) and windowed (some foreground cells, background rows
in bands: :mod:`gi_tf.inference.windowed.attention`). All agree to float noise (tested).
"""

import collections

import keras
from keras import ops

from gi_tf.layers import attention_chunked as tiles
from gi_tf.layers import attention_patches as patches_lib
from gi_tf.layers.attention_options import IMPLEMENTATIONS
from gi_tf.layers.attention_propagation import AttentionPropagation
from gi_tf.layers.resizing import resize_nearest_align_corners

# What one block of the scaled softmax gives (ContextualAttention.softmax_block).
SoftmaxBlock = collections.namedtuple("SoftmaxBlock",
                                      ["x", "block_max", "m", "total", "e", "alpha"])


def _tf():
    import tensorflow as tf  # lazy: TensorFlow-only forms (valid columns, transpose_b)

    return tf


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
            Chunks need ``fuse_k <= 3``.
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
        f_small, b_small, valid = self.grid(foreground, background, holes)
        if self.implementation == "batched":
            y, best = self._attend_batched(f_small, b_small, valid, background)
        else:
            y, best = self._attend_literal(f_small, b_small, valid, background)
        shape = ops.shape(f_small)
        offsets = self._relative_offsets(best, shape[1], shape[2])
        return ops.cast(y, out_dtype), offsets

    # -- the steps, written once --------------------------------------------------------

    def grid(self, foreground, background, holes=None):
        """The matching grid: ``(f_small, b_small, valid)``.

        ``f_small``, ``b_small``: float32 ``[B, h, w, C]``, downsampled by ``rate`` (TF1
        align-corners nearest); ``valid``: float32 ``[B, h*w]``, 1 = background patch free
        of holes (all ones when ``holes`` is None; a ``[1, H, W, 1]`` mask, the released
        code's convention, is shared by the batch).
        """
        shape = ops.shape(foreground)
        small_h, small_w = shape[1] // self.rate, shape[2] // self.rate
        f_small = resize_nearest_align_corners(foreground, small_h, small_w)
        b_small = resize_nearest_align_corners(background, small_h, small_w)
        if holes is None:
            return f_small, b_small, ops.ones((shape[0], small_h * small_w), "float32")
        holes_small = resize_nearest_align_corners(ops.cast(holes, "float32"), small_h, small_w)
        valid = patches_lib.hole_free_patches(holes_small, self.ksize)
        return f_small, b_small, ops.broadcast_to(valid, (shape[0], small_h * small_w))

    def foreground_patches(self, f_small, cells=None):
        """``ksize`` patches of the grid: ``[B, h*w, D]``, or ``[n, D]`` of one sample's
        ``[h, w, C]`` at int32 flat ``cells`` ``[n]`` (``D = ksize*ksize*C``)."""
        if cells is None:
            return patches_lib.dense_patches(f_small, self.ksize)
        return patches_lib.patches_at(f_small, cells, self.ksize)

    def background_kernels(self, b_small, cells=None, ok=None):
        """The L2-normalised background patches: ``[B, D, h*w]`` (columns), or ``[n, D]``
        (rows) of one sample at ``cells``, zero where the bool ``ok`` ``[n]`` is False."""
        if cells is None:
            return patches_lib.background_kernels(b_small, self.ksize)
        kernels = patches_lib.l2_normalise(patches_lib.patches_at(b_small, cells, self.ksize), -1)
        if ok is None:
            return kernels
        return kernels * ops.cast(ok, kernels.dtype)[:, None]

    def raw_patches(self, background, cells=None):
        """The ``2*rate`` full-resolution patches pasted back: ``[B, h*w, P]``, or ``[n, P]``
        of one sample's ``[H, W, C]`` at ``cells`` (``P = (2*rate)**2 * C``)."""
        if cells is None:
            return patches_lib.raw_patches(background, self.rate)
        return patches_lib.patches_at(background, cells, 2 * self.rate, self.rate)

    def match(self, f_patches, kernels, kernels_as_rows=False):
        """Cosine scores ``f_patches @ kernels`` (``kernels`` transposed when given as rows)."""
        if not kernels_as_rows:
            return patches_lib.match_scores(f_patches, kernels)
        if keras.backend.backend() == "tensorflow":
            return _tf().matmul(f_patches, kernels, transpose_b=True)
        return ops.matmul(f_patches, ops.swapaxes(kernels, -1, -2))

    @property
    def propagation_shifts(self):
        """The steps of the propagation's taps: ``(-1, 0, 1)`` for ``fuse_k=3``, ``(0,)``
        without fuse."""
        if not self.fuse:
            return (0,)
        return tuple(i - (self.fuse_k - 1) // 2 for i in range(self.fuse_k))

    def propagate(self, scores, small_h, small_w):
        """Attention propagation of [B, Lf, Lb] scores (no-op when ``fuse`` is off)."""
        if not self.fuse:
            return scores
        batch = ops.shape(scores)[0]
        grid = ops.reshape(scores, (batch, small_h, small_w, small_h, small_w))
        grid = self.propagation(grid)
        return ops.reshape(grid, (batch, small_h * small_w, small_h * small_w))

    def propagate_rows(self, f_patches, kernels, r0, rows, height, width):
        """Propagated scores ``[rows*width, L]`` of one sample's foreground rows ``[r0, r0+rows)``.

        The rows ``[r0, r0 + rows)`` of :meth:`propagate` (``fuse_k <= 3``), from the raw
        scores of their halo (:func:`gi_tf.layers.attention_chunked.slot_rows`): the
        row-major taps on the halo rows, then the column-major taps on the chunk.

        Args:
            f_patches: float32 ``[L + 1, D]``: the sample's foreground patches and a zero row.
            kernels: float32 ``[D, L]``: its normalised background patches.
            r0, rows: the chunk (rows past ``height`` give zero-padded garbage rows).
        """
        length = height * width
        chunk = r0 * width + ops.arange(rows * width, dtype="int32")
        inside = chunk < length
        if not self.fuse:
            return self.match(ops.take(f_patches, ops.where(inside, chunk, length), axis=0),
                              kernels)
        slots = tiles.slot_rows(r0, rows, height, width)
        scores = self.match(ops.take(f_patches, slots, axis=0), kernels)  # [T + 1, L]
        real = slots < length
        parts = []
        for d in self.propagation_shifts:  # horizontal pass, on every slot row
            pos, ok = tiles.row_major_step(slots, d, length, ok=real)
            parts.append(tiles.shift_columns(
                ops.take(scores, tiles.slot_of(pos, ok, r0, rows, height, width), axis=0), d))
        out1 = self.sum_taps(parts)
        parts = []
        for d in self.propagation_shifts:  # vertical pass, on the chunk's rows
            pos, ok = tiles.column_major_step(chunk, d, height, width, ok=inside)
            part = ops.take(out1, tiles.slot_of(pos, ok, r0, rows, height, width), axis=0)
            parts.append(tiles.shift_columns_vertically(part, d, height, width))
        return self.sum_taps(parts)

    def sum_taps(self, parts):
        """Sum of the propagation's same-shaped taps; one pass over memory on TensorFlow."""
        if keras.backend.backend() == "tensorflow" and len(parts) > 1:
            return _tf().add_n(parts)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def masked_softmax(self, scores, valid):
        """Multiply by validity, scaled softmax over background, multiply again."""
        valid = ops.expand_dims(valid, 1)  # [B, 1, Lb]
        weights = ops.softmax(scores * valid * self.softmax_scale, axis=-1)
        return weights * valid

    def weights_and_best(self, scores, valid):
        """:meth:`masked_softmax` of ``[B, Lf, Lb]`` scores and its argmax ``[B, Lf]``."""
        weights = self.masked_softmax(scores, valid)
        return weights, ops.cast(ops.argmax(weights, axis=-1), "int32")

    def softmax_block(self, scores, invalid, state=None):
        """The scaled softmax on one block of valid background columns (TensorFlow).

        The same weights as :meth:`masked_softmax` without its masked columns: each of the
        ``invalid`` masked columns of the block counts ``exp(0 - max)`` in the denominator
        and gets weight 0. Blocks combine as an online softmax.

        Args:
            scores: float32 ``[n, Lv]`` scores of the block's valid columns (``Lv`` may be 0).
            invalid: scalar, how many of the block's columns are masked.
            state: ``(m, total)`` ``[n, 1]`` of the blocks before, or None for the first.

        Returns:
            :data:`SoftmaxBlock`: ``x`` the scaled scores, ``block_max`` their row maxima,
            ``m`` the running maximum, ``total`` the running denominator, ``e`` =
            ``exp(x - m)``, ``alpha`` = ``exp(m_before - m)`` (None for the first block);
            the block's weights are ``e / total`` once every block is in.
        """
        tf = _tf()
        x = scores * self.softmax_scale
        block_max = tf.reduce_max(x, axis=1, keepdims=True)  # -inf when no column is valid
        top = tf.where(invalid > 0, tf.maximum(block_max, 0.0), block_max)
        invalid = tf.cast(invalid, x.dtype)
        if state is None:
            e = tf.exp(x - top)
            total = tf.reduce_sum(e, axis=1, keepdims=True) + invalid * tf.exp(-top)
            return SoftmaxBlock(x, block_max, top, total, e, None)
        m, total = state
        m_new = tf.maximum(m, top)
        alpha = tf.exp(m - m_new)
        e = tf.exp(x - m_new)
        total = total * alpha + tf.reduce_sum(e, axis=1, keepdims=True) + invalid * tf.exp(-m_new)
        return SoftmaxBlock(x, block_max, m_new, total, e, alpha)

    def paste(self, pasted, height, width, channels):
        """Overlap-add ``[B, h*w, P]`` weighted raw patches into ``[B, H, W, C]``, divided by 4."""
        return patches_lib.fold_patches(pasted, height, width, channels, self.rate) / 4.0

    # -- the ways to tile it ------------------------------------------------------------

    def _attend_batched(self, f_small, b_small, valid, background):
        """Every sample, row and column at once (or row chunks past ``chunk_elements``)."""
        shape = ops.shape(background)
        small_h, small_w = shape[1] // self.rate, shape[2] // self.rate
        f_patches = self.foreground_patches(f_small)
        kernels = self.background_kernels(b_small)
        raw = self.raw_patches(background)

        def full():
            scores = self.match(f_patches, kernels)  # [B, Lf, Lb]
            scores = self.propagate(scores, small_h, small_w)
            weights, best = self.weights_and_best(scores, valid)  # [B, Lf, Lb], [B, Lf]
            return ops.matmul(weights, raw), best

        if self.chunk_elements is None:
            pasted, best = full()
        else:
            pasted, best = self._maybe_chunked(full, f_patches, kernels, valid, raw,
                                               small_h, small_w)
        return self.paste(pasted, shape[1], shape[2], shape[3]), best

    def _attend_literal(self, f_small, b_small, valid, background):
        """One sample at a time: ``conv`` -> softmax -> ``conv_transpose``, as released.

        The background patches become convolution kernels (``extract_patches``), the
        scores are propagated and soft-maxed with the mask, and a transposed convolution
        with the raw ``2*rate`` patches pastes the features back: the released code's op
        bit for bit (``gi-parity``).
        """
        rate = self.rate
        kernels = patches_lib.l2_normalise(patches_lib.conv_kernels(b_small, self.ksize, 1),
                                           axis=(1, 2, 3))
        raw_kernels = patches_lib.conv_kernels(background, 2 * rate, rate)
        full = ops.shape(background)
        small = ops.shape(f_small)

        def one_sample(args):
            f_i, kernel_i, raw_i, valid_i = args
            scores = ops.conv(f_i[None], kernel_i, strides=1, padding="same")  # [1, h, w, L]
            scores = ops.reshape(scores, (1, small[1] * small[2], -1))
            scores = self.propagate(scores, small[1], small[2])
            weights = self.masked_softmax(scores, valid_i[None])
            best = ops.argmax(weights, axis=-1)[0]
            weights = ops.reshape(weights, (1, small[1], small[2], -1))
            y = ops.conv_transpose(weights, raw_i, strides=rate, padding="same")
            y = ops.reshape(y, (full[1], full[2], full[3])) / 4.0
            return y, ops.cast(best, "int32")

        return ops.map(one_sample, (f_small, kernels, raw_kernels, valid))

    def _maybe_chunked(self, full, f_patches, kernels, valid, raw, small_h, small_w):
        """Full attention if its score matrix fits ``chunk_elements``, else row chunks."""
        row_elements = small_w * small_h * small_w
        rows = tiles.chunk_rows(self.chunk_elements, small_h, small_w)

        def chunked():
            return self._attend_chunked(f_patches, kernels, valid, raw, small_h, small_w, rows)

        fits = small_h * row_elements <= self.chunk_elements
        if isinstance(fits, bool):
            return full() if fits else chunked()
        return ops.cond(fits, full, chunked)

    def _paste_chunk(self, scores, valid, raw):
        """Masked softmax over every background column, argmax, paste (any backend)."""
        weights, best = self.weights_and_best(scores[None], valid[None])
        return ops.matmul(weights[0], raw), best[0]

    def _paste_chunk_valid(self, scores, columns, invalid, raw_valid):
        """The same on the valid columns only (TensorFlow): invalid ones only count in the sum.

        ``columns`` int32 ``[Lv]`` valid column indices, ``invalid`` their complement's size,
        ``raw_valid`` ``[Lv, P]``.
        """
        tf = _tf()
        block = self.softmax_block(tf.gather(scores, columns, axis=1), invalid)
        weights = block.e / block.total

        def best_valid():
            arg = tf.argmax(weights, axis=1, output_type=tf.int32)
            best_weight = tf.gather(weights, arg, axis=1, batch_dims=1)
            # argmax over all weights picks index 0 when every weight is 0 (underflow).
            return tf.where(best_weight > 0, tf.gather(columns, arg), 0)

        best = tf.cond(tf.size(columns) > 0, best_valid,
                       lambda: tf.zeros(tf.shape(weights)[:1], tf.int32))
        return tf.matmul(weights, raw_valid), best

    def _attend_chunked(self, f_patches, kernels, valid, raw, height, width, rows):
        """Pasted patches ``[B, L, P]`` and best ``[B, L]``, ``rows`` foreground grid rows at
        a time, one sample after another (:func:`~gi_tf.layers.attention_chunked.
        sequential_fori_loop`); on TensorFlow the masked columns are left out."""
        if self.fuse and self.fuse_k > 3:
            raise ValueError("chunked attention supports fuse_k <= 3")
        tensorflow = keras.backend.backend() == "tensorflow"
        shape = ops.shape(raw)
        batch, length, patch = shape[0], shape[1], shape[2]
        n_chunks = (height + rows - 1) // rows
        chunk_len = rows * width
        padded_len = n_chunks * chunk_len
        zero_row = ops.zeros_like(f_patches[0, :1])

        def sample(b, state):
            pasted_all, best_all = state
            f_b = ops.concatenate([f_patches[b], zero_row], axis=0)
            kernels_b, valid_b, raw_b = kernels[b], valid[b], raw[b]
            if tensorflow:
                tf = _tf()
                columns = tf.cast(tf.reshape(tf.where(valid_b > 0), (-1,)), tf.int32)
                invalid = length - tf.size(columns)
                raw_valid = tf.gather(raw_b, columns)

            def chunk(c, chunk_state):
                pasted_b, best_b = chunk_state
                scores = self.propagate_rows(f_b, kernels_b, c * rows, rows, height, width)
                if tensorflow:
                    pasted, best = self._paste_chunk_valid(scores, columns, invalid, raw_valid)
                else:
                    pasted, best = self._paste_chunk(scores, valid_b, raw_b)
                # scatter_update: TF has no gradient for slice_update (XlaDynamicUpdateSlice),
                # which made the chunked layer untrainable.
                slots = ops.expand_dims(c * chunk_len + ops.arange(chunk_len, dtype="int32"), -1)
                return (ops.scatter_update(pasted_b, slots, pasted),
                        ops.scatter_update(best_b, slots, best))

            init = (ops.zeros((padded_len, patch), raw.dtype), ops.zeros((padded_len,), "int32"))
            pasted_b, best_b = tiles.sequential_fori_loop(0, n_chunks, chunk, init)
            index = ops.reshape(b, (1, 1))
            return (ops.scatter_update(pasted_all, index, pasted_b[None, :length]),
                    ops.scatter_update(best_all, index, best_b[None, :length]))

        init = (ops.zeros((batch, length, patch), raw.dtype), ops.zeros((batch, length), "int32"))
        return tiles.sequential_fori_loop(0, batch, sample, init)

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
