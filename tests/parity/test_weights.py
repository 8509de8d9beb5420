"""Seeded weights by TF1 name, and the critics' TF1 name table."""

import numpy as np

from gi_tf.models.critics import GlobalCritic
from gi_tf.models.critics import LocalCritic
from gi_tf.parity import weights

from references import tf1_reference as ref


def test_a_draw_depends_on_seed_name_and_shape_only():
    a = weights.draw_weight("inpaint_net/conv1/kernel", (5, 5, 5, 32), seed=0)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, weights.draw_weight("inpaint_net/conv1/kernel",
                                                         (5, 5, 5, 32), seed=0))
    assert not np.array_equal(a, weights.draw_weight("inpaint_net/conv1/kernel",
                                                     (5, 5, 5, 32), seed=1))
    assert not np.array_equal(a, weights.draw_weight("inpaint_net/xconv1/kernel",
                                                     (5, 5, 5, 32), seed=0))
    assert abs(a.std() * np.sqrt(5 * 5 * 5) - 1.0) < 0.05  # std sqrt(gain / fan_in)
    bias = weights.draw_weight("inpaint_net/conv1/bias", (32,))
    assert np.all(np.abs(bias) <= weights.BIAS_RANGE) and np.any(bias != 0)


def test_critic_name_table_has_the_released_names_and_shapes():
    local, global_ = LocalCritic(), GlobalCritic()
    local.build((None, 128, 128, 3))
    global_.build((None, 256, 256, 3))
    table = weights.critic_name_table(local, global_)
    assert weights.variable_shapes(table) == ref.CRITIC_SHAPES
    arrays = weights.draw_weights(weights.variable_shapes(table), seed=2)
    weights.assign(table, arrays)
    name = "discriminator/dout_global_fc/kernel"
    np.testing.assert_array_equal(table[name].numpy(), arrays[name])
