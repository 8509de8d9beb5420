"""Reusable Keras-contract checks for gi_tf layers and models.

``run_layer_contract(layer_cls, init_kwargs, call_args)`` checks that

1. every named ``__init__`` parameter of ``layer_cls`` appears in ``get_config()`` and the
   values passed in ``init_kwargs`` come back unchanged;
2. ``from_config(get_config())`` rebuilds an equal config, and the rebuilt layer (given the
   original's weights) computes the same outputs;
3. a tiny functional model around the layer survives a ``.keras`` save/load: same class,
   same config and identical outputs.

Import it from tests as ``import layer_checks`` (``tests/conftest.py`` puts ``tests/`` on
``sys.path``).
"""

import inspect
import os
import tempfile

import keras
import numpy as np


def init_parameter_names(cls):
    """Named parameters of ``cls.__init__`` (no ``self``, ``*args``, ``**kwargs``)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [
        p.name
        for p in params
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _as_list(outputs):
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


def assert_outputs_equal(actual, expected, atol=0.0, rtol=0.0):
    """Compares (nested) layer outputs element-wise; exact by default."""
    actual, expected = _as_list(actual), _as_list(expected)
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        got, want = keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want)
        assert got.shape == want.shape
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, atol=atol, rtol=rtol)


def check_config_round_trip(layer_cls, init_kwargs):
    """Checks 1 and the config part of 2; returns ``(layer, rebuilt_layer)``."""
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    missing = [name for name in init_parameter_names(layer_cls) if name not in config]
    assert not missing, f"{layer_cls.__name__}.get_config() lacks __init__ parameters {missing}"
    for name, value in init_kwargs.items():
        assert config[name] == value, f"config[{name!r}] = {config[name]!r}, passed {value!r}"
    rebuilt = layer_cls.from_config(config)
    assert type(rebuilt) is layer_cls
    assert rebuilt.get_config() == config
    return layer, rebuilt


def check_keras_save_load(layer, call_args, directory, atol=0.0):
    """Check 3: functional model (inputs shaped like ``call_args``) -> .keras -> same outputs."""
    arrays = [np.asarray(a) for a in call_args]
    inputs = [
        keras.Input(shape=a.shape[1:], dtype=str(a.dtype), name=f"input_{i}")
        for i, a in enumerate(arrays)
    ]
    model = keras.Model(inputs, layer(*inputs))
    expected = model(arrays)
    path = os.path.join(directory, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    loaded_layer = loaded.get_layer(layer.name)
    assert type(loaded_layer) is type(layer)
    assert loaded_layer.get_config() == layer.get_config()
    assert_outputs_equal(loaded(arrays), expected, atol=atol)
    return loaded


def run_layer_contract(layer_cls, init_kwargs, call_args, directory=None, atol=0.0):
    """Runs all checks; ``call_args`` are NumPy arrays passed positionally (batch first).

    Args:
        layer_cls: the Keras layer (or model) class.
        init_kwargs: constructor keyword arguments; use non-default values so that a
            parameter dropped from ``get_config`` is noticed.
        call_args: sequence of arrays, the positional call inputs.
        directory: where to write the ``.keras`` file (e.g. pytest's ``tmp_path``);
            a temporary directory when None.
        atol: tolerance of the output comparisons (0 = exact).

    Returns:
        the layer built from ``init_kwargs``.
    """
    layer, rebuilt = check_config_round_trip(layer_cls, init_kwargs)
    arrays = [np.asarray(a) for a in call_args]
    expected = layer(*arrays)
    rebuilt(*arrays)  # builds the weights, if any
    rebuilt.set_weights(layer.get_weights())
    assert_outputs_equal(rebuilt(*arrays), expected, atol=atol)
    if directory is None:
        with tempfile.TemporaryDirectory() as tmp:
            check_keras_save_load(layer, arrays, tmp, atol=atol)
    else:
        check_keras_save_load(layer, arrays, str(directory), atol=atol)
    return layer
