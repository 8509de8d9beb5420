"""Stand-ins for what TensorFlow 2 removed and the authors' v1 graph still imports.

:mod:`gi_tf.parity.original` loads the authors' TF 1 files unchanged with
``sys.modules["tensorflow"]`` pointing, for the duration of the load, at :func:`tf1_module`:
``tf.compat.v1`` plus tf-keras's legacy ``tf.layers`` (the ``[parity]`` extra) and the few
``tf.contrib`` pieces they reach (:func:`contrib_modules`: :func:`arg_scope`,
:func:`add_arg_scope`, ``flatten``, ``xavier_initializer_conv2d``).
:func:`neuralgym_package` is a skeleton of the ``neuralgym`` package (its ``__init__``
imports TF 1 trainers): ``neuralgym.models.Model`` and no-op summaries. Plumbing only, no
math: the modules that carry math (``neuralgym/ops/layers.py``, ``gan_ops.py``,
``loss_ops.py``) are the user's files.
"""

import contextlib
import functools
import importlib
import os
import types

import tensorflow as tf

LEGACY_LAYERS_MODULE = "tf_keras.api._v1.keras.__internal__.legacy.layers"
MISSING_TF_KERAS = (
    "gi-parity needs tf-keras (TensorFlow 1's tf.layers, which Keras 3 dropped): "
    "pip install 'gi_tf[parity]' (or pip install tf-keras matching your TensorFlow)")

# -- tf.contrib.framework.arg_scope ----------------------------------------------------------

_SCOPES = [{}]


def _key(func):
    return getattr(func, "_arg_scope_key", (func.__module__, func.__name__))


@contextlib.contextmanager
def arg_scope(list_ops_or_scope, **kwargs):
    """Default ``kwargs`` for every function of ``list_ops_or_scope`` inside the block."""
    current = {key: dict(values) for key, values in _SCOPES[-1].items()}
    for op in list_ops_or_scope:
        key = _key(op)
        current[key] = {**current.get(key, {}), **kwargs}
    _SCOPES.append(current)
    try:
        yield current
    finally:
        _SCOPES.pop()


def add_arg_scope(func):
    """Let :func:`arg_scope` supply defaults to ``func`` (explicit arguments win)."""
    key = (func.__module__, func.__name__)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **{**_SCOPES[-1].get(key, {}), **kwargs})

    wrapper._arg_scope_key = key
    return wrapper


def _flatten(inputs, outputs_collections=None, scope=None):
    """``tf.contrib.layers.flatten``: ``[B, ...] -> [B, prod(...)]`` (NHWC order)."""
    del outputs_collections, scope
    size = 1
    for dim in inputs.get_shape().as_list()[1:]:
        size *= dim
    return tf.reshape(inputs, [-1, size])


def _module(name, **attributes):
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module


def contrib_modules():
    """``{module name: module}`` for the ``tensorflow.contrib`` paths the graph imports."""
    ops = _module("tensorflow.contrib.framework.python.ops",
                  arg_scope=arg_scope, add_arg_scope=add_arg_scope)
    python = _module("tensorflow.contrib.framework.python", ops=ops)
    framework = _module("tensorflow.contrib.framework", python=python,
                        arg_scope=arg_scope, add_arg_scope=add_arg_scope)
    # xavier_initializer_conv2d: only a default argument of an unused neuralgym layer
    # (depthwise_conv2d), evaluated when neuralgym/ops/layers.py is imported.
    layers = _module("tensorflow.contrib.layers", flatten=_flatten,
                     xavier_initializer_conv2d=tf.compat.v1.glorot_uniform_initializer)
    contrib = _module("tensorflow.contrib", framework=framework, layers=layers)
    return {module.__name__: module for module in (contrib, framework, python, ops, layers)}


def legacy_layers():
    """tf-keras's TF 1 ``tf.layers`` (``conv2d``, ``dense``...); a clear error without it."""
    try:
        return importlib.import_module(LEGACY_LAYERS_MODULE)
    except ImportError as error:
        raise ImportError(f"{MISSING_TF_KERAS} [{error}]") from error


class _TF1(types.ModuleType):
    """``tf.compat.v1`` with ``layers`` (on first use) and ``contrib`` put back."""

    def __getattr__(self, name):
        if name == "layers":
            self.layers = legacy_layers()
            return self.layers
        return getattr(tf.compat.v1, name)


def tf1_module():
    """The module the authors' ``import tensorflow as tf`` gets (see the module docstring).

    ``layers`` imports tf-keras when first used (neuralgym's ``gan_ops.py`` does so when
    it is loaded); without tf-keras that use raises an ``ImportError`` naming the extra.
    """
    module = _TF1("tensorflow")
    module.contrib = contrib_modules()["tensorflow.contrib"]
    module.__version__ = tf.__version__
    return module


# -- neuralgym skeleton ------------------------------------------------------------------------


class Model:
    """``neuralgym.models.Model``: a base class that keeps a name."""

    def __init__(self, name=""):
        self.name = name


def _no_summary(*args, **kwargs):
    """Summaries only add TensorBoard ops; nothing to compare."""
    del args, kwargs


def neuralgym_package(neuralgym_dir):
    """``{module name: module}`` of the skeleton; ``neuralgym_dir`` is the checkout root.

    ``neuralgym.ops`` gets the checkout's ``neuralgym/ops`` folder as its path, so the
    real ``layers``/``gan_ops``/``loss_ops`` files load into it as submodules.
    """
    package_dir = os.path.join(neuralgym_dir, "neuralgym")
    root = _module("neuralgym", __path__=[package_dir], __package__="neuralgym")
    models = _module("neuralgym.models", Model=Model, __package__="neuralgym.models")
    ops = _module("neuralgym.ops", __path__=[os.path.join(package_dir, "ops")],
                  __package__="neuralgym.ops")
    summary_ops = _module(
        "neuralgym.ops.summary_ops", __package__="neuralgym.ops",
        __all__=["scalar_summary", "filters_summary", "images_summary", "gradients_summary"],
        scalar_summary=_no_summary, filters_summary=_no_summary,
        images_summary=_no_summary, gradients_summary=_no_summary)
    root.models, root.ops, ops.summary_ops = models, ops, summary_ops
    return {module.__name__: module for module in (root, models, ops, summary_ops)}
