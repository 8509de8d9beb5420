"""Weights both sides can set without shipping arrays: one seeded draw per TF1 variable name.

:func:`draw_weight` depends only on ``(seed, name, shape)``, so the authors' graph
(:mod:`gi_tf.parity.original`) and gi_tf set identical values by name; the name tables
map the TF1 names onto gi_tf's variables (the generator's is
:func:`gi_tf.tf1.names.tf1_name_table`; the critics' is :func:`critic_name_table`).
"""

import zlib

import numpy as np

from gi_tf.tf1 import names as tf1_names

CRITIC_SCOPE = tf1_names.CRITIC_SCOPE
KERNEL_GAIN = 1.0  # std = sqrt(gain / fan_in): keeps ELU stacks away from the clip at +-1
BIAS_RANGE = 0.05  # biases uniform in +-0.05: non-zero so a swapped bias shows


def name_seed(seed, name):
    """``[seed, crc32(name)]``: the NumPy seed of one variable's (or tensor's) draw."""
    return [int(seed), zlib.crc32(name.encode("utf-8"))]


def draw_weight(name, shape, seed=0):
    """float32 array for variable ``name``: scaled normal kernels, small uniform biases."""
    rng = np.random.default_rng(name_seed(seed, name))
    shape = tuple(int(d) for d in shape)
    if name.endswith("/bias") or len(shape) <= 1:
        return rng.uniform(-BIAS_RANGE, BIAS_RANGE, shape).astype(np.float32)
    fan_in = int(np.prod(shape[:-1]))
    return rng.normal(0.0, np.sqrt(KERNEL_GAIN / fan_in), shape).astype(np.float32)


def draw_weights(shapes, seed=0):
    """``{name: array}`` for ``{name: shape}`` (see :func:`draw_weight`)."""
    return {name: draw_weight(name, shape, seed) for name, shape in sorted(shapes.items())}


def critic_name_table(local_critic, global_critic):
    """``{TF1 name: Keras variable}`` of both critics (``discriminator/...`` names).

    ``discriminator/discriminator_local/conv1/kernel`` ... ``conv4``, then
    ``discriminator/dout_local_fc/{kernel,bias}``; the same for ``global``. Both critics
    must be built.
    """
    table = {}
    for scope, critic in (("local", local_critic), ("global", global_critic)):
        for conv in critic.convs:
            for part in tf1_names.VARIABLE_PARTS:
                table[f"{CRITIC_SCOPE}/discriminator_{scope}/{conv.name}/{part}"] = getattr(
                    conv, part)
        table[f"{CRITIC_SCOPE}/dout_{scope}_fc/kernel"] = critic.dense.kernel
        table[f"{CRITIC_SCOPE}/dout_{scope}_fc/bias"] = critic.dense.bias
    return table


def variable_shapes(table):
    """``{name: shape tuple}`` of a name table."""
    return {name: tuple(int(d) for d in variable.shape) for name, variable in table.items()}


def assign(table, arrays):
    """Assign ``{name: array}`` through a name table (every name of the table is required)."""
    missing = sorted(set(table) - set(arrays))
    if missing:
        raise ValueError(f"no array for {len(missing)} variables, e.g. {missing[:3]}")
    for name, variable in table.items():
        variable.assign(np.asarray(arrays[name], np.float32))
