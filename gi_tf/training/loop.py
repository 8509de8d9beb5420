"""The training loop: ``InpaintingGAN.train_step`` under ``strategy.run``, several steps per call.

:class:`TrainLoop` is the one place that runs
:meth:`gi_tf.training.gan.InpaintingGAN.train_step`; ``gi-train`` (:func:`train`), ``gi-demo``
and ``gi-bench --sections=training`` all go through it (a runnable example;
tests/training/test_loop.py runs it as written)::

    from gi_tf.data.pipeline import DataConfig, make_dataset
    from gi_tf.models.config import ModelConfig
    from gi_tf.training.config import TrainConfig, scaled_mask_config
    from gi_tf.training.gan import build_inpainting_gan
    from gi_tf.training.loop import TrainLoop

    config = TrainConfig(image_size=32, batch_size=2, critic_steps=1,
                         mask=scaled_mask_config(32))
    data = DataConfig(source="builtin:textures:16", image_size=32)
    dataset = make_dataset(data, config.images_per_step)  # step batches [4, 32, 32, 3]
    gan = build_inpainting_gan(config, ModelConfig())
    loop = TrainLoop(gan)                     # strategy=None: the default strategy
    iterator = iter(dataset)
    loop.run(iterator, 2)                     # 2 steps in one compiled call -> (2, True)
    logs = loop.read_losses()                 # {term: float}: means since the last read

Data flow of a step and exact resume: WORKSPACE.md, "Training"; loss means are read back
only at log and summary boundaries, and a call stops at the first non-finite step.
"""

import dataclasses
import time

import keras
import tensorflow as tf

from gi_tf.data import pipeline as data_lib
from gi_tf.training import distribute
from gi_tf.training import summaries
from gi_tf.training.checkpoint import Checkpointer
from gi_tf.training.checkpoint import checkpoint_parts
from gi_tf.training.config import read_train_config
from gi_tf.training.gan import build_inpainting_gan
from gi_tf.training.loss_checks import check_finite
from gi_tf.training.loss_checks import trained_terms
from gi_tf.utils import files

DATA_CONFIG_FILE = "data_config.json"
# Fields whose change between a run and its resumption is expected.
RESUMABLE_CHANGES = ("max_steps", "checkpoint_every", "summary_every", "log_every",
                     "keep_checkpoints", "summary_images", "steps_per_loop")


class TrainLoop:
    """Runs :meth:`InpaintingGAN.train_step` under a strategy, many steps per compiled call.

    The compiled function (``tf.function``, no autograph) takes the input iterator and a
    step count; its ``tf.while_loop`` body takes the next step batch, distributes it over
    the replicas and calls ``strategy.run(gan.train_step)``. Traced once, whatever the
    step count. With ``config.jit_compile`` the gradient computations inside the step are
    XLA-compiled (see :class:`~gi_tf.training.gan.InpaintingGAN`).

    Args:
        gan: an :class:`~gi_tf.training.gan.InpaintingGAN` built in ``strategy.scope()``.
        strategy: the strategy it was built under (None = the default strategy).
        run_eagerly: bool, skip ``tf.function`` (debugging; slow).
    """

    def __init__(self, gan, strategy=None, run_eagerly=False):
        self.gan = gan
        self.strategy = strategy or tf.distribute.get_strategy()
        compile_fn = (lambda f: f) if run_eagerly else (lambda f: tf.function(f, autograph=False))
        self._steps = compile_fn(self._run_steps)
        self._read = compile_fn(self._read_and_reset)

    def _one_step(self, iterator):
        batch = tf.cast(next(iterator), tf.float32)
        per_replica = distribute.distribute_step_batch(
            self.strategy, batch, self.gan.config.batches_per_step)
        self.strategy.run(self.gan.train_step, args=(per_replica,))
        # Means since the last read: non-finite from the first bad step on.
        means = self.gan.train_results()
        return tf.reduce_all([tf.math.is_finite(value) for value in means.values()])

    def _run_steps(self, iterator, num_steps):
        def body(done, finite):
            with tf.control_dependencies([done]):
                finite = self._one_step(iterator)
            return done + 1, finite

        done, finite = tf.while_loop(
            lambda done, finite: tf.logical_and(done < num_steps, finite), body,
            (tf.constant(0, tf.int64), tf.constant(True)), parallel_iterations=1)
        return done, finite

    def _read_and_reset(self):
        results = self.gan.train_results()
        with tf.control_dependencies(list(results.values())):
            self.gan.reset_train_trackers()
        return results

    def run(self, iterator, num_steps):
        """Run up to ``num_steps`` training steps in one call.

        Args:
            iterator: a ``tf.data`` iterator of this worker's step batches (float32
                ``[images_per_step / num_workers, H, W, 3]`` RGB in [-1, 1]).
            num_steps: int >= 1.

        Returns:
            ``(steps_done, finite)``: int, and bool (False when the call stopped at a
            step whose loss means are not finite; that step was run and counted).
        """
        done, finite = self._steps(iterator, tf.constant(num_steps, tf.int64))
        return int(done), bool(finite)

    def read_losses(self):
        """``{term: float}``: loss means since the previous read (then resets them)."""
        return {term: float(value) for term, value in self._read().items()}


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
        logs: ``{term: float}``, the trained terms' means over the last logged steps
            (empty if no step ran).
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
    """Steps/s, images/s and ETA of a run, over two windows: the steps since the previous
    progress line (:meth:`line`) and since the previous summary (:meth:`summary_rates`)."""

    def __init__(self, step, max_steps, images_per_step):
        self.max_steps, self.images_per_step = max_steps, images_per_step
        self.restart(step)

    def _rates(self, step, since_step, since_time):
        elapsed = max(time.perf_counter() - since_time, 1e-9)
        steps_per_second = (step - since_step) / elapsed
        return steps_per_second, steps_per_second * self.images_per_step

    def rates(self, step):
        """``(steps_per_second, images_per_second)`` since the last progress line."""
        return self._rates(step, self._step, self._time)

    def summary_rates(self, step):
        """``(steps_per_second, images_per_second)`` since the last summary; the next
        summary window starts at ``step``."""
        rates = self._rates(step, self._summary_step, self._summary_time)
        self._summary_step, self._summary_time = step, time.perf_counter()
        return rates

    def restart(self, step):
        """Start both windows at ``step`` (e.g. after the first, compiling call)."""
        self._step, self._time = step, time.perf_counter()
        self._summary_step, self._summary_time = self._step, self._time

    def line(self, step, logs, skipped=0):
        """``step 20/100 | 1.5 steps/s | 36 images/s | ETA 53s | d_global=... ...``; the
        next line's window starts at ``step``."""
        terms = " ".join(f"{term}={value:.4g}" for term, value in logs.items())
        skipped_note = f" | skipped images {skipped}" if skipped else ""
        if step == self._step:  # only the first (tracing) step so far
            speed = "compiling (first step)"
        else:
            steps_per_second, images_per_second = self.rates(step)
            remaining = (self.max_steps - step) / steps_per_second
            speed = (f"{steps_per_second:.3g} steps/s | {images_per_second:.3g} images/s | "
                     f"ETA {format_duration(remaining)}")
        self._step, self._time = step, time.perf_counter()
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
    """Step-weighted means of loss reads between two summaries."""

    def __init__(self):
        self._sums, self._count = {}, 0

    def add(self, logs, steps=1):
        """Add ``logs`` (means over ``steps`` steps)."""
        for term, value in logs.items():
            self._sums[term] = self._sums.get(term, 0.0) + value * steps
        self._count += steps

    def means(self):
        means = {term: total / max(self._count, 1) for term, total in self._sums.items()}
        self._sums, self._count = {}, 0
        return means


def record_run(model_dir, train_config, model_config, data_config, log):
    """Write the resolved configs into ``model_dir``; warn about changes on resume."""
    files.makedirs(model_dir)
    previous = read_train_config(model_dir)
    if previous is not None:
        old, new = previous.resolved().to_dict(), train_config.resolved().to_dict()
        changed = sorted(k for k in new if old.get(k) != new[k] and k not in RESUMABLE_CHANGES)
        if changed:
            log(f"WARNING: resuming {model_dir} with changed settings {changed}; the run "
                "is no longer an exact continuation")
    train_config.write(model_dir)
    model_config.write(model_dir)
    if data_config is not None:
        files.write_json(files.join(model_dir, DATA_CONFIG_FILE),
                         dataclasses.asdict(data_config))


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
            ``train_config.image_size``), or None when ``dataset`` is given (then no
            ``data_config.json`` is recorded).
        model_dir: str, run directory: checkpoints, ``train/`` summaries, configs.
        strategy: a ``tf.distribute`` strategy (None = default).
        dataset: optional ``tf.data.Dataset`` of this worker's step batches, replacing
            the one built from ``data_config`` (tests, benchmarks).
        log: callable taking one str (progress lines, notices); only the chief logs.

    Returns:
        :class:`TrainResult`.

    Raises:
        gi_tf.training.loss_checks.NonFiniteLossError: a loss became NaN/Inf; the last checkpoint
            written before that step is kept untouched.
        ValueError: invalid configs, or a ``model_dir`` that cannot be resumed.
    """
    strategy = strategy or tf.distribute.get_strategy()
    info = distribute.worker_info(strategy)
    train_config = train_config.resolved().validate(num_replicas=info.num_replicas)
    if data_config is None and dataset is None:
        raise ValueError("train() needs a data_config or a dataset")
    if data_config is not None and data_config.image_size != train_config.image_size:
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
        dataset = dataset.with_options(_input_options())
        iterator = iter(dataset)
    checkpointer = Checkpointer(checkpoint_parts(gan, iterator), model_dir,
                                distribute.write_directory(model_dir, info),
                                train_config.keep_checkpoints)
    resumed_from = checkpointer.restore_latest(log)
    step = int(gan.step_counter.numpy())
    if not single_worker:
        if dataset is None:
            reseeded = dataclasses.replace(data_config,
                                           seed=resume_seed(data_config.seed, step))
            dataset = make_input_dataset(reseeded, train_config, info, skipped)
        iterator = iter(dataset)
    if resumed_from:
        log(f"Resuming from {resumed_from} at step {step}")
    if step >= train_config.max_steps:
        log(f"Nothing to do: step {step} >= max_steps {train_config.max_steps}")
        return TrainResult(step, {}, resumed_from, resumed_from, skipped.count, gan)
    panel_images = None
    if train_config.summary_images and info.is_chief:
        local_batch = train_config.batch_size // info.num_workers
        # A fixed set of training images (a separate iterator: the run's is untouched).
        panel_images = next(iter(dataset))[-local_batch:][:train_config.summary_images]
    loop = TrainLoop(gan, strategy, run_eagerly=train_config.run_eagerly)
    latest, logs, step = _loop(loop, iterator, checkpointer, train_config, info, model_dir,
                               step, log, skipped, resumed_from, panel_images)
    return TrainResult(step, logs, latest, resumed_from, skipped.count, gan)


def _next_boundary(step, config):
    """The first step after ``step`` at which the loop must stop to log, summarise or save."""
    return min([config.max_steps] + [(step // every + 1) * every for every in (
        config.log_every, config.summary_every, config.checkpoint_every)])


def _loop(loop, iterator, checkpointer, config, info, model_dir, step, log, skipped, latest,
          panel_images):
    """Run steps until ``max_steps``; returns ``(latest checkpoint, last logs, step)``."""
    writer = summaries.make_writer(model_dir, info.is_chief)
    progress = Progress(step, config.max_steps, config.images_per_step)
    window = LossWindow()
    shown = trained_terms(config)
    logs, last_read, first_call = {}, step, True
    try:
        while step < config.max_steps:
            done, finite = loop.run(iterator, min(config.steps_per_loop,
                                                  _next_boundary(step, config) - step))
            step += done
            if first_call:  # exclude tracing and compilation from the rates
                progress.restart(step)
                first_call = False
            at_log = step % config.log_every == 0
            at_summary = step % config.summary_every == 0
            last = step == config.max_steps
            if not finite or at_log or at_summary or last:
                logs = loop.read_losses()  # the only host read of the losses
                check_finite(logs, step)
                window.add(logs, step - last_read)
                last_read = step
            if at_log or last:
                log(progress.line(step, {t: logs[t] for t in shown if t in logs},
                                  skipped.count))
            if at_summary or last:
                _write_summaries(writer, loop.gan, panel_images, window.means(),
                                 progress.summary_rates(step), step)
            if step % config.checkpoint_every == 0 or last:
                prefix = checkpointer.save(step)  # every worker takes part
                latest = prefix if info.is_chief else latest
    finally:
        writer.close()
    return latest, {t: logs[t] for t in shown if t in logs}, step


def _write_summaries(writer, gan, panel_images, mean_logs, rates, step):
    steps_per_second, images_per_second = rates
    writer.scalars(summaries.loss_scalars(mean_logs, steps_per_second, images_per_second),
                   step)
    if panel_images is not None:
        writer.panels(summaries.inpainting_panels(gan, panel_images, step), step)
    writer.flush()
