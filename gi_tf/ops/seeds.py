"""Seeds for stateless random ops (``tf.random.stateless_*``).

Every random draw of the input masks goes through a ``[2]`` int64 seed, so that the
same seed gives the same draw in eager mode, inside ``tf.function``, under
``tf.distribute`` and after resuming from a checkpoint.
"""

import keras
import tensorflow as tf

# Plain TensorFlow code (no tensor-dependent Python control flow): skipping AutoGraph's
# source conversion keeps tracing inside train steps and tf.data fast.
_plain_tf = tf.autograph.experimental.do_not_convert


@_plain_tf
def as_seed(seed):
    """Normalise a seed to an int64 ``[2]`` tensor.

    Args:
        seed: a Python/NumPy int (becomes ``[seed, 0]``), an int tensor of shape ``[]``
            or ``[2]``, or a ``keras.random.SeedGenerator`` (one ``next()`` is drawn, so
            its state advances).

    Returns:
        int64 tensor ``[2]``.

    Example:
        >>> as_seed(7).numpy().tolist()
        [7, 0]
    """
    if isinstance(seed, keras.random.SeedGenerator):
        seed = seed.next()
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.zeros([], tf.int64)])
    return tf.ensure_shape(tf.reshape(seed, [-1]), [2])


@_plain_tf
def split_seed(seed, num):
    """``num`` independent int64 ``[2]`` seeds derived from ``seed`` (see :func:`as_seed`)."""
    return tf.unstack(tf.random.experimental.stateless_split(as_seed(seed), num=num))
