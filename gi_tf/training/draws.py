"""Random draws of one update (masks, local boxes, gradient-penalty weights), per replica.

Every draw comes from a stateless seed ``fold_in(seed, step, update, purpose)``: the
step counter is checkpointed, so a resumed run repeats the draws of an uninterrupted
one, in eager mode, in a ``tf.function`` and under any strategy. Each replica draws the
*global* batch and keeps its own slice, so R replicas see exactly the masks one device
would see for the same global batch.
"""

import tensorflow as tf

from gi_tf.data import masks as masks_lib

# Purposes folded into the per-update seed.
MASK_SEED, ALPHA_GLOBAL_SEED, ALPHA_LOCAL_SEED, PANEL_SEED = 0, 1, 2, 3


def replica_position():
    """``(replica_id, num_replicas)`` of the current replica (0, 1 outside a strategy)."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: a plain call outside strategy.run
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def update_seed(seed, step, update, purpose):
    """int64 ``[2]`` stateless seed for one draw: ``fold_in(seed, step, update, purpose)``."""
    value = tf.constant([seed, 0], tf.int64)
    for part in (step, update, purpose):
        value = tf.random.experimental.stateless_fold_in(value, tf.cast(part, tf.int64))
    return value


def draw(mask_config, image_size, seed, step, update, local_batch):
    """This replica's slice of the global batch's masks, boxes and GP weights.

    Args:
        mask_config: :class:`gi_tf.data.masks.MaskConfig`.
        image_size: int, H = W of the training images.
        seed: int, the run's seed.
        step: int scalar, the generator-update counter.
        update: int scalar, the update's index inside the step.
        local_batch: int scalar, this replica's batch b.

    Returns:
        ``(holes [b, H, W, 1], bboxes [b, 4], (alpha_global, alpha_local) [b, 1, 1, 1],
        known_fraction)``; ``known_fraction`` is the mean of ``1 - holes`` over the
        *global* batch.
    """
    replica_id, num_replicas = replica_position()
    global_batch = local_batch * num_replicas
    holes, bboxes = masks_lib.sample_masks(
        mask_config, global_batch, image_size, image_size,
        update_seed(seed, step, update, MASK_SEED))
    alphas = [
        tf.random.stateless_uniform(tf.reshape(global_batch, [1]),
                                    update_seed(seed, step, update, purpose))
        for purpose in (ALPHA_GLOBAL_SEED, ALPHA_LOCAL_SEED)
    ]
    known_fraction = tf.reduce_mean(1.0 - holes)
    start = replica_id * local_batch
    stop = start + local_batch
    alphas = tuple(tf.reshape(a[start:stop], [-1, 1, 1, 1]) for a in alphas)
    return holes[start:stop], bboxes[start:stop], alphas, known_fraction
