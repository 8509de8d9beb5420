"""DeepFill v1 losses as pure functions of tensors.

Reference: Yu et al., "Generative Image Inpainting with Contextual Attention", CVPR 2018,
and the released v1.0.0 code (``inpaint_model.py``, neuralgym ``gan_ops.py``).

Conventions shared by every function here:

* Images are float32 ``[B, H, W, C]`` RGB in ``[-1, 1]``.
* ``holes`` masks are float32 ``[B or 1, H, W, 1]`` with **1 = hole** (missing pixel) and
  0 = known pixel; they broadcast over the batch (a ``[1, H, W, 1]`` mask is the
  original's one-mask-per-batch) and over channels.
* Every reduction is a plain mean (element count), exactly as the released code, unless a
  docstring says otherwise.

Nothing here keeps state or writes summaries. The generator objective of the released
code is::

    g_loss = 0.001 * (g_global + g_local) + 1.2 * discounted_hole_l1 + 1.2 * known_region_l1

and the critic objective is ``d_global + d_local + 10 * (gp_local + gp_global)``.
"""

import tensorflow as tf
from keras import ops

# Plain TensorFlow code (no tensor-dependent Python control flow): skipping AutoGraph's
# source conversion keeps tracing inside train steps and tf.data fast.
_plain_tf = tf.autograph.experimental.do_not_convert

# A tiny constant inside the square root of the gradient-penalty slope. The original
# (neuralgym ``gradients_penalty``) has none; TF-GAN puts one there because the gradient
# of sqrt at 0 is infinite. 1e-12 shifts a slope of 0 to 1e-6 and changes any slope
# >= 1e-3 by less than 1e-6 relative, so it only removes the NaN.
GP_EPSILON = 1e-12


@_plain_tf
def box_discount_weights(height, width, gamma):
    """Spatial discount weights of the released code, measured from the bbox edges.

    ``W[i, j] = max(gamma**min(i, height - i), gamma**min(j, width - j))``, which for
    ``0 < gamma <= 1`` equals ``gamma**min(i, height - i, j, width - j)``. Note
    ``height - i`` (not ``height - 1 - i``): row 0 has weight 1 but the last row has
    weight ``gamma``, the same asymmetry as ``spatial_discounting_mask`` in v1.0.0.
    ``gamma = 1`` gives all ones (the ``DISCOUNTED_MASK: False`` setting).

    Args:
        height: int, bbox height in pixels (128 in the released config).
        width: int, bbox width in pixels.
        gamma: float in ``(0, 1]``; 0.9 in the released config, 0.99 in the paper.

    Returns:
        float32 tensor ``[1, height, width, 1]`` with values in ``(0, 1]``.

    Example:
        >>> w = box_discount_weights(4, 4, 0.5)
        >>> [float(v) for v in w[0, :, 0, 0]]
        [1.0, 1.0, 1.0, 1.0]
        >>> [float(v) for v in w[0, 2, :, 0]]
        [1.0, 0.5, 0.25, 0.5]
    """
    rows = ops.arange(height, dtype="float32")
    cols = ops.arange(width, dtype="float32")
    row_steps = ops.minimum(rows, float(height) - rows)[:, None]
    col_steps = ops.minimum(cols, float(width) - cols)[None, :]
    gamma = ops.cast(gamma, "float32")
    weights = ops.maximum(ops.power(gamma, row_steps), ops.power(gamma, col_steps))
    return ops.reshape(weights, (1, height, width, 1))


@_plain_tf
def hole_distance(holes):
    """Chessboard distance from each hole pixel to the nearest known pixel.

    Computed in the graph by dilating the known region with a 3x3 max-pool until it stops
    growing (at most ``max(H, W)`` dilations), so it works with a dynamic batch size.
    Only pixels inside the image count as known: the image border is not a known pixel.

    Args:
        holes: float ``[B, H, W, 1]`` mask, 1 = hole.

    Returns:
        float32 ``[B, H, W, 1]``: 0 on known pixels, ``d >= 1`` on hole pixels (1 on the
        hole's outer ring). In a sample with no known pixel at all every pixel gets
        ``max(H, W)``.
    """
    holes = tf.convert_to_tensor(holes, tf.float32)
    shape = tf.shape(holes)
    limit = tf.maximum(shape[1], shape[2])
    known = 1.0 - holes

    def grow(step, reached, distance, _):
        distance = distance + (1.0 - reached)
        grown = tf.nn.max_pool2d(reached, ksize=3, strides=1, padding="SAME")
        changed = tf.reduce_any(grown > reached)
        return step + 1, grown, distance, changed

    step, reached, distance, _ = tf.while_loop(
        lambda step, reached, distance, changed: tf.logical_and(step < limit, changed),
        grow,
        (tf.constant(0), known, tf.zeros_like(holes), tf.constant(True)),
    )
    # Pixels that can never be reached (no known pixel in the sample) keep accumulating.
    return distance + tf.cast(limit - step, tf.float32) * (1.0 - reached)


@_plain_tf
def distance_discount_weights(holes, gamma):
    """Spatial discount weights for free-form holes: ``gamma**d`` inside the hole.

    This is the paper's definition (weight ``gamma**l`` with ``l`` the distance to the
    nearest known pixel) for arbitrary masks, with the chessboard distance of
    :func:`hole_distance` (the hole's outer ring has ``d = 1``). Known pixels get weight 0,
    so the weights double as the hole selector in :func:`discounted_hole_l1`.

    For a rectangular hole strictly inside the image, pixel ``(i, j)`` of the hole gets
    ``gamma**min(i + 1, H - i, j + 1, W - j)``; the released box form is
    ``gamma**min(i, H - i, j, W - j)`` (one step larger on the top and left edges).

    Args:
        holes: float ``[B, H, W, 1]`` mask, 1 = hole.
        gamma: float in ``(0, 1]``.

    Returns:
        float32 ``[B, H, W, 1]`` with values in ``[0, 1)`` (``[0, 1]`` when gamma is 1).
    """
    holes = tf.convert_to_tensor(holes, tf.float32)
    distance = hole_distance(holes)
    return holes * tf.pow(tf.cast(gamma, tf.float32), distance)


@_plain_tf
def discounted_hole_l1(real, coarse, refined, weights, coarse_weight=1.2):
    """Spatially discounted L1 on the hole (the released ``l1_loss``).

    ``coarse_weight * mean(|real - coarse| * weights) + mean(|real - refined| * weights)``
    where each mean runs over every element of ``[B, H, W, C]`` (it is **not** divided by
    ``sum(weights)``). The trainer uses it in one of two ways:

    * **Box masks (released behaviour):** pass the bbox crops (``[B, h, w, C]``, the full
      box, not the possibly shrunk hole) of real/coarse/refined and
      ``weights = box_discount_weights(h, w, gamma)``.
    * **Free-form masks:** pass the whole images and
      ``weights = distance_discount_weights(holes, gamma)`` (zero outside the hole).
      The mean is then over the whole image, so this term is smaller than the box form by
      roughly the hole's area fraction; scale its loss weight if that matters.

    Args:
        real: float ``[B, H, W, C]`` ground truth in ``[-1, 1]``.
        coarse: float ``[B, H, W, C]`` raw stage-1 output (not pasted).
        refined: float ``[B, H, W, C]`` raw stage-2 output, or ``None`` to drop the refined
            term (coarse-only pre-training, ``PRETRAIN_COARSE_NETWORK``).
        weights: float ``[B or 1, H, W, 1 or C]`` non-negative discount weights.
        coarse_weight: float, weight of the coarse term (``COARSE_L1_ALPHA``, 1.2).

    Returns:
        float32 scalar.
    """
    loss = coarse_weight * ops.mean(ops.abs(real - coarse) * weights)
    if refined is not None:
        loss = loss + ops.mean(ops.abs(real - refined) * weights)
    return loss


@_plain_tf
def known_region_l1(real, coarse, refined, holes, coarse_weight=1.2):
    """L1 on the known region, normalised by the known fraction (the released ``ae_loss``).

    ``[coarse_weight * mean(|real - coarse| * (1 - m)) + mean(|real - refined| * (1 - m))]
    / mean(1 - m)``. Numerator means run over ``B*H*W*C`` elements, the denominator over
    the mask tensor as given (``[1, H, W, 1]`` for one shared mask, ``[B, H, W, 1]`` for
    per-sample masks; the two agree when all samples share the mask). If no pixel is known
    (``mean(1 - m) == 0``) the loss and its gradients are 0, not NaN.

    Args:
        real: float ``[B, H, W, C]`` ground truth in ``[-1, 1]``.
        coarse: float ``[B, H, W, C]`` raw stage-1 output.
        refined: float ``[B, H, W, C]`` raw stage-2 output, or ``None`` to drop that term.
        holes: float ``[B or 1, H, W, 1]`` mask, 1 = hole.
        coarse_weight: float, weight of the coarse term (1.2).

    Returns:
        float32 scalar.
    """
    known = 1.0 - ops.cast(holes, "float32")
    loss = coarse_weight * ops.mean(ops.abs(real - coarse) * known)
    if refined is not None:
        loss = loss + ops.mean(ops.abs(real - refined) * known)
    return ops.divide_no_nan(loss, ops.mean(known))


@_plain_tf
def wasserstein_critic_loss(critic_real_outputs, critic_fake_outputs):
    """WGAN critic loss ``mean(D(fake)) - mean(D(real))`` (Arjovsky et al., 2017).

    Args:
        critic_real_outputs: float ``[B, 1]`` (any shape) critic scores of real images.
        critic_fake_outputs: float ``[B, 1]`` critic scores of completed images.

    Returns:
        float32 scalar; the critic minimises it.
    """
    return ops.mean(critic_fake_outputs) - ops.mean(critic_real_outputs)


@_plain_tf
def wasserstein_generator_loss(critic_fake_outputs):
    """WGAN generator loss ``-mean(D(fake))``.

    Args:
        critic_fake_outputs: float ``[B, 1]`` (any shape) critic scores of completed images.

    Returns:
        float32 scalar; the generator minimises it.
    """
    return -ops.mean(critic_fake_outputs)


@_plain_tf
def random_interpolates(real, fake, alpha):
    """Points on the lines between real and fake samples: ``real + alpha * (fake - real)``.

    Args:
        real: float ``[B, H, W, C]``.
        fake: float ``[B, H, W, C]`` (the completed image or its crop).
        alpha: float ``[B, 1, 1, 1]``, one weight per sample, uniform in ``[0, 1)``; draw it
            with ``keras.random.uniform((B, 1, 1, 1), seed=seed_generator)``.

    Returns:
        float ``[B, H, W, C]``.
    """
    return real + alpha * (fake - real)


@_plain_tf
def masked_gradient_penalty(gradients, holes=None, target_norm=1.0, epsilon=GP_EPSILON):
    """WGAN-GP penalty with the gradient norm taken over hole pixels only.

    ``slope_b = sqrt(sum_{h,w,c} grad**2 * m + epsilon)``; returns
    ``mean_b((slope_b - target_norm)**2)``. This is neuralgym's ``gradients_penalty`` as
    DeepFill v1 calls it (global critic: the full mask; local critic: the mask cropped to
    the bbox) plus ``epsilon``, which the original lacks; see :data:`GP_EPSILON`.

    Args:
        gradients: float ``[B, H, W, C]``, d critic / d interpolates.
        holes: float ``[B or 1, H, W, 1]`` mask, 1 = hole (the pixels whose gradients
            count), or ``None`` for the ordinary unmasked penalty.
        target_norm: float, the wanted slope (1).
        epsilon: float added inside the square root.

    Returns:
        float32 scalar.
    """
    squares = ops.square(ops.cast(gradients, "float32"))
    if holes is not None:
        squares = squares * ops.cast(holes, "float32")
    slopes = ops.sqrt(ops.sum(squares, axis=(1, 2, 3)) + epsilon)
    return ops.mean(ops.square(slopes - target_norm))


@_plain_tf
def gradient_penalty(critic_fn, real, fake, holes, alpha, target_norm=1.0, epsilon=GP_EPSILON,
                     input_gradient_fn=None):
    """Interpolate, run the critic, and return :func:`masked_gradient_penalty`.

    Call it inside the critic's outer ``tf.GradientTape`` so that the penalty is
    differentiated with respect to the critic weights (double back-propagation).
    The critic's input gradient comes from an inner ``tf.GradientTape`` on
    ``critic_fn``, or from ``input_gradient_fn`` when given (a function that returns
    ``d sum(critic(x)) / dx`` itself, e.g. the cheaper hand-written backward pass of
    :func:`gi_tf.layers.conv_gradients.leaky_relu_critic_input_gradient`).

    Args:
        critic_fn: callable ``[B, H, W, C] -> [B, 1]``, e.g.
            ``lambda x: critic(x, training=True)``.
        real: float ``[B, H, W, C]`` real images (or crops).
        fake: float ``[B, H, W, C]`` completed images (or crops).
        holes: float ``[B or 1, H, W, 1]`` mask, 1 = hole, or ``None``.
        alpha: float ``[B, 1, 1, 1]`` uniform interpolation weights.
        target_norm: float.
        epsilon: float added inside the square root.
        input_gradient_fn: optional callable ``[B, H, W, C] -> [B, H, W, C]``,
            ``d sum(critic_fn(x)) / dx``; None = the inner tape.

    Returns:
        float32 scalar.
    """
    interpolates = random_interpolates(real, fake, alpha)
    if input_gradient_fn is not None:
        return masked_gradient_penalty(input_gradient_fn(interpolates), holes, target_norm,
                                       epsilon)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        outputs = critic_fn(interpolates)
    # Like tf.gradients(y, x) in the original, the gradient of sum(outputs).
    gradients = tape.gradient(outputs, interpolates)
    return masked_gradient_penalty(gradients, holes, target_norm, epsilon)
