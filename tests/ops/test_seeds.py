"""Tests for gi_tf/ops/seeds.py."""

import keras
import numpy as np
import tensorflow as tf

from gi_tf.ops import seeds


def test_as_seed_accepts_ints_tensors_and_seed_generators():
    assert seeds.as_seed(7).numpy().tolist() == [7, 0]
    assert seeds.as_seed(np.int32(7)).numpy().tolist() == [7, 0]
    assert seeds.as_seed(tf.constant([3, 4], tf.int32)).dtype == tf.int64
    generator = keras.random.SeedGenerator(1)
    first, second = seeds.as_seed(generator), seeds.as_seed(generator)
    assert first.shape == (2,) and not np.array_equal(first, second)


def test_split_seed_gives_distinct_reproducible_seeds():
    parts = [s.numpy().tolist() for s in seeds.split_seed(5, 4)]
    assert len({tuple(p) for p in parts}) == 4
    assert parts == [s.numpy().tolist() for s in seeds.split_seed(5, 4)]
