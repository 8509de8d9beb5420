"""The loader of the authors' code, on a miniature stand-in checkout written here.

The real checkouts are not available in CI (and never part of this repository); these
files only have the same layout and the same kind of imports (``tensorflow.contrib``'s
arg_scope, ``neuralgym``, module-level NumPy seeding), so the loading mechanics are
tested: TF 1 names resolve, the user's neuralgym files are the ones loaded,
``sys.modules`` and NumPy's global generator are left as they were, and missing checkouts
are named.
"""

import os
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.parity import original as original_lib

OPS = '''
import numpy as np
import tensorflow as tf
from tensorflow.contrib.framework.python.ops import add_arg_scope
from neuralgym.ops.layers import *
np.random.seed(1)

@add_arg_scope
def unit(x, cnum, name="unit", padding="SAME", training=True):
    with tf.variable_scope(name):
        kernel = tf.get_variable("kernel", [3, 3, x.get_shape().as_list()[3], cnum])
        bias = tf.get_variable("bias", [cnum], initializer=tf.zeros_initializer())
    return tf.nn.conv2d(x, kernel, strides=[1, 1, 1, 1], padding=padding) + bias

def random_bbox(config):
    return (tf.random_uniform([], 0, 4, tf.int32), tf.random_uniform([], 0, 4, tf.int32),
            tf.constant(config.HEIGHT), tf.constant(config.WIDTH))
'''
MODEL = '''
import tensorflow as tf
from tensorflow.contrib.framework.python.ops import arg_scope
import neuralgym as ng
from neuralgym.models import Model
from neuralgym.ops.gan_ops import halve
from inpaint_ops import unit

class Net(Model):
    def build(self, x):
        with tf.variable_scope("net"), arg_scope([unit], padding="VALID"):
            return halve(flatten(unit(x, 2, name="first")))

flatten = ng.ops.layers.flatten
'''
LAYERS = '''
import tensorflow as tf
def flatten(x, name="flatten"):
    with tf.variable_scope(name):
        return tf.contrib.layers.flatten(x)
'''
GAN_OPS = '''
import tensorflow as tf
from .summary_ops import scalar_summary
def halve(x):
    scalar_summary("x", x)
    return x / 2.0
'''


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(text))


@pytest.fixture()
def checkouts(tmp_path):
    original, neuralgym = tmp_path / "gi", tmp_path / "ng"
    write(str(original / "inpaint_ops.py"), OPS)
    write(str(original / "inpaint_model.py"), MODEL)
    write(str(original / "inpaint.yml"), "HEIGHT: 4\nWIDTH: 4\n")
    write(str(neuralgym / "neuralgym" / "ops" / "layers.py"), LAYERS)
    write(str(neuralgym / "neuralgym" / "ops" / "gan_ops.py"), GAN_OPS)
    write(str(neuralgym / "neuralgym" / "ops" / "loss_ops.py"), "import tensorflow as tf\n")
    return str(original), str(neuralgym)


def test_loads_the_checkout_under_tf1_names(checkouts):
    modules_before = dict(sys.modules)
    numpy_before = np.random.get_state()[1].copy()
    loaded = original_lib.load(*checkouts)
    assert original_lib.load(*checkouts) is loaded  # cached
    left = [name for name in sys.modules if name.split(".")[0] in (
        "inpaint_ops", "inpaint_model", "neuralgym") or name.startswith("tensorflow.contrib")]
    assert left == []
    assert all(sys.modules[name] is module for name, module in modules_before.items())
    assert np.array_equal(np.random.get_state()[1], numpy_before)
    assert sys.modules["tensorflow"] is tf
    assert loaded.config(HEIGHT=8).HEIGHT == 8
    with pytest.raises(ValueError, match="not in inpaint.yml"):
        loaded.config(NOT_A_KEY=1)
    assert loaded.commits == {"generative_inpainting": None, "neuralgym": None}

    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [2, 6, 6, 1])
        y = loaded.inpaint_model.Net().build(x)  # arg_scope: VALID, so 4x4x2
        assert y.get_shape().as_list() == [2, 32]
        names = sorted(v.op.name for v in tf.compat.v1.global_variables())
        assert names == ["net/first/bias", "net/first/kernel"]
        bbox = loaded.inpaint_ops.random_bbox(loaded.config())
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            value = session.run(y, {x: np.ones((2, 6, 6, 1), np.float32)})
            assert value.shape == (2, 32)
            assert session.run(bbox[2]) == 4


def test_missing_checkouts_are_named(checkouts, tmp_path):
    original, neuralgym = checkouts
    with pytest.raises(original_lib.CheckoutError, match="--original is required"):
        original_lib.check_checkouts(None, neuralgym)
    with pytest.raises(original_lib.CheckoutError, match="no such directory"):
        original_lib.check_checkouts(str(tmp_path / "nowhere"), neuralgym)
    os.remove(os.path.join(neuralgym, "neuralgym", "ops", "gan_ops.py"))
    with pytest.raises(original_lib.CheckoutError,
                       match="not a checkout of JiahuiYu/neuralgym: missing "
                             "neuralgym/ops/gan_ops.py"):
        original_lib.load(original, neuralgym)


def test_offsets_behind_a_flow_image():
    with tf.Graph().as_default():
        offsets = tf.constant(np.arange(8, dtype=np.int32).reshape(1, 2, 2, 2))
        flow = tf.compat.v1.py_func(lambda o: o.astype(np.float32), [offsets], tf.float32)
        flow = flow * 2.0 - 1.0
        assert original_lib.offsets_of_flow(flow) is offsets
        with pytest.raises(ValueError, match="no py_func"):
            original_lib.offsets_of_flow(tf.constant(1.0) * 2.0)


def test_server_input_crops_to_multiples_of_8():
    image = np.zeros((13, 19, 3), np.uint8)
    joined = original_lib.server_input(image, image + 255)
    assert joined.shape == (1, 8, 32, 3) and joined.dtype == np.float32
    assert joined[0, :, :16].max() == 0 and joined[0, :, 16:].min() == 255
    with pytest.raises(ValueError, match="differ"):
        original_lib.server_input(image, image[:8])
