"""Generator checkpoints: one convention for training, import, export and inference.

A gi_tf checkpoint is a ``tf.train.Checkpoint`` whose root has the generator under the
attribute ``generator`` (training checkpoints add critics, optimizers, step and RNG
state beside it). ``model_config.json`` in the same directory says how to rebuild the
generator. A path may be a checkpoint prefix (``.../ckpt-12``) or a directory, in
which case its latest checkpoint is used; so ``gi-train``'s ``--model_dir`` and
``gi-import-tf1``'s ``--output`` work as they are.

**The latest complete checkpoint** (one rule for gi-train's resume, gi-export,
gi-inpaint, gi-app and ``Inpainter.from_checkpoint``): the candidates of a directory are
the prefixes its ``checkpoint`` state file lists plus every ``<name>-<number>.index`` on
disk (a run killed after writing a checkpoint but before updating the state file leaves
one), newest (highest number) first; the first one in which :func:`checkpoint_problem`
finds nothing wrong is used. So a state file naming a prefix whose files are missing, a
truncated or unreadable ``.index``, or a missing or truncated ``.data`` shard is skipped,
never taken, and never silently read as "no checkpoint at all" (which would restart a
run from step 0). What only a full read finds (a flipped bit inside a shard) becomes one
``DamagedCheckpointError`` naming the checkpoint when it is restored.
"""

import os
import re
import warnings

import numpy as np
import tensorflow as tf

from gi_tf.models.config import MODEL_CONFIG_FILE
from gi_tf.models.config import ModelConfig
from gi_tf.models.generator import build_generator
from gi_tf.utils import files

GENERATOR_KEY = "generator"
STATE_FILE = "checkpoint"
_NUMBERED_INDEX = re.compile(r"^(?P<name>.+)-(?P<number>\d+)\.index$")
_DATA_SHARD = re.compile(r"\.data-(?P<shard>\d+)-of-(?P<count>\d+)$")
# What reading damaged checkpoint files raises: OpError (DataLoss "checksum does not
# match", NotFound shard, ...), IndexError ("Read less bytes than requested": a truncated
# shard), RuntimeError (some readers).
READ_ERRORS = (tf.errors.OpError, IndexError, RuntimeError)
_OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"  # the reader lists it beside the variables


class DamagedCheckpointError(ValueError):
    """Checkpoint files that cannot be used as they are; the message names them and why."""


def _number(prefix):
    match = _NUMBERED_INDEX.match(files.basename(prefix) + ".index")
    return int(match.group("number")) if match else -1


def _state_prefixes(directory):
    """Prefixes the ``checkpoint`` state file lists (newest last); [] if none or unreadable."""
    if not files.isfile(files.join(directory, STATE_FILE)):
        return []
    try:
        state = tf.train.get_checkpoint_state(directory)
    except (ValueError, tf.errors.OpError):  # a state file that does not parse
        return []
    if state is None:
        return []
    named = list(state.all_model_checkpoint_paths) + [state.model_checkpoint_path]
    # Possibly absolute paths of another machine: the files are looked for beside it.
    return [files.join(directory, files.basename(p)) for p in named if p]


def checkpoint_candidates(directory):
    """Checkpoint prefixes in ``directory``, newest first (module doc), complete or not."""
    on_disk = [files.join(directory, match.group(0)[: -len(".index")])
               for match in map(_NUMBERED_INDEX.match, files.listdir(directory)) if match]
    named = _state_prefixes(directory)
    order = {prefix: i for i, prefix in enumerate(named)}  # unnumbered ones: state order
    return sorted(set(named) | set(on_disk),
                  key=lambda p: (_number(p), order.get(p, -1)), reverse=True)


def _short(err):
    text = (getattr(err, "message", None) or str(err)).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


def checkpoint_problem(prefix):
    """None when ``prefix``'s files look complete, else a sentence saying what is wrong.

    Cheap (no tensor is read): the ``.index`` file exists and parses, every
    ``.data-K-of-N`` shard exists, and together the shards hold at least the bytes of
    the fixed-size tensors the index lists (a truncated shard is shorter).
    """
    index = prefix + ".index"
    if not files.isfile(index):
        return f"its index file {index} is missing"
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        dtypes = reader.get_variable_to_dtype_map()
        shapes = reader.get_variable_to_shape_map()
    except READ_ERRORS as err:
        return f"its index file {index} cannot be read ({_short(err)})"
    directory, name = files.dirname(prefix), files.basename(prefix)
    shards = {}
    for entry in files.listdir(directory or "."):
        match = _DATA_SHARD.search(entry)
        if match and entry[: match.start()] == name:
            shards[int(match.group("shard"))] = (entry, int(match.group("count")))
    count = max((c for _, c in shards.values()), default=1)
    missing = [k for k in range(count) if k not in shards]
    if missing:
        return f"its data file {prefix}.data-{missing[0]:05d}-of-{count:05d} is missing"
    size = sum(tf.io.gfile.stat(files.join(directory, entry)).length
               for entry, _ in shards.values())
    needed = sum(int(np.prod(shapes[n], dtype=np.int64)) * dtypes[n].size for n in dtypes)
    if size < needed:
        return (f"its data is truncated ({size} bytes in {prefix}.data-*, the index lists "
                f"{needed}: a write that did not finish, or a partial copy)")
    return None


def latest_checkpoint(directory, log=None, use=None):
    """The newest complete checkpoint prefix in ``directory`` (module doc), or None.

    Args:
        directory: a checkpoint directory.
        log: optional callable taking one str, told about each newer checkpoint that was
            skipped and why.
        use: optional callable ``use(prefix)`` run on each complete candidate, newest
            first, until one does not raise :class:`DamagedCheckpointError` (e.g. a
            restore, which reads every byte): damage only a read finds moves on to the
            next older checkpoint too.

    Raises:
        DamagedCheckpointError: there are checkpoints, but none is complete (the message
            lists each one and what is wrong with it).
    """
    problems = []
    for prefix in checkpoint_candidates(directory):
        problem = checkpoint_problem(prefix)
        if problem is None and use is not None:
            try:
                use(prefix)
            except DamagedCheckpointError as err:
                problem = str(err)
        if problem is None:
            for line in problems if log is not None else ():
                log(f"skipping checkpoint {line}; using {prefix}")
            return prefix
        problems.append(f"{prefix}: {problem}")
    if problems:
        raise DamagedCheckpointError(
            f"No complete checkpoint in {directory}: " + "; ".join(problems) + ". Move "
            "the damaged files away (or give a complete prefix) and try again.")
    return None


class CheckpointMismatchError(ValueError):
    """A checkpoint that reads fine but does not fit the objects restored from it."""


def restore_checkpoint(checkpoint, prefix):
    """``checkpoint.restore(prefix)``, every existing object matched, errors sorted out.

    Args:
        checkpoint: a ``tf.train.Checkpoint`` whose objects are all built (so the values
            are read now, not deferred).
        prefix: a checkpoint prefix.

    Raises:
        DamagedCheckpointError: reading the files failed (truncated or corrupt shard,
            missing file); the message names ``prefix`` and the cause.
        CheckpointMismatchError: an object of ``checkpoint`` has no value there, or a
            value of another shape (the first line of TensorFlow's explanation).
    """
    try:
        checkpoint.restore(prefix).expect_partial().assert_existing_objects_matched()
    except READ_ERRORS as err:
        raise DamagedCheckpointError(
            f"Checkpoint {prefix!r} is damaged: reading it failed ({_short(err)}). Copy it "
            "again, or use an older checkpoint of its directory") from err
    except (AssertionError, ValueError) as err:
        _expect_partial(err)
        raise CheckpointMismatchError(_short(err)) from err


def _expect_partial(err):
    """Mark the restore that ``err`` interrupted as partial on purpose.

    A restore that raises (a shape mismatch) never reaches ``expect_partial``: when its
    restore coordinator is collected (at exit, after the clear message), TensorFlow
    warns "... being deleted with unrestored values" and lists every value. The
    coordinator is a local of the failed call, found in the traceback.
    """
    traceback = err.__traceback__
    while traceback is not None:
        for value in list(traceback.tb_frame.f_locals.values()):
            if type(value).__name__ == "_CheckpointRestoreCoordinator":
                value.expect_partial = True
        traceback = traceback.tb_next


def resolve_checkpoint(path):
    """Checkpoint prefix for ``path`` (a prefix, or a directory holding checkpoints).

    A directory gives its latest complete checkpoint (module doc; newer damaged ones are
    skipped with a warning naming them).

    Raises:
        FileNotFoundError: naming ``path`` when no checkpoint is there.
        DamagedCheckpointError: (a ``ValueError``) the checkpoint files there are all
            incomplete, or ``path`` is a prefix whose files are (the message says which
            file and what is wrong).
    """
    path = os.fspath(path)
    if files.isdir(path):
        prefix = latest_checkpoint(path, log=warnings.warn)
        if prefix is None:
            raise FileNotFoundError(
                f"No checkpoint found in directory {path!r} (expected a 'checkpoint' index "
                "file written by gi-train or gi-import-tf1)"
            )
        return prefix
    if files.exists(path + ".index") or files.glob(path + ".data-*"):
        problem = checkpoint_problem(path)
        if problem is not None:
            raise DamagedCheckpointError(f"Checkpoint {path!r} cannot be used: {problem}")
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
        ValueError: the checkpoint holds no generator, or one that does not fit
            ``model_config``; or (:class:`DamagedCheckpointError`) its files are damaged.
            The message names the checkpoint.
    """
    prefix = resolve_checkpoint(path)
    if model_config is None:
        model_config = ModelConfig.read(checkpoint_directory(prefix))
    generator = build_generator(
        use_attention=model_config.use_attention,
        attention_implementation=model_config.attention_implementation,
        attention_chunk_elements=attention_chunk_elements,
    )
    try:
        restore_checkpoint(tf.train.Checkpoint(**{GENERATOR_KEY: generator}), prefix)
    except CheckpointMismatchError as err:
        stored = tf.compat.v1.train.NewCheckpointReader(prefix).get_variable_to_shape_map()
        roots = sorted({name.split("/")[0] for name in stored} - {_OBJECT_GRAPH})
        if GENERATOR_KEY not in roots:
            raise ValueError(
                f"Checkpoint {prefix!r} does not hold a gi_tf generator (no "
                f"'{GENERATOR_KEY}/...' variables; it holds {roots}): give a checkpoint "
                "written by gi-train, gi-import-tf1 or gi-demo") from err
        raise ValueError(
            f"The generator in checkpoint {prefix!r} does not fit {model_config} (read "
            f"from {MODEL_CONFIG_FILE} beside it, or defaults): {err}. Was it written with "
            "other model options?") from err
    return generator, model_config, prefix


def save_generator(generator, directory, model_config, name="ckpt"):
    """Write a generator-only checkpoint plus ``model_config.json``; returns the prefix.

    TensorFlow stages the data in a ``<prefix>_temp/`` directory and updates the
    ``checkpoint`` state file last; whatever a crash leaves is skipped by the latest
    complete checkpoint rule (module doc).
    """
    files.makedirs(directory)
    checkpoint = tf.train.Checkpoint(**{GENERATOR_KEY: generator})
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=None,
                                         checkpoint_name=name)
    prefix = manager.save()
    model_config.write(directory)
    return prefix
