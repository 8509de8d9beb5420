"""Helpers for tests/test_distribute.py (not a test module).

``python tests/distribute_checks.py mirrored OUT.npz`` runs :func:`mirrored_and_single`
in a fresh process (two logical CPUs are configured before TensorFlow starts) and
writes the two weight sets; ``python tests/distribute_checks.py worker MODEL_DIR OUT.npz``
trains as one worker of the cluster in ``TF_CONFIG`` and writes its final weights.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

IMAGE_SIZE = 32


def tiny_config(**overrides):
    """32x32, global batch 2, one critic update per generator update."""
    from gi_tf.training.config import TrainConfig
    from gi_tf.training.config import scaled_mask_config

    values = dict(image_size=IMAGE_SIZE, batch_size=2, critic_steps=1,
                  mask=scaled_mask_config(IMAGE_SIZE))
    values.update(overrides)
    return TrainConfig(**values)


def all_weights(gan):
    """``{name: array}`` of generator, critic and optimizer variables (and the step)."""
    named = {}
    for prefix, variables in (("generator", gan.generator.weights),
                              ("local_critic", gan.local_critic.weights),
                              ("global_critic", gan.global_critic.weights),
                              ("g_optimizer", gan.g_optimizer.variables),
                              ("d_optimizer", gan.d_optimizer.variables)):
        for index, variable in enumerate(variables):
            named[f"{prefix}/{index}/{variable.path}"] = np.asarray(variable.numpy())
    named["step"] = np.asarray(gan.step_counter.numpy())
    return named


def split_cpu(count=2):
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def mirrored_and_single(run_eagerly=True, steps=1):
    """Weights after ``steps`` training steps on one device and on two logical CPUs.

    Both models start from the same weights and see the same global step batch.
    Returns ``(single, mirrored)`` dicts from :func:`all_weights`.
    """
    from gi_tf.models.config import ModelConfig
    from gi_tf.training.gan import build_inpainting_gan
    from gi_tf.training.loop import TrainLoop
    from gi_tf.training.loop import synthetic_step_batch

    config = tiny_config()
    keras.utils.set_random_seed(0)
    single = build_inpainting_gan(config, ModelConfig())
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = build_inpainting_gan(config, ModelConfig())
    for network in ("generator", "local_critic", "global_critic"):
        getattr(mirrored, network).set_weights(getattr(single, network).get_weights())
    batch = synthetic_step_batch(config, seed=3)
    for gan, on in ((single, None), (mirrored, strategy)):
        loop = TrainLoop(gan, on, run_eagerly=run_eagerly)
        assert loop.run(iter(tf.data.Dataset.from_tensors(batch).repeat()), steps) == (steps, True)
    return all_weights(single), all_weights(mirrored)


def run_worker(model_dir, out_path):
    """Train two steps as the worker named by ``TF_CONFIG``; save its final weights."""
    from gi_tf.data.pipeline import DataConfig
    from gi_tf.models.config import ModelConfig
    from gi_tf.training.loop import train

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    config = tiny_config(max_steps=2, checkpoint_every=2, summary_every=2, log_every=1,
                         summary_images=0)
    data = DataConfig(source="builtin:textures:8", image_size=IMAGE_SIZE, shuffle_buffer=8)
    result = train(config, ModelConfig(), data, model_dir, strategy=strategy,
                   log=lambda line: print(line, flush=True))
    np.savez(out_path, **all_weights(result.model))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "mirrored":
        split_cpu()
        single, mirrored = mirrored_and_single()
        np.savez(sys.argv[2], **{f"single:{k}": v for k, v in single.items()},
                 **{f"mirrored:{k}": v for k, v in mirrored.items()})
    elif mode == "worker":
        run_worker(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
