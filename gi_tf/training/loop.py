"""The training loop: data -> compiled updates -> checks, progress, summaries, checkpoints.

:func:`train` is what ``gi-train`` runs; :class:`TrainStepRunner` is the part that runs
one training step (``critic_steps`` critic updates and one generator update) under a
strategy, and is the stable entry point for benchmarks::

    config = TrainConfig(image_size=128, batch_size=4, mask=scaled_mask_config(128))
    gan = build_inpainting_gan(config, ModelConfig())
    runner = TrainStepRunner(gan)            # strategy=None: the default strategy
    batch = synthetic_step_batch(config)     # [images_per_step, 128, 128, 3] in [-1, 1]
    runner(batch)                            # first call traces and compiles
    for _ in range(n):
        logs = runner(batch)                 # {term: float}, one training step

Data flow of :func:`train`: ``gi_tf.data.pipeline.make_dataset`` yields one *step batch* per
step (``images_per_step`` images: the ``critic_steps + 1`` update batches back to back,
divided among workers); :func:`gi_tf.training.distribute.distribute_step_batch` hands every
replica its slice; the runner calls the compiled critic update ``critic_steps`` times and
the compiled generator update once, which returns the step's loss means (all-reduced
over replicas). Every step is checked for NaN/Inf before anything is written.

Exact resume: the checkpoint holds weights, both optimizers, the step counter (which
seeds every mask and gradient-penalty draw) and, with one worker, the input iterator;
so a resumed single-worker run continues with exactly the batches and draws of an
uninterrupted one. With several workers each worker's iterator position cannot be
stored in the chief's checkpoint; the resumed pipelines are reseeded from the step
(weights, optimizers and draws still resume exactly, the data order does not).
"""

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from gi_tf.data import pipeline as data_lib
from gi_tf.training import distribute
from gi_tf.training import summaries
from gi_tf.training.checkpoint import Checkpointer
from gi_tf.training.checkpoint import checkpoint_parts
from gi_tf.training.config import read_train_config
from gi_tf.training.config import write_json
from gi_tf.training.gan import build_inpainting_gan
from gi_tf.training.loss_checks import check_finite

DATA_CONFIG_FILE = "data_config.json"
# Fields whose change between a run and its resumption is expected.
RESUMABLE_CHANGES = ("max_steps", "checkpoint_every", "summary_every", "log_every",
                     "keep_checkpoints", "summary_images")


class TrainStepRunner:
    """One training step of an :class:`~gi_tf.training.gan.InpaintingGAN` under a strategy.

    The critic update and the generator update are each compiled once (``tf.function``,
    no autograph), whatever ``critic_steps`` is; with ``config.jit_compile`` their
    gradient computations are XLA-compiled inside the model.

    Args:
        gan: an :class:`~gi_tf.training.gan.InpaintingGAN` built in ``strategy.scope()``.
        strategy: the strategy it was built under (None = the default strategy).
        run_eagerly: bool, skip ``tf.function`` (debugging; slow).

    Call arguments:
        batch: float32 ``[images_per_step / num_workers, H, W, 3]`` RGB in [-1, 1],
            this worker's step batch (see :func:`synthetic_step_batch`).

    Returns:
        ``{term: float}`` for every term of :data:`gi_tf.training.gan.TRAIN_TERMS`: the
        means over the step's updates and over all replicas.
    """

    def __init__(self, gan, strategy=None, run_eagerly=False):
        self.gan = gan
        self.strategy = strategy or tf.distribute.get_strategy()
        wrap = (lambda f: f) if run_eagerly else (lambda f: tf.function(f, autograph=False))
        self._critic_update = wrap(self._run_critic_update)
        self._generator_update = wrap(self._run_generator_update)

    def _chunk(self, batch, index):
        batches = self.gan.config.batches_per_step
        if batches == 1:
            return batch
        chunks = tf.reshape(batch, tf.concat([[batches, -1], tf.shape(batch)[1:]], 0))
        return tf.gather(chunks, index)

    def _run_critic_update(self, per_replica, update):
        self.strategy.run(lambda batch: self.gan.critic_step(self._chunk(batch, update), update),
                          args=(per_replica,))

    def _run_generator_update(self, per_replica):
        last = self.gan.config.batches_per_step - 1
        self.strategy.run(lambda batch: self.gan.generator_step(self._chunk(batch, last)),
                          args=(per_replica,))
        results = self.gan.train_results()
        with tf.control_dependencies(list(results.values())):
            self.gan.reset_train_trackers()
        return results

    def __call__(self, batch):
        per_replica = distribute.distribute_step_batch(
            self.strategy, batch, self.gan.config.batches_per_step)
        for update in range(self.gan.config.critic_steps):
            self._critic_update(per_replica, tf.constant(update, tf.int64))
        logs = self._generator_update(per_replica)
        return {term: float(value) for term, value in logs.items()}


def synthetic_step_batch(train_config, num_workers=1, seed=0):
    """A random step batch for benchmarks and tests: uniform float32 in [-1, 1].

    Returns:
        ``[images_per_step / num_workers, image_size, image_size, 3]``.
    """
    size = train_config.image_size
    shape = [train_config.images_per_step // num_workers, size, size, 3]
    return tf.random.stateless_uniform(shape, [seed, 0], -1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What :func:`train` did.

    Attributes:
        step: int, generator updates done in total (including earlier runs).
        logs: ``{term: float}`` of the last step (empty if no step ran).
        checkpoint: str or None, the newest checkpoint prefix.
        resumed_from: str or None, the checkpoint the run started from.
        skipped_images: int, unreadable images skipped by this worker's pipeline.
        model: the trained :class:`~gi_tf.training.gan.InpaintingGAN`.
    """

    step: int
    logs: dict
    checkpoint: str | None
    resumed_from: str | None
    skipped_images: int
    model: object = None


class Progress:
    """Steps/s, images/s and ETA over the steps since the previous progress line."""

    def __init__(self, step, max_steps, images_per_step):
        self.max_steps, self.images_per_step = max_steps, images_per_step
        self._step, self._time = step, time.perf_counter()

    def rates(self, step):
        """``(steps_per_second, images_per_second)`` since the last :meth:`restart`."""
        elapsed = max(time.perf_counter() - self._time, 1e-9)
        steps_per_second = (step - self._step) / elapsed
        return steps_per_second, steps_per_second * self.images_per_step

    def restart(self, step):
        self._step, self._time = step, time.perf_counter()

    def line(self, step, logs, skipped=0):
        """``step 20/100 | 1.5 steps/s | 36 images/s | ETA 53s | d_global=... ...``."""
        terms = " ".join(f"{term}={value:.4g}" for term, value in logs.items())
        skipped_note = f" | skipped images {skipped}" if skipped else ""
        if step == self._step:  # only the first (tracing) step so far
            speed = "compiling (first step)"
        else:
            steps_per_second, images_per_second = self.rates(step)
            remaining = (self.max_steps - step) / steps_per_second
            speed = (f"{steps_per_second:.3g} steps/s | {images_per_second:.3g} images/s | "
                     f"ETA {format_duration(remaining)}")
        return f"step {step}/{self.max_steps} | {speed} | {terms}{skipped_note}"



def format_duration(seconds):
    """``3725.2`` -> ``'1h02m05s'``; ``65`` -> ``'1m05s'``; ``4.2`` -> ``'4s'``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{seconds:02d}s"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class LossWindow:
    """Running means of the step logs between two summaries."""

    def __init__(self):
        self._sums, self._count = {}, 0

    def add(self, logs):
        for term, value in logs.items():
            self._sums[term] = self._sums.get(term, 0.0) + value
        self._count += 1

    def means(self):
        means = {term: total / max(self._count, 1) for term, total in self._sums.items()}
        self._sums, self._count = {}, 0
        return means


def record_run(model_dir, train_config, model_config, data_config, log):
    """Write the resolved configs into ``model_dir``; warn about changes on resume."""
    os.makedirs(model_dir, exist_ok=True)
    previous = read_train_config(model_dir)
    if previous is not None:
        old, new = previous.resolved().to_dict(), train_config.resolved().to_dict()
        changed = sorted(k for k in new if old.get(k) != new[k] and k not in RESUMABLE_CHANGES)
        if changed:
            log(f"WARNING: resuming {model_dir} with changed settings {changed}; the run "
                "is no longer an exact continuation")
    train_config.write(model_dir)
    model_config.write(model_dir)
    write_json(os.path.join(model_dir, DATA_CONFIG_FILE), dataclasses.asdict(data_config))


def _quiet(line):
    del line


def resume_seed(seed, step):
    """Data seed of a multi-worker run resumed at ``step`` (a fresh, reproducible order)."""
    return int((seed * 1_000_003 + step) % (2 ** 31 - 1)) if step else seed


def _input_options():
    options = tf.data.Options()
    # Decoding helpers run Python (numpy_function); their state need not be saved.
    options.experimental_external_state_policy = (
        tf.data.experimental.ExternalStatePolicy.IGNORE)
    return options


def make_input_dataset(data_config, train_config, info, skipped=None):
    """This worker's dataset of step batches (``images_per_step / num_workers`` images)."""
    context = distribute.input_context(info) if info.num_workers > 1 else None
    dataset = data_lib.make_dataset(data_config, train_config.images_per_step,
                                    input_context=context, repeat=True, skipped=skipped)
    return dataset.with_options(_input_options())


def train(train_config, model_config, data_config, model_dir, strategy=None, dataset=None,
          log=print):
    """Train (or resume) a DeepFill v1 model in ``model_dir``.

    Args:
        train_config: :class:`~gi_tf.training.config.TrainConfig`.
        model_config: :class:`~gi_tf.models.config.ModelConfig`.
        data_config: :class:`~gi_tf.data.pipeline.DataConfig` (its ``image_size`` must equal
            ``train_config.image_size``).
        model_dir: str, run directory: checkpoints, ``train/`` summaries, configs.
        strategy: a ``tf.distribute`` strategy (None = default).
        dataset: optional ``tf.data.Dataset`` of this worker's step batches, replacing
            the one built from ``data_config`` (tests, benchmarks).
        log: callable taking one str (progress lines, notices); only the chief logs.

    Returns:
        :class:`TrainResult`.

    Raises:
        gi_tf.training.gan.NonFiniteLossError: a loss became NaN/Inf; the last checkpoint
            written before that step is kept untouched.
        ValueError: invalid configs, or a ``model_dir`` that cannot be resumed.
    """
    strategy = strategy or tf.distribute.get_strategy()
    info = distribute.worker_info(strategy)
    train_config = train_config.resolved().validate(num_replicas=info.num_replicas)
    model_config.validate()
    data_config.validate()
    if data_config.image_size != train_config.image_size:
        raise ValueError(f"DataConfig.image_size={data_config.image_size} must equal "
                         f"TrainConfig.image_size={train_config.image_size}")
    if info.is_chief:
        record_run(model_dir, train_config, model_config, data_config, log)
    else:
        log = _quiet
    # Initial weights come from Keras' global generators: seed them so that a run is
    # reproducible (and every worker starts from the same weights).
    keras.utils.set_random_seed(train_config.seed)
    with strategy.scope():
        gan = build_inpainting_gan(train_config, model_config)
    skipped = data_lib.SkippedImages()
    single_worker = info.num_workers == 1
    iterator = None
    if single_worker:  # the iterator position goes into the checkpoint
        if dataset is None:
            dataset = make_input_dataset(data_config, train_config, info, skipped)
        iterator = iter(dataset.with_options(_input_options()))
    checkpointer = Checkpointer(checkpoint_parts(gan, iterator), model_dir,
                                distribute.write_directory(model_dir, info),
                                train_config.keep_checkpoints)
    resumed_from = checkpointer.restore_latest(log)
    step = int(gan.step_counter.numpy())
    if not single_worker:
        reseeded = dataclasses.replace(data_config, seed=resume_seed(data_config.seed, step))
        if dataset is None:
            dataset = make_input_dataset(reseeded, train_config, info, skipped)
        iterator = iter(dataset)
    if resumed_from:
        log(f"Resuming from {resumed_from} at step {step}")
    latest = resumed_from
    logs = {}
    if step >= train_config.max_steps:
        log(f"Nothing to do: step {step} >= max_steps {train_config.max_steps}")
        return TrainResult(step, logs, latest, resumed_from, skipped.count, gan)
    latest, logs, step = _loop(gan, strategy, iterator, checkpointer, train_config, info,
                               model_dir, step, log, skipped, latest)
    return TrainResult(step, logs, latest, resumed_from, skipped.count, gan)


def _loop(gan, strategy, iterator, checkpointer, config, info, model_dir, step, log, skipped,
          latest):
    """Run steps until ``max_steps``; returns ``(latest checkpoint, last logs, step)``."""
    runner = TrainStepRunner(gan, strategy, run_eagerly=config.run_eagerly)
    writer = summaries.make_writer(model_dir, info.is_chief)
    progress = Progress(step, config.max_steps, config.images_per_step)
    speed = Progress(step, config.max_steps, config.images_per_step)
    window = LossWindow()
    logs = {}
    first_step = True
    try:
        while step < config.max_steps:
            batch = next(iterator)
            logs = runner(batch)
            step += 1
            check_finite(logs, step)
            window.add(logs)
            if first_step:  # exclude tracing from the rates
                progress.restart(step)
                speed.restart(step)
                first_step = False
            last = step == config.max_steps
            if step % config.log_every == 0 or last:
                log(progress.line(step, logs, skipped.count))
                progress.restart(step)
            if step % config.summary_every == 0 or last:
                _write_summaries(writer, gan, batch, window.means(), speed, step,
                                 config, info)
                speed.restart(step)
            if step % config.checkpoint_every == 0 or last:
                prefix = checkpointer.save(step)  # every worker takes part
                latest = prefix if info.is_chief else latest
    finally:
        writer.close()
    return latest, logs, step


def _write_summaries(writer, gan, batch, mean_logs, speed, step, config, info):
    steps_per_second, images_per_second = speed.rates(step)
    writer.scalars(summaries.loss_scalars(mean_logs, steps_per_second, images_per_second),
                   step)
    if config.summary_images and info.is_chief:
        local_batch = config.batch_size // info.num_workers
        images = np.asarray(batch)[-local_batch:][:config.summary_images]
        writer.panels(summaries.inpainting_panels(gan, images, step), step)
    writer.flush()
