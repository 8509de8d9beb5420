"""Exact windowed inference: the generator's result in the hole at the cost of the hole.

Only hole pixels of the refined image are used (known pixels are copied from the input),
and a hole pixel depends on

* the coarse network within its receptive field (the hole's coarse values are pasted
  into the refinement input);
* the dilated refinement branch (``xconv*``) and the decoder (``allconv*``) within theirs;
* the contextual attention at the foreground grid positions whose pasted patches reach it,
  with the attention propagation's neighbours (and its wrap-around) — and, through them,
  on the *whole* image: every hole-free background patch competes in the softmax.

So the refined output on the hole pixels is computed exactly with the coarse network,
the dilated branch and the decoders only on windows around the holes, the attention
encoder over the whole image (in row strips), and the attention only for the foreground
positions that reach the hole, against every background position, in bands with an online
softmax. The result equals the whole-image computation up to float32 summation order.

All of it is graph code with dynamic shapes, planned from the mask inside the graph, so
the SavedModel's signatures, ``Inpainter`` (SavedModel or checkpoint), ``gi-inpaint`` and
``gi-app`` run one implementation. Modules, in the order they run:

* :mod:`~gi_tf.inference.windowed.geometry`: the layer table along one axis: sizes, the
  exact input range of every layer, receptive fields, a window's rectangles;
* :mod:`~gi_tf.inference.windowed.plan`: windows from the mask, attention positions, the
  FLOPs and estimated peak memory of both paths, the ``"auto"`` rule;
* :mod:`~gi_tf.inference.windowed.attention`: the attention at some positions only;
* :mod:`~gi_tf.inference.windowed.run`: layers on windows, :func:`refine` of one sample,
  and ``run_network``, the per-sample choice every pipeline calls.

Conventions: images float32 in [-1, 1] RGB, H and W multiples of 8; holes float32, 1 =
hole (as :class:`gi_tf.models.InpaintGenerator`). Rectangles are ``((row0, row1), (col0,
col1))`` half-open, in the coordinates of the resolution they belong to.
"""
