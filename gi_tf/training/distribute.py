"""The one place where a strategy name becomes a ``tf.distribute`` strategy.

Library code never creates a strategy on its own: the CLI calls :func:`make_strategy`
and passes the result down; tests build strategies directly. This module also answers
the questions the training loop asks of a strategy (which worker am I, where may I
write, which slice of the batch goes to which replica).

Strategy names:

* ``"default"``: no distribution (TensorFlow places ops on the first GPU if any).
* ``"mirrored"``: ``MirroredStrategy`` over the local GPUs (or the given devices).
* ``"multi_worker"``: ``MultiWorkerMirroredStrategy``; the cluster comes from the
  ``TF_CONFIG`` environment variable (``{"cluster": {"worker": [...]}, "task":
  {"type": "worker", "index": i}}``). Worker 0 is the chief: it writes checkpoints,
  summaries and configs; the others write throw-away copies.
"""

import dataclasses
import json
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name, devices=None):
    """Build the strategy called ``name``.

    Args:
        name: one of :data:`STRATEGIES`.
        devices: optional list of device strings for ``"mirrored"`` (e.g.
            ``["/gpu:0", "/gpu:1"]`` or two logical CPUs); None = all local GPUs.

    Returns:
        A ``tf.distribute.Strategy``.

    Raises:
        ValueError: for an unknown name, devices given for another strategy, or
            ``multi_worker`` without a usable ``TF_CONFIG``.
    """
    if name not in STRATEGIES:
        raise ValueError(f"strategy={name!r}: must be one of {STRATEGIES}")
    if devices and name != "mirrored":
        raise ValueError(f"devices={devices!r} only apply to strategy='mirrored', not {name!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(devices) if devices else None)
    _check_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()


def _check_tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "strategy='multi_worker' needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}')
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        index = config["task"]["index"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"TF_CONFIG is not a valid cluster spec ({err!r}): {raw}") from err
    if not 0 <= int(index) < len(workers):
        raise ValueError(f"TF_CONFIG task index {index} is outside the {len(workers)} workers")


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """Where this process sits in a (possibly multi-worker) strategy.

    Attributes:
        num_workers: int, worker processes in the cluster (1 without multi-worker).
        worker_index: int, this worker's index (0 = chief).
        replicas_per_worker: int, replicas (devices) on each worker.
    """

    num_workers: int = 1
    worker_index: int = 0
    replicas_per_worker: int = 1

    @property
    def is_chief(self):
        return self.worker_index == 0

    @property
    def num_replicas(self):
        return self.num_workers * self.replicas_per_worker


def worker_info(strategy):
    """:class:`WorkerInfo` of ``strategy`` for this process."""
    replicas = strategy.num_replicas_in_sync
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return WorkerInfo(1, 0, replicas)
    num_workers = len(resolver.cluster_spec().as_dict().get("worker", [])) or 1
    index = resolver.task_id or 0
    if resolver.task_type not in (None, "worker", "chief"):
        raise ValueError(f"unsupported task type {resolver.task_type!r} in TF_CONFIG")
    return WorkerInfo(num_workers, int(index), replicas // num_workers)


def write_directory(model_dir, info):
    """Where this worker saves: ``model_dir`` on the chief, a private scratch dir elsewhere.

    Every worker must take part in saving (``MultiWorkerMirroredStrategy``), but only the
    chief's files are kept; the others write to ``model_dir/.worker-<i>`` and delete it.
    """
    if info.is_chief:
        return model_dir
    return os.path.join(model_dir, f".worker-{info.worker_index}")


def input_context(info):
    """``tf.distribute.InputContext`` that gives each *worker* its shard and batch.

    ``get_per_replica_batch_size(global)`` of the result is the per-worker batch, so it
    can be passed to :func:`gi_tf.data.pipeline.make_dataset` to build one pipeline per worker.
    """
    return tf.distribute.InputContext(num_input_pipelines=info.num_workers,
                                      input_pipeline_id=info.worker_index,
                                      num_replicas_in_sync=info.num_workers)


def replica_slices(batch, batches_per_step, replicas):
    """Split one worker's step batch into the batch of each of its replicas.

    The worker batch holds ``batches_per_step`` consecutive chunks of ``n`` images;
    replica ``l`` receives rows ``[l*n/R, (l+1)*n/R)`` of every chunk, concatenated in
    chunk order. So chunk ``j`` of the global batch is split across replicas exactly as
    one device would see it.

    Args:
        batch: ``[batches_per_step * n, H, W, C]`` tensor.
        batches_per_step: int.
        replicas: int R (n must divide evenly).

    Returns:
        list of R tensors ``[batches_per_step * n / R, H, W, C]``.

    Example:
        >>> x = tf.reshape(tf.range(8), [8, 1, 1, 1])
        >>> [t[:, 0, 0, 0].numpy().tolist() for t in replica_slices(x, 2, 2)]
        [[0, 1, 4, 5], [2, 3, 6, 7]]
    """
    if replicas == 1:
        return [batch]
    shape = tf.shape(batch)
    chunks = tf.reshape(batch, tf.concat([[batches_per_step, replicas, -1], shape[1:]], 0))
    per_replica = []
    for replica in range(replicas):
        part = chunks[:, replica]
        per_replica.append(tf.reshape(part, tf.concat([[-1], shape[1:]], 0)))
    return per_replica


def distribute_step_batch(strategy, batch, batches_per_step):
    """Hand each local replica its slice of a worker's step batch (see :func:`replica_slices`).

    Returns:
        A per-replica value for ``strategy.run`` (the tensor itself for one replica).
    """
    info = worker_info(strategy)
    if strategy.num_replicas_in_sync == 1:
        return batch
    slices = replica_slices(batch, batches_per_step, info.replicas_per_worker)

    def value(context):
        local = context.replica_id_in_sync_group - info.worker_index * info.replicas_per_worker
        return slices[local]

    return strategy.experimental_distribute_values_from_function(value)
