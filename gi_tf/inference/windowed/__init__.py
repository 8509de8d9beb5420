"""Exact windowed inference: the generator's result in the hole at the cost of the hole.

Only hole pixels of the refined image are used, so the convolutions run only on windows
around the holes, the attention encoder over the whole image in row strips, and the
attention only at the foreground cells that reach the hole, against every background cell
(bands with an online softmax); the result equals the whole-image computation up to
float32 summation order. Graph code with dynamic shapes, planned from the mask in the graph.
Modules in the order they run: :mod:`~.geometry` (the layer table along one axis),
:mod:`~.plan` (windows, cells, FLOPs and memory of both paths, the ``"auto"`` rule),
:mod:`~.attention` (the attention at some cells), :mod:`~.run` (``run_network``). Images
float32 in [-1, 1], H and W multiples of 8; holes 1 = hole; rectangles
``((row0, row1), (col0, col1))`` half-open.
"""
