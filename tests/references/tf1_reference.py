"""Graph-mode stand-in for the authors' TF1 DeepFill v1 inference, for tests only.

A re-statement of the released ``inpaint_model.py`` / ``inpaint_ops.py`` / ``test.py``
(v1.0.0) semantics with raw TensorFlow ops in a ``tf.Graph`` run by a
``tf.compat.v1.Session``, so that static shapes (``get_shape``) drive every size as in
TF1. It shares no code with ``gi_tf`` (no Keras layers, no gi_tf resize, patch or
naming helpers) and consumes the weights exactly as a TF1 checkpoint holds them:
``{"inpaint_net/<scope>/kernel": HWIO array, "inpaint_net/<scope>/bias": array}`` in
the released **BGR** layout.

What it reproduces:

* the architecture as rows ``(scope, kernel, in, out, stride, dilation)``;
  :data:`VARIABLE_SHAPES` is derived from them (3,601,542 parameters);
* ``gen_conv`` = ``tf.nn.conv2d`` (TF "SAME": asymmetric for stride 2, dilations) +
  bias + ELU; ``gen_deconv`` = ``resize_nearest_neighbor(align_corners=True)`` to
  ``int(2*H) x int(2*W)`` then a ``gen_conv`` in scope ``<name>/<name>_conv``;
* the 5-channel inputs ``concat([x, ones, ones*mask])``, the mask resized to conv6's
  size (nearest, align corners), clip (not tanh) of both outputs, the coarse result
  pasted into the hole before refinement, ``concat([x_hallu, pm])``;
* contextual attention as released: raw ``2*rate`` patches with step ``rate``,
  align-corners nearest downsampling (``int(H*(1/rate))`` for f and the mask,
  ``int(H/rate)`` for b), 3x3 matching patches, validity from the *first* mask only,
  then per sample: background-only normalisation (floor 1e-4), scores by
  ``conv2d``, fuse by two identity-kernel convolutions (row-major then column-major
  flattening) *before* the softmax, multiply by the validity, scaled softmax, multiply
  again, argmax offsets decoded with the *foreground* width, ``conv2d_transpose``
  (SAME) of the raw patches, then ``/ 4``;
* ``test.py`` + ``build_server_graph``: crop to a multiple of 8, mask = first channel
  of the first mask image ``> 127.5``, ``x / 127.5 - 1``, incomplete image, generator,
  paste, ``(x + 1) * 127.5``, channel reverse, ``saturate_cast`` to uint8 (clamp then
  truncation), channel reverse again for ``cv2.imwrite``;
* the checkpoint files: :func:`save_tf1_checkpoint` writes ``{name: array}`` with a TF1
  ``Saver`` (``checkpoint`` index, ``.index``, ``.data``, ``.meta``), and
  :func:`training_extras` adds what a training snapshot holds besides the generator
  (critic variables, Adam slots, counters).
"""

import os

import numpy as np
import tensorflow as tf

SCOPE = "inpaint_net"
CNUM = 32
GRID = 8

# (scope, kernel, in channels, out channels, stride, dilation); "_upsample" scopes are
# gen_deconv (x2 nearest first, inner conv "<scope>/<scope>_conv").
COARSE_ENCODER = (
    ("conv1", 5, 5, CNUM, 1, 1),
    ("conv2_downsample", 3, CNUM, 2 * CNUM, 2, 1),
    ("conv3", 3, 2 * CNUM, 2 * CNUM, 1, 1),
    ("conv4_downsample", 3, 2 * CNUM, 4 * CNUM, 2, 1),
    ("conv5", 3, 4 * CNUM, 4 * CNUM, 1, 1),
    ("conv6", 3, 4 * CNUM, 4 * CNUM, 1, 1),
)
COARSE_MIDDLE = (
    ("conv7_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 2),
    ("conv8_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 4),
    ("conv9_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 8),
    ("conv10_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 16),
    ("conv11", 3, 4 * CNUM, 4 * CNUM, 1, 1),
    ("conv12", 3, 4 * CNUM, 4 * CNUM, 1, 1),
)
HALLUCINATION = (
    ("xconv1", 5, 5, CNUM, 1, 1),
    ("xconv2_downsample", 3, CNUM, CNUM, 2, 1),
    ("xconv3", 3, CNUM, 2 * CNUM, 1, 1),
    ("xconv4_downsample", 3, 2 * CNUM, 2 * CNUM, 2, 1),
    ("xconv5", 3, 2 * CNUM, 4 * CNUM, 1, 1),
    ("xconv6", 3, 4 * CNUM, 4 * CNUM, 1, 1),
    ("xconv7_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 2),
    ("xconv8_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 4),
    ("xconv9_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 8),
    ("xconv10_atrous", 3, 4 * CNUM, 4 * CNUM, 1, 16),
)
ATTENTION_ENCODER = (  # pmconv6 (the last row) uses ReLU
    ("pmconv1", 5, 5, CNUM, 1, 1),
    ("pmconv2_downsample", 3, CNUM, CNUM, 2, 1),
    ("pmconv3", 3, CNUM, 2 * CNUM, 1, 1),
    ("pmconv4_downsample", 3, 2 * CNUM, 4 * CNUM, 2, 1),
    ("pmconv5", 3, 4 * CNUM, 4 * CNUM, 1, 1),
    ("pmconv6", 3, 4 * CNUM, 4 * CNUM, 1, 1),
)
ATTENTION_DECODER = (
    ("pmconv9", 3, 4 * CNUM, 4 * CNUM, 1, 1),
    ("pmconv10", 3, 4 * CNUM, 4 * CNUM, 1, 1),
)


def _decoder_rows(prefix, in_channels):
    return (
        (f"{prefix}11", 3, in_channels, 4 * CNUM, 1, 1),
        (f"{prefix}12", 3, 4 * CNUM, 4 * CNUM, 1, 1),
        (f"{prefix}13_upsample", 3, 4 * CNUM, 2 * CNUM, 1, 1),
        (f"{prefix}14", 3, 2 * CNUM, 2 * CNUM, 1, 1),
        (f"{prefix}15_upsample", 3, 2 * CNUM, CNUM, 1, 1),
        (f"{prefix}16", 3, CNUM, CNUM // 2, 1, 1),
        (f"{prefix}17", 3, CNUM // 2, 3, 1, 1),  # linear, then clip
    )


COARSE_DECODER = _decoder_rows("conv", 4 * CNUM)[2:]  # conv11/12 are in COARSE_MIDDLE
MERGE_DECODER = _decoder_rows("allconv", 8 * CNUM)
ALL_ROWS = (COARSE_ENCODER + COARSE_MIDDLE + COARSE_DECODER + HALLUCINATION
            + ATTENTION_ENCODER + ATTENTION_DECODER + MERGE_DECODER)


def variable_scope(scope):
    """TF1 scope of a row's variables: ``conv13_upsample/conv13_upsample_conv`` etc."""
    return f"{scope}/{scope}_conv" if scope.endswith("_upsample") else scope


def _variable_shapes():
    shapes = {}
    for scope, k, cin, cout, _, _ in ALL_ROWS:
        shapes[f"{SCOPE}/{variable_scope(scope)}/kernel"] = (k, k, cin, cout)
        shapes[f"{SCOPE}/{variable_scope(scope)}/bias"] = (cout,)
    return shapes


VARIABLE_SHAPES = _variable_shapes()


def random_weights(seed=0):
    """``{TF1 name: float32 array}`` for every generator variable, He-scaled at random.

    Biases are small but non-zero so that a swapped or transposed bias shows.
    """
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in sorted(VARIABLE_SHAPES.items()):
        if name.endswith("/kernel"):
            fan_in = shape[0] * shape[1] * shape[2]
            arrays[name] = rng.normal(0.0, np.sqrt(1.5 / fan_in), shape).astype(np.float32)
        else:
            arrays[name] = rng.uniform(-0.1, 0.1, shape).astype(np.float32)
    return arrays


# -- convolution helpers ------------------------------------------------------------------


def _static_hw(x):
    shape = x.get_shape().as_list()
    return shape[1], shape[2]


def nearest_align_corners(x, height, width):
    """TF1 ``resize_nearest_neighbor`` with ``align_corners=True`` (no half-pixel centres)."""
    return tf.compat.v1.image.resize_nearest_neighbor(x, [height, width], align_corners=True)


def _gen_conv(x, arrays, row, activation=tf.nn.elu):
    scope, k, cin, cout, stride, rate = row
    if scope.endswith("_upsample"):  # gen_deconv
        h, w = _static_hw(x)
        x = nearest_align_corners(x, int(h * 2), int(w * 2))
    name = f"{SCOPE}/{variable_scope(scope)}"
    kernel = tf.constant(arrays[f"{name}/kernel"], tf.float32)
    assert kernel.shape == (k, k, cin, cout), (name, kernel.shape)
    y = tf.nn.conv2d(x, kernel, strides=[1, stride, stride, 1], padding="SAME",
                     dilations=[1, rate, rate, 1])
    y = tf.nn.bias_add(y, tf.constant(arrays[f"{name}/bias"], tf.float32))
    return y if activation is None else activation(y)


def _stack(x, arrays, rows):
    for row in rows:
        x = _gen_conv(x, arrays, row)
    return x


# -- contextual attention -----------------------------------------------------------------


def _patch_bank(images, size, step):
    """``[B, H, W, C]`` -> ``[B, size, size, C, L]`` kernels (SAME patches, row-major L)."""
    batch, _, _, channels = images.get_shape().as_list()
    patches = tf.compat.v1.extract_image_patches(
        images, ksizes=[1, size, size, 1], strides=[1, step, step, 1], rates=[1, 1, 1, 1],
        padding="SAME")
    patches = tf.reshape(patches, [batch, -1, size, size, channels])
    return tf.transpose(patches, [0, 2, 3, 4, 1])


def _propagate(scores, fh, fw, bh, bw, fuse_k):
    """Fuse: identity-kernel conv over row-major flattening, then over column-major."""
    eye = tf.reshape(tf.eye(fuse_k), [fuse_k, fuse_k, 1, 1])
    s = tf.reshape(scores, [1, fh * fw, bh * bw, 1])
    s = tf.nn.conv2d(s, eye, strides=[1, 1, 1, 1], padding="SAME")
    s = tf.transpose(tf.reshape(s, [1, fh, fw, bh, bw]), [0, 2, 1, 4, 3])
    s = tf.reshape(s, [1, fh * fw, bh * bw, 1])
    s = tf.nn.conv2d(s, eye, strides=[1, 1, 1, 1], padding="SAME")
    s = tf.transpose(tf.reshape(s, [1, fw, fh, bw, bh]), [0, 2, 1, 4, 3])
    return s


def contextual_attention(f, b, mask=None, ksize=3, stride=1, rate=1, fuse_k=3,
                         softmax_scale=10.0, fuse=True):
    """Released-code contextual attention on static-shape tensors.

    Returns:
        ``(y [B, H, W, C], relative offsets int32 [B, H/rate, W/rate, 2])``.
    """
    f_shape = f.get_shape().as_list()
    b_shape = b.get_shape().as_list()
    raw_bank = _patch_bank(b, 2 * rate, rate * stride)

    f_small = nearest_align_corners(
        f, int(f_shape[1] * (1.0 / rate)), int(f_shape[2] * (1.0 / rate)))
    b_small = nearest_align_corners(b, int(b_shape[1] / rate), int(b_shape[2] / rate))
    fh, fw = _static_hw(f_small)
    bh, bw = _static_hw(b_small)
    if mask is None:
        mask_small = tf.zeros([1, bh, bw, 1])
    else:
        mh, mw = _static_hw(mask)
        mask_small = nearest_align_corners(mask, int(mh * (1.0 / rate)), int(mw * (1.0 / rate)))

    bank = _patch_bank(b_small, ksize, stride)
    # Validity from the first mask only: the patches are reshaped as if the batch were 1.
    mask_patches = tf.compat.v1.extract_image_patches(
        mask_small, ksizes=[1, ksize, ksize, 1], strides=[1, stride, stride, 1],
        rates=[1, 1, 1, 1], padding="SAME")
    mask_patches = tf.transpose(tf.reshape(mask_patches, [1, -1, ksize, ksize, 1]),
                                [0, 2, 3, 4, 1])[0]
    valid = tf.cast(tf.equal(tf.reduce_mean(mask_patches, axis=[0, 1, 2], keepdims=True), 0.0),
                    tf.float32)  # [1, 1, 1, L]

    outputs, offsets = [], []
    batch = f_shape[0]
    for i in range(batch):
        kernels = bank[i]
        norms = tf.sqrt(tf.reduce_sum(tf.square(kernels), axis=[0, 1, 2]))
        kernels = kernels / tf.maximum(norms, 1e-4)
        scores = tf.nn.conv2d(f_small[i:i + 1], kernels, strides=[1, 1, 1, 1], padding="SAME")
        if fuse:
            scores = _propagate(scores, fh, fw, bh, bw, fuse_k)
        scores = tf.reshape(scores, [1, fh, fw, bh * bw])
        scores = scores * valid
        weights = tf.nn.softmax(scores * softmax_scale, axis=3)
        weights = weights * valid
        best = tf.argmax(weights, axis=3, output_type=tf.int32)
        offsets.append(tf.stack([best // fw, best % fw], axis=-1))
        pasted = tf.nn.conv2d_transpose(
            weights, raw_bank[i], output_shape=[1] + f_shape[1:], strides=[1, rate, rate, 1],
            padding="SAME")
        outputs.append(pasted / 4.0)
    y = tf.concat(outputs, axis=0)
    offsets = tf.concat(offsets, axis=0)
    rows = tf.broadcast_to(tf.reshape(tf.range(bh), [1, bh, 1]), [batch, bh, bw])
    cols = tf.broadcast_to(tf.reshape(tf.range(bw), [1, 1, bw]), [batch, bh, bw])
    return y, offsets - tf.stack([rows, cols], axis=-1)


# -- generator ----------------------------------------------------------------------------


def build_inpaint_net(incomplete, mask, arrays):
    """The generator graph (``build_inpaint_net``).

    Args:
        incomplete: ``[B, H, W, 3]`` BGR in [-1, 1] with hole pixels already zeroed.
        mask: ``[1, H, W, 1]``, 1 = hole.
        arrays: ``{TF1 name: array}`` in the released layout.

    Returns:
        ``(x_stage1, x_stage2, relative_offsets)`` tensors.
    """
    ones = tf.ones_like(incomplete)[:, :, :, 0:1]
    x = tf.concat([incomplete, ones, ones * mask], axis=3)
    x = _stack(x, arrays, COARSE_ENCODER)
    mask_s = nearest_align_corners(mask, *_static_hw(x))
    x = _stack(x, arrays, COARSE_MIDDLE + COARSE_DECODER[:-1])
    x_stage1 = tf.clip_by_value(_gen_conv(x, arrays, COARSE_DECODER[-1], None), -1.0, 1.0)

    x = x_stage1 * mask + incomplete * (1.0 - mask)
    x.set_shape(incomplete.get_shape().as_list())
    x_now = tf.concat([x, ones, ones * mask], axis=3)
    hallu = _stack(x_now, arrays, HALLUCINATION)
    pm = _stack(x_now, arrays, ATTENTION_ENCODER[:-1])
    pm = _gen_conv(pm, arrays, ATTENTION_ENCODER[-1], activation=tf.nn.relu)
    pm, offsets = contextual_attention(pm, pm, mask_s, 3, 1, rate=2)
    pm = _stack(pm, arrays, ATTENTION_DECODER)
    x = tf.concat([hallu, pm], axis=3)
    x = _stack(x, arrays, MERGE_DECODER[:-1])
    x_stage2 = tf.clip_by_value(_gen_conv(x, arrays, MERGE_DECODER[-1], None), -1.0, 1.0)
    return x_stage1, x_stage2, offsets


def run_generator(image_bgr, mask, arrays):
    """Run :func:`build_inpaint_net` on numpy inputs.

    Args:
        image_bgr: float ``[B, H, W, 3]`` BGR in [-1, 1] (hole pixels are zeroed here).
        mask: float ``[1, H, W, 1]`` (or ``[H, W]``), 1 = hole, shared by the batch.
        arrays: ``{TF1 name: array}`` in the released (BGR) layout.

    Returns:
        numpy ``(x_stage1, x_stage2, relative_offsets)``.
    """
    mask = np.asarray(mask, np.float32).reshape((1,) + np.shape(image_bgr)[1:3] + (1,))
    with tf.Graph().as_default():
        image = tf.constant(np.asarray(image_bgr, np.float32))
        mask_t = tf.constant(mask)
        incomplete = image * (1.0 - mask_t)
        outputs = build_inpaint_net(incomplete, mask_t, arrays)
        with tf.compat.v1.Session() as session:
            return session.run(outputs)


def server_pipeline(image_bgr, mask_image, arrays):
    """``test.py`` + ``build_server_graph``: uint8 BGR image and mask image -> uint8 BGR.

    Args:
        image_bgr: uint8 ``[H, W, 3]`` BGR (as ``cv2.imread`` gives).
        mask_image: uint8 ``[H, W, 3]`` mask image (white = hole); only its first
            channel is used.
        arrays: ``{TF1 name: array}`` in the released (BGR) layout.

    Returns:
        uint8 ``[H', W', 3]`` BGR (what ``cv2.imwrite`` receives), ``H'`` and ``W'``
        cropped down to multiples of 8 from the top-left.
    """
    image, mask_image = np.asarray(image_bgr), np.asarray(mask_image)
    assert image.shape == mask_image.shape, (image.shape, mask_image.shape)
    h, w = image.shape[0] // GRID * GRID, image.shape[1] // GRID * GRID
    joined = np.concatenate([image[None, :h, :w], mask_image[None, :h, :w]], axis=2)
    with tf.Graph().as_default():
        batch_data = tf.constant(joined, dtype=tf.float32)
        raw, raw_masks = tf.split(batch_data, 2, axis=2)
        mask = tf.cast(raw_masks[0:1, :, :, 0:1] > 127.5, tf.float32)
        incomplete = (raw / 127.5 - 1.0) * (1.0 - mask)
        _, x2, _ = build_inpaint_net(incomplete, mask, arrays)
        completed = x2 * mask + incomplete * (1.0 - mask)
        output = tf.saturate_cast(tf.reverse((completed + 1.0) * 127.5, [-1]), tf.uint8)
        with tf.compat.v1.Session() as session:
            result = session.run(output)
    return result[0][:, :, ::-1]


# -- TF1 checkpoint files -----------------------------------------------------------------

CRITIC_SHAPES = {
    **{f"discriminator/discriminator_local/conv{i + 1}/kernel": (5, 5, cin, cout)
       for i, (cin, cout) in enumerate([(3, 64), (64, 128), (128, 256), (256, 512)])},
    **{f"discriminator/discriminator_local/conv{i + 1}/bias": (cout,)
       for i, cout in enumerate([64, 128, 256, 512])},
    **{f"discriminator/discriminator_global/conv{i + 1}/kernel": (5, 5, cin, cout)
       for i, (cin, cout) in enumerate([(3, 64), (64, 128), (128, 256), (256, 256)])},
    **{f"discriminator/discriminator_global/conv{i + 1}/bias": (cout,)
       for i, cout in enumerate([64, 128, 256, 256])},
    "discriminator/dout_local_fc/kernel": (8 * 8 * 512, 1),
    "discriminator/dout_local_fc/bias": (1,),
    "discriminator/dout_global_fc/kernel": (16 * 16 * 256, 1),
    "discriminator/dout_global_fc/bias": (1,),
}


def training_extras(generator_names, seed=1):
    """Non-generator variables a TF1 training snapshot holds: critics, Adam, counters.

    Adam slots (``<var>/Adam``, ``<var>/Adam_1``) are added for the given generator
    variables and for one critic variable; counters are ``beta1_power``,
    ``beta2_power`` and ``global_step``.
    """
    rng = np.random.default_rng(seed)
    extras = {name: rng.normal(0.0, 0.01, shape).astype(np.float32)
              for name, shape in CRITIC_SHAPES.items()}
    slotted = list(generator_names) + ["discriminator/dout_local_fc/bias"]
    for name in slotted:
        shape = VARIABLE_SHAPES.get(name, CRITIC_SHAPES.get(name))
        for slot in ("Adam", "Adam_1"):
            extras[f"{name}/{slot}"] = np.zeros(shape, np.float32)
    extras["beta1_power"] = np.float32(0.5)
    extras["beta2_power"] = np.float32(0.9)
    extras["global_step"] = np.int64(1234)
    return extras


def save_tf1_checkpoint(directory, arrays, name="snap-0"):
    """Write ``{TF1 name: array}`` as a TF1 ``Saver`` checkpoint ``directory/name``.

    Variables are created with ``tf.compat.v1.get_variable`` under their full names in
    a ``tf.Graph`` and saved by a default ``tf.compat.v1.train.Saver``, so the files
    (``checkpoint`` index with an absolute path, ``.index``, ``.data``, ``.meta``) look
    like the released ones. Returns the prefix.
    """
    prefix = os.path.join(os.path.abspath(directory), name)
    with tf.Graph().as_default():
        assigns, feeds = [], {}
        for var_name, value in arrays.items():
            value = np.asarray(value)
            variable = tf.compat.v1.get_variable(
                var_name, shape=value.shape, dtype=tf.as_dtype(value.dtype),
                initializer=tf.compat.v1.zeros_initializer())
            placeholder = tf.compat.v1.placeholder(variable.dtype.base_dtype, value.shape)
            assigns.append(tf.compat.v1.assign(variable, placeholder))
            feeds[placeholder] = value
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(assigns, feed_dict=feeds)
            return saver.save(session, prefix)
