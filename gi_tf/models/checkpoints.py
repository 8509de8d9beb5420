"""Generator checkpoints: one convention for training, import, export and inference.

A gi_tf checkpoint is a ``tf.train.Checkpoint`` whose root has the generator under the
attribute ``generator`` (training checkpoints add critics, optimizers, step and RNG
state beside it). ``model_config.json`` in the same directory says how to rebuild the
generator. A path may be a checkpoint prefix (``.../ckpt-12``) or a directory, in
which case its latest checkpoint is used; so ``gi-train``'s ``--model_dir`` and
``gi-import-tf1``'s ``--output`` work as they are.
"""

import os

import tensorflow as tf

from gi_tf.models.config import ModelConfig
from gi_tf.models.generator import build_generator
from gi_tf.utils import files

GENERATOR_KEY = "generator"


def resolve_checkpoint(path):
    """Checkpoint prefix for ``path`` (a prefix, or a directory holding checkpoints).

    Raises:
        FileNotFoundError: naming ``path`` when nothing restorable is there.
    """
    path = os.fspath(path)
    if files.isdir(path):
        prefix = tf.train.latest_checkpoint(path)
        if prefix is None:
            raise FileNotFoundError(
                f"No checkpoint found in directory {path!r} (expected a 'checkpoint' index "
                "file written by gi-train or gi-import-tf1)"
            )
        return prefix
    if files.exists(path + ".index"):
        return path
    raise FileNotFoundError(
        f"Checkpoint {path!r} not found: give a directory with checkpoints or a prefix "
        "such as model_dir/ckpt-100 (with a .index file beside it)"
    )


def checkpoint_directory(prefix):
    """The directory holding checkpoint ``prefix`` (absolute when local)."""
    return files.dirname(files.abspath(prefix))


def load_generator(path, model_config=None, attention_chunk_elements=None):
    """Build a generator and restore its weights from a gi_tf checkpoint.

    Args:
        path: checkpoint prefix or directory (see :func:`resolve_checkpoint`).
        model_config: optional :class:`ModelConfig`; by default read from
            ``model_config.json`` beside the checkpoint (or defaults).
        attention_chunk_elements: optional bound on the attention's score memory
            (see :class:`gi_tf.models.InpaintGenerator`); does not change results.

    Returns:
        ``(generator, model_config, prefix)``.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: the checkpoint lacks generator weights or they do not fit.
    """
    prefix = resolve_checkpoint(path)
    if model_config is None:
        model_config = ModelConfig.read(checkpoint_directory(prefix))
    generator = build_generator(
        use_attention=model_config.use_attention,
        attention_implementation=model_config.attention_implementation,
        attention_chunk_elements=attention_chunk_elements,
    )
    status = tf.train.Checkpoint(**{GENERATOR_KEY: generator}).restore(prefix)
    try:
        status.expect_partial().assert_existing_objects_matched()
    except AssertionError as err:
        raise ValueError(
            f"Checkpoint {prefix!r} does not hold a complete gi_tf generator "
            f"(model_config={model_config}): {err}"
        ) from err
    return generator, model_config, prefix


def save_generator(generator, directory, model_config, name="ckpt"):
    """Write a generator-only checkpoint plus ``model_config.json``; returns the prefix.

    The checkpoint is written under a temporary name and its index renamed last, so a
    crash never leaves a ``checkpoint`` index pointing at half-written files.
    """
    files.makedirs(directory)
    checkpoint = tf.train.Checkpoint(**{GENERATOR_KEY: generator})
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=None,
                                         checkpoint_name=name)
    prefix = manager.save()
    model_config.write(directory)
    return prefix
