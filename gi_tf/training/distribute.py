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
import threading
import time

import tensorflow as tf

from gi_tf.training.config import STRATEGIES


def make_strategy(name, devices=None, log=None):
    """Build the strategy called ``name``.

    Args:
        name: one of :data:`STRATEGIES`.
        devices: optional list of device strings for ``"mirrored"`` (e.g.
            ``["/gpu:0", "/gpu:1"]``, or ``["/cpu:0", "/cpu:1"]``: see
            :func:`check_devices`); None = all local GPUs.
        log: optional callable taking one str, told which devices the strategy uses.

    Returns:
        A ``tf.distribute.Strategy``.

    Raises:
        ValueError: for an unknown name, devices given for another strategy, devices
            TensorFlow does not see (the message lists the ones it sees), or
            ``multi_worker`` without a usable ``TF_CONFIG``.
    """
    if name not in STRATEGIES:
        raise ValueError(f"strategy={name!r}: must be one of {STRATEGIES}")
    if devices and name != "mirrored":
        raise ValueError(f"devices={devices!r} only apply to strategy='mirrored', not {name!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if devices:
            devices = check_devices(devices, log=log)
        return tf.distribute.MirroredStrategy(devices=devices or None)
    _check_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()


def _device_name(spec):
    return f"/{spec.device_type.lower()}:{spec.device_index}"


def visible_devices():
    """The local devices TensorFlow sees, as ``/cpu:0``-style names (starts the runtime)."""
    return [_device_name(tf.DeviceSpec.from_string(d.name))
            for d in tf.config.list_logical_devices()]


def check_devices(devices, log=None):
    """Check ``--devices`` against what TensorFlow sees, before a strategy is built.

    ``MirroredStrategy`` accepts names of devices that do not exist and places their
    work on an existing one; its first all-reduce then waits forever for a replica that
    never comes (``/gpu:0,/gpu:1`` on a machine without GPUs hung at 0 % CPU). So every
    name must be a device TensorFlow sees, each at most once.

    CPUs are the exception: ``/cpu:0,/cpu:1`` on a machine whose TensorFlow sees one CPU
    splits that CPU into logical devices (``tf.config.set_logical_device_configuration``),
    provided TensorFlow has not started its runtime yet (gi-train has not); the replicas
    then share the same cores, which runs the multi-replica code path (e.g. to test it)
    but is no faster than one device. Once the runtime runs, it cannot be split and the
    request is refused like any other missing device.

    Args:
        devices: device strings (``/gpu:0``, ``GPU:1``, ``/device:CPU:0``, ...).
        log: optional callable taking one str: the devices used, and the CPU split.

    Returns:
        list of canonical names (``/gpu:0``) in the given order.

    Raises:
        ValueError: a name that is not a local device, a repeated device, or a device
            TensorFlow does not see; the message lists the devices it sees.
    """
    specs = []
    for device in devices:
        try:
            spec = tf.DeviceSpec.from_string(device if device.startswith("/") else
                                             "/" + device)
        except (ValueError, TypeError) as err:
            raise ValueError(f"--devices: {device!r} is not a device name such as /gpu:0 "
                             f"({err})") from err
        if spec.device_type is None or spec.job or spec.task or spec.replica:
            raise ValueError(f"--devices: {device!r} is not a local device such as /gpu:0 "
                             "or /cpu:0 (devices of other machines come from TF_CONFIG "
                             "with --strategy=multi_worker)")
        specs.append(spec.replace(device_type=spec.device_type.upper(),
                                  device_index=spec.device_index or 0))
    names = [_device_name(spec) for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"--devices: {', '.join(repeated)} given more than once")
    cpus_needed = 1 + max((spec.device_index for spec in specs if spec.device_type == "CPU"),
                          default=0)
    split = cpus_needed > 1 and _split_cpu(cpus_needed)
    visible = visible_devices()
    missing = [name for name in names if name not in visible]
    if missing:
        hint = (" (CPUs beyond /cpu:0 are logical devices that gi-train creates before "
                "TensorFlow starts; here it had started already)"
                if any(name.startswith("/cpu:") for name in missing) else "")
        raise ValueError(
            f"--devices: TensorFlow does not see {', '.join(missing)}; it sees "
            f"{', '.join(visible) or 'no device'}{hint}")
    if log is not None:
        note = (f"; the CPU is split into {cpus_needed} logical devices that share its "
                "cores (no faster than one device)" if split else "")
        log(f"mirrored strategy on {', '.join(names)} (TensorFlow sees "
            f"{', '.join(visible)}){note}")
    return names


def _split_cpu(count):
    """Split the first physical CPU into ``count`` logical devices; False if too late."""
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current is not None and len(current) >= count:
        return True
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError:  # the runtime is initialised: its devices are fixed
        return False
    return True


class StallWatch:
    """Says so when a run with several replicas makes no progress for ``after_s`` seconds.

    Every step of a multi-replica run ends in collectives (all-reduces) that wait for all
    replicas and, with ``multi_worker``, for every worker of ``TF_CONFIG``; a missing one
    makes them wait without a word. A daemon thread logs one line each ``after_s``
    seconds without a call to :meth:`progress`. Use as a context manager.

    Args:
        log: callable taking one str.
        after_s: seconds without progress before a line is logged (then again as long
            as the stall lasts).
        what: str, names the replicas the collectives wait for (in the line).
    """

    def __init__(self, log, after_s=600.0, what="every replica"):
        self._log = log
        self._after_s = float(after_s)
        self._what = what
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="gi-stall-watch",
                                        daemon=True)

    def progress(self):
        """Record that the run made progress (e.g. a log line of the training loop)."""
        self._last = time.monotonic()

    def _watch(self):
        while not self._stop.wait(min(self._after_s, 5.0)):
            waited = time.monotonic() - self._last
            if waited >= self._after_s:
                self._log(f"no progress for {waited:.0f} s: each training step waits in "
                          f"collectives for {self._what}; if this lasts, one of them is "
                          "missing or stuck (check that every worker is running)")
                self._last = time.monotonic()

    def __enter__(self):
        self._last = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


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
