"""Names and channel layout of the authors' released TF1 DeepFill v1 checkpoints.

The generator's variables are ``inpaint_net/<scope>/kernel`` (HWIO) and ``.../bias``, one
scope per ``gen_conv``; the name table is built from
:meth:`gi_tf.models.InpaintGenerator.conv_layers`, whose layers carry the same scopes (42
convolutions, 84 variables). Critic, optimizer-slot and bookkeeping names are classified
too. The released weights take BGR; :func:`swap_bgr_rgb` (its own inverse) reverses the
image input channels of ``conv1``, ``xconv1``, ``pmconv1`` and the outputs of ``conv17``,
``allconv17``.

Example:
    >>> import numpy as np
    >>> kernel = np.arange(5.0).reshape(1, 1, 5, 1)   # in channels B G R ones mask
    >>> swap_bgr_rgb({"inpaint_net/conv1/kernel": kernel})["inpaint_net/conv1/kernel"].ravel()
    array([2., 1., 0., 3., 4.])
"""

import numpy as np

GENERATOR_SCOPE = "inpaint_net"
CRITIC_SCOPE = "discriminator"
IMAGE_INPUT_CONVS = ("conv1", "xconv1", "pmconv1")
IMAGE_OUTPUT_CONVS = ("conv17", "allconv17")
IMAGE_CHANNELS = 3
VARIABLE_PARTS = ("kernel", "bias")


def variable_name(scope, part):
    """``("conv1", "kernel")`` -> ``"inpaint_net/conv1/kernel"``."""
    return f"{GENERATOR_SCOPE}/{scope}/{part}"


def tf1_name_table(generator):
    """``{TF1 variable name: Keras variable}`` for every weight of ``generator``.

    E.g. ``"inpaint_net/conv13_upsample/conv13_upsample_conv/kernel"`` -> that
    ``Conv2D``'s kernel. ``generator`` must be built.
    """
    table = {}
    for scope, conv in generator.conv_layers().items():
        table[variable_name(scope, "kernel")] = conv.kernel
        table[variable_name(scope, "bias")] = conv.bias
    return table


def is_slot_of(name, names):
    """True for an optimizer slot ``<var>/<slot>`` (``.../kernel/Adam_1``) of a var in ``names``."""
    parent = name
    while "/" in parent:
        parent = parent.rsplit("/", 1)[0]
        if parent in names:
            return True
    return False


def split_names(names):
    """Sort checkpoint variable names into ``(generator, critic, other)`` sorted tuples.

    ``generator``: under ``inpaint_net/`` and not an optimizer slot of another variable
    (these must all match the model). ``critic``: under ``discriminator/``, slots
    included. ``other``: optimizer slots of generator variables, counters, the rest.
    """
    names = set(names)
    generator, critic, other = [], [], []
    for name in sorted(names):
        if name.startswith(GENERATOR_SCOPE + "/") and not is_slot_of(name, names):
            generator.append(name)
        elif name.startswith(CRITIC_SCOPE + "/"):
            critic.append(name)
        else:
            other.append(name)
    return tuple(generator), tuple(critic), tuple(other)


def swap_bgr_rgb(arrays):
    """Convert ``{TF1 name: array}`` between the BGR and RGB conventions (self-inverse).

    Reverses the image input channels (0..2) of the ``conv1``/``xconv1``/``pmconv1``
    kernels and the output channels of ``conv17``/``allconv17`` (kernel and bias).
    Returns a new dict; the converted arrays are new, the others are shared.
    """
    converted = dict(arrays)
    for scope in IMAGE_INPUT_CONVS:
        name = variable_name(scope, "kernel")
        if name in converted:
            kernel = np.array(converted[name])
            kernel[:, :, :IMAGE_CHANNELS, :] = kernel[:, :, IMAGE_CHANNELS - 1::-1, :]
            converted[name] = kernel
    for scope in IMAGE_OUTPUT_CONVS:
        for part in VARIABLE_PARTS:
            name = variable_name(scope, part)
            if name in converted:
                converted[name] = np.array(converted[name])[..., ::-1]
    return converted
