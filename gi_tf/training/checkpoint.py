"""Training checkpoints: everything needed to resume a run exactly.

The root object follows the gi_tf convention (:mod:`gi_tf.models.checkpoints`): the generator
under ``generator``, so :func:`gi_tf.models.checkpoints.load_generator` and
``Inpainter.from_checkpoint(model_dir)`` read a training directory directly. Beside it:
``local_critic``, ``global_critic``, ``optimizers`` (``generator`` and ``critics``: Adam
moments and iteration counts), ``step`` (the generator-update counter, which also fixes
every later random draw), ``eval_seed`` (the ``test_step`` mask generator) and, when the
run has a single worker, ``input`` (the ``tf.data`` iterator position).

The optimizers sit one level down on purpose: a variable is stored under its shortest
path from the root, so the weights keep the names of a generator-only checkpoint
(``generator/conv1/kernel/...``) instead of the optimizers' ``_trainable_variables/<i>``.

Writes go through ``tf.train.CheckpointManager``: TensorFlow writes the data and index
files under temporary names and renames them, and the ``checkpoint`` state file is
replaced atomically afterwards, so ``latest_checkpoint`` never names half-written files.
The manager keeps the newest ``keep`` checkpoints.
"""

import tensorflow as tf

from gi_tf.models.checkpoints import GENERATOR_KEY
from gi_tf.utils import files

CHECKPOINT_NAME = "ckpt"
INPUT_KEY = "input"


def checkpoint_parts(gan, input_iterator=None):
    """``{name: trackable}`` of an :class:`~gi_tf.training.gan.InpaintingGAN` run (module doc).

    Args:
        gan: an :class:`~gi_tf.training.gan.InpaintingGAN`.
        input_iterator: optional ``tf.data`` iterator to save with the run (a plain
            iterator, not a distributed one).
    """
    parts = {
        GENERATOR_KEY: gan.generator,
        "local_critic": gan.local_critic,
        "global_critic": gan.global_critic,
        "optimizers": tf.train.Checkpoint(generator=gan.g_optimizer, critics=gan.d_optimizer),
        "step": gan.step_counter,
        "eval_seed": gan.eval_seed_generator.state,
    }
    if input_iterator is not None:
        parts[INPUT_KEY] = input_iterator
    return parts


def training_checkpoint(gan, input_iterator=None):
    """The ``tf.train.Checkpoint`` of a run; arguments as :func:`checkpoint_parts`."""
    return tf.train.Checkpoint(**checkpoint_parts(gan, input_iterator))


def has_input_state(prefix):
    """Whether the checkpoint at ``prefix`` stores an input iterator position."""
    # A prefix, never a directory: the reader itself (load_checkpoint's directory test
    # is a string-prefix match on TF's ram:// filesystem).
    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    return any(name.startswith(f"{INPUT_KEY}/") for name in reader.get_variable_to_shape_map())


class Checkpointer:
    """Save and restore one run's checkpoints (chief) or throw-away copies (other workers).

    Args:
        parts: ``{name: trackable}`` from :func:`checkpoint_parts`.
        model_dir: str, the run directory (where the chief's checkpoints live).
        write_dir: str, where this worker writes (``model_dir`` on the chief; see
            :func:`gi_tf.training.distribute.write_directory`).
        keep: int, checkpoints to keep.
    """

    def __init__(self, parts, model_dir, write_dir, keep):
        self.parts = dict(parts)
        self.checkpoint = tf.train.Checkpoint(**self.parts)
        self.model_dir = model_dir
        self.write_dir = write_dir
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, write_dir, max_to_keep=keep, checkpoint_name=CHECKPOINT_NAME)

    @property
    def is_scratch(self):
        return files.abspath(self.write_dir) != files.abspath(self.model_dir)

    def latest(self):
        """Prefix of the newest checkpoint in ``model_dir``, or None."""
        return tf.train.latest_checkpoint(self.model_dir)

    def restore_latest(self, log=print):
        """Restore the newest checkpoint of ``model_dir`` if there is one.

        A checkpoint without an input position (written by a multi-worker run) restores
        everything else; the input pipeline then starts from its beginning (noted in
        ``log``).

        Returns:
            The restored prefix, or None for a fresh run.

        Raises:
            ValueError: the checkpoint does not match the model (different image size,
                model options or input pipeline); the message names the checkpoint.
        """
        prefix = self.latest()
        if prefix is None:
            return None
        checkpoint = self.checkpoint
        if INPUT_KEY in self.parts and not has_input_state(prefix):
            log(f"{prefix} holds no input position (a multi-worker run?); the input "
                "pipeline restarts from its beginning")
            checkpoint = tf.train.Checkpoint(
                **{k: v for k, v in self.parts.items() if k != INPUT_KEY})
        try:
            status = checkpoint.restore(prefix)
            status.assert_existing_objects_matched().expect_partial()
            if checkpoint is not self.checkpoint:
                self.checkpoint.save_counter.assign(checkpoint.save_counter)
        except (AssertionError, ValueError, tf.errors.OpError) as err:
            raise ValueError(
                f"Cannot resume from {prefix!r}: it does not match this run's model, "
                "optimizer or input pipeline (same --image_size, --use_attention, "
                "--critic_steps and --data are needed to resume; use a new --model_dir "
                f"otherwise): {err}") from err
        return prefix

    def save(self, step):
        """Write a checkpoint for ``step``; returns its prefix (on the chief)."""
        prefix = self.manager.save(checkpoint_number=int(step))
        if self.is_scratch:
            files.rmtree(self.write_dir, ignore_errors=True)
        return prefix
