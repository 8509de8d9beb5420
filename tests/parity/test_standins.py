"""The stand-ins for what TF 2 removed: arg_scope, tf.contrib pieces, the neuralgym skeleton."""

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.parity import standins


@standins.add_arg_scope
def conv(x, padding="SAME", training=True, name="conv"):
    return (x, padding, training, name)


@standins.add_arg_scope
def other(x, padding="SAME"):
    return padding


def test_arg_scope_supplies_defaults_and_explicit_arguments_win():
    assert conv(1) == (1, "SAME", True, "conv")
    with standins.arg_scope([conv], training=False, padding="VALID"):
        assert conv(1) == (1, "VALID", False, "conv")
        assert conv(1, padding="SYMMETRIC") == (1, "SYMMETRIC", False, "conv")
        assert other(1) == "SAME"  # not listed
        with standins.arg_scope([conv, other], padding="REFLECT"):
            assert conv(1) == (1, "REFLECT", False, "conv")
            assert other(1) == "REFLECT"
        assert conv(1)[1] == "VALID"
    assert conv(1) == (1, "SAME", True, "conv")


def test_arg_scope_is_left_on_errors():
    with pytest.raises(RuntimeError):
        with standins.arg_scope([conv], padding="VALID"):
            raise RuntimeError("boom")
    assert conv(1)[1] == "SAME"


def test_contrib_flatten_keeps_the_static_size():
    flatten = standins.contrib_modules()["tensorflow.contrib.layers"].flatten
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2, 3, 4])
        y = flatten(x)
        assert y.get_shape().as_list() == [None, 24]
        with tf.compat.v1.Session() as session:
            value = np.arange(48, dtype=np.float32).reshape(2, 2, 3, 4)
            np.testing.assert_array_equal(session.run(y, {x: value}), value.reshape(2, 24))


def test_tf1_module_is_compat_v1_with_contrib():
    tf1 = standins.tf1_module()
    assert tf1.variable_scope is tf.compat.v1.variable_scope
    assert tf1.image.resize_nearest_neighbor is tf.compat.v1.image.resize_nearest_neighbor
    assert tf1.contrib.framework.arg_scope is standins.arg_scope
    assert tf1.contrib.framework.python.ops.add_arg_scope is standins.add_arg_scope


def test_tf1_layers_without_tf_keras_name_the_extra(monkeypatch):
    # tf-keras is only in the [parity] extra: its absence must be a clear message.
    monkeypatch.setattr(standins, "LEGACY_LAYERS_MODULE", "tf_keras_is_not_installed")
    with pytest.raises(ImportError, match=r"pip install 'gi_tf\[parity\]'"):
        standins.tf1_module().layers


def test_neuralgym_skeleton(tmp_path):
    modules = standins.neuralgym_package(str(tmp_path))
    assert set(modules) == {"neuralgym", "neuralgym.models", "neuralgym.ops",
                            "neuralgym.ops.summary_ops"}
    assert modules["neuralgym.models"].Model("x").name == "x"
    assert modules["neuralgym.ops"].__path__ == [str(tmp_path / "neuralgym" / "ops")]
    assert modules["neuralgym.ops.summary_ops"].scalar_summary("a", 1.0) is None
