"""Training checkpoints: everything needed to resume a run exactly.

The root holds the generator under ``generator`` (the :mod:`gi_tf.models.checkpoints`
convention, so a training directory loads everywhere) and beside it ``local_critic``,
``global_critic``, ``optimizers`` (one level down, so the weights keep a generator-only
checkpoint's names), ``step``, ``eval_seed`` and, with a single worker, ``input``. Writes go
through ``tf.train.CheckpointManager``. Resume takes the latest complete checkpoint
(:func:`gi_tf.models.checkpoints.latest_checkpoint`) and removes a killed save's leftovers;
a failed save removes what it wrote and raises one :class:`gi_tf.utils.files.FileWriteError`.
"""

import re

import tensorflow as tf

from gi_tf.models.checkpoints import GENERATOR_KEY
from gi_tf.models.checkpoints import CheckpointMismatchError
from gi_tf.models.checkpoints import latest_checkpoint
from gi_tf.models.checkpoints import restore_checkpoint
from gi_tf.utils import files

CHECKPOINT_NAME = "ckpt"
INPUT_KEY = "input"
_PARTIAL_SAVE = re.compile(rf"^{CHECKPOINT_NAME}-\d+_temp$")  # TF's staging directory


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
        """Prefix of the newest complete checkpoint in ``model_dir``, or None."""
        if not files.isdir(self.model_dir):
            return None
        return latest_checkpoint(self.model_dir)

    def restore_latest(self, log=print):
        """Restore the newest complete checkpoint of ``model_dir`` if there is one.

        Newer checkpoints that are incomplete or fail to read are skipped (each named in
        ``log`` with what is wrong); on the chief, leftovers of killed saves are removed
        first. A checkpoint without an input position (written by a multi-worker run)
        restores everything else; the input pipeline then starts from its beginning
        (noted in ``log``).

        Returns:
            The restored prefix, or None for a fresh run.

        Raises:
            ValueError: the checkpoint does not match the model (different image size,
                model options or input pipeline); or
                (:class:`~gi_tf.models.checkpoints.DamagedCheckpointError`) there are
                checkpoints but none is usable. The message names the checkpoints.
        """
        if not files.isdir(self.model_dir):
            return None
        if not self.is_scratch:
            self.remove_partial_saves(log)
        return latest_checkpoint(self.model_dir, log=log,
                                 use=lambda prefix: self._restore(prefix, log))

    def _restore(self, prefix, log):
        checkpoint = self.checkpoint
        if INPUT_KEY in self.parts and not has_input_state(prefix):
            log(f"{prefix} holds no input position (a multi-worker run?); the input "
                "pipeline restarts from its beginning")
            checkpoint = tf.train.Checkpoint(
                **{k: v for k, v in self.parts.items() if k != INPUT_KEY})
        try:
            restore_checkpoint(checkpoint, prefix)  # DamagedCheckpointError: the next one
        except CheckpointMismatchError as err:
            raise ValueError(
                f"Cannot resume from {prefix!r}: it does not match this run's model, "
                "optimizer or input pipeline (same --image_size, --use_attention, "
                "--critic_steps and --data are needed to resume; use a new --model_dir "
                f"otherwise): {err}") from err
        if checkpoint is not self.checkpoint:
            self.checkpoint.save_counter.assign(checkpoint.save_counter)

    def remove_partial_saves(self, log=print):
        """Delete what killed writers left in ``model_dir``: ``ckpt-N_temp/`` directories
        of interrupted saves and the file layer's hidden temporary files."""
        for name in files.listdir(self.model_dir):
            path = files.join(self.model_dir, name)
            if _PARTIAL_SAVE.match(name) and files.isdir(path):
                files.rmtree(path, ignore_errors=True)
            elif files.is_temporary(name) and files.isfile(path):
                files.remove(path, missing_ok=True)
            else:
                continue
            log(f"removed {path}, left by an interrupted write")

    def save(self, step):
        """Write a checkpoint for ``step``; returns its prefix (on the chief).

        Raises:
            gi_tf.utils.files.FileWriteError: the write failed (no space left, permission
                denied, ...); what it wrote is removed, earlier checkpoints are intact.
        """
        try:
            prefix = self.manager.save(checkpoint_number=int(step))
        except tf.errors.OpError as err:
            prefix = files.join(self.write_dir, f"{CHECKPOINT_NAME}-{int(step)}")
            self._remove_save(prefix)
            raise files.write_error(err, prefix, "writing the checkpoint") from err
        if self.is_scratch:
            files.rmtree(self.write_dir, ignore_errors=True)
        return prefix

    @staticmethod
    def _remove_save(prefix):
        """Remove every file of checkpoint ``prefix`` (a failed save of this step); best
        effort: the save's own error is the one to report."""
        files.rmtree(prefix + "_temp", ignore_errors=True)
        try:
            for path in files.glob(prefix + ".data-*") + files.glob(prefix + ".index"):
                files.remove(path, missing_ok=True)
        except files.FileError:
            pass
