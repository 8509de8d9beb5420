"""Same numbers under Keras' JAX backend as under TensorFlow: attention layer and generator.

``save DIR`` (TensorFlow venv) writes seeded inputs, generator weights and TF outputs;
``compare DIR`` (a venv with JAX and no TensorFlow) recomputes the attention tilings and the
generator (also under ``jax.jit``), prints the largest differences and the JAX times, and
exits 1 above 1e-4. Case names after ``DIR`` run only those. ``bash .ci/jax`` does both;
commands: docs/benchmarks.md, "TF vs Keras-JAX". Only NumPy, Keras, the layers, the
generator and the file layer are imported at module level, so ``compare`` runs without
TensorFlow (tests/benchmarks/test_jax_check.py checks it).
"""

import io
import os
import sys
import time

import keras
import numpy as np

from gi_tf.layers import ContextualAttention
from gi_tf.models import build_generator
from gi_tf.utils import files

TOLERANCE = 1e-4
ATTENTION_VARIANTS = {
    "attention_batched": dict(implementation="batched"),
    "attention_literal": dict(implementation="literal"),
    "attention_chunked": dict(implementation="batched", chunk_elements=1),
}
GENERATOR_VARIANTS = {
    "generator": dict(attention_chunk_elements=None),
    "generator_chunked": dict(attention_chunk_elements=1),
}
JIT_CASES = ("attention_batched_jit", "generator_jit")
CASES = (*ATTENTION_VARIANTS, *GENERATOR_VARIANTS, *JIT_CASES)
WEIGHTS_FILE = "generator.weights.h5"


def _checked_cases(cases):
    """``cases`` (None = all) as a tuple of known names; SystemExit naming the unknown."""
    if cases is None:
        return CASES
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    return tuple(cases)


def _holes(rng, batch, height, width):
    holes = np.zeros((batch, height, width, 1), "float32")
    for n in range(batch):
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        holes[n, top:top + height // 3 + 2 * n, left:left + width // 3] = 1.0
    return holes


def make_inputs(seed=0):
    """Seeded inputs: features ``[2, 24, 32, 16]``, generator images ``[2, 64, 96, 3]``, holes."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((2, 24, 32, 16)).astype("float32")
    image = rng.uniform(-1.0, 1.0, (2, 64, 96, 3)).astype("float32")
    return {
        "features": features,
        "feature_holes": _holes(rng, 2, 24, 32),
        "image": image,
        "image_holes": _holes(rng, 2, 64, 96),
    }


def run_cases(inputs, weights_path, cases=CASES):
    """``{case: {output name: array}}`` and ``{case: seconds of the second call}``
    for the eager cases among ``cases``."""
    outputs, seconds = {}, {}

    def timed(name, fn):
        fn()  # first call traces/compiles
        start = time.perf_counter()
        result = fn()
        seconds[name] = time.perf_counter() - start
        outputs[name] = {k: keras.ops.convert_to_numpy(v) for k, v in result.items()}

    for name, kwargs in ATTENTION_VARIANTS.items():
        if name not in cases:
            continue
        layer = ContextualAttention(rate=2, **kwargs)
        f, holes = inputs["features"], inputs["feature_holes"]
        timed(name, lambda: dict(zip(("y", "offsets"), layer(f, f, holes))))
    for name, kwargs in GENERATOR_VARIANTS.items():
        if name not in cases:
            continue
        generator = build_generator(**kwargs)
        generator.load_weights(weights_path)
        image, holes = inputs["image"], inputs["image_holes"]
        timed(name, lambda: dict(zip(("coarse", "refined", "offsets"), generator(image, holes))))
    return outputs, seconds


def run_jit_cases(inputs, weights_path, cases=JIT_CASES):
    """JAX only: the batched attention and the generator under ``jax.jit`` (as on a GPU),
    those of them among ``cases``.

    The generator runs through ``stateless_call`` with its variables as arguments, the
    way Keras' own JAX trainer compiles it. Outputs are named ``<case>_jit`` and are
    compared with the TF outputs of ``<case>``.
    """
    # lazy: optional dependency; the TensorFlow side runs without JAX
    import jax
    outputs, seconds = {}, {}

    def timed(name, fn, keys):
        jax.block_until_ready(fn())  # compiles
        start = time.perf_counter()
        result = jax.block_until_ready(fn())
        seconds[name] = time.perf_counter() - start
        outputs[name] = {k: keras.ops.convert_to_numpy(v) for k, v in zip(keys, result)}

    if "attention_batched_jit" in cases:
        layer = ContextualAttention(rate=2)
        attend = jax.jit(lambda f, m: layer(f, f, m))
        f, holes = inputs["features"], inputs["feature_holes"]
        timed("attention_batched_jit", lambda: attend(f, holes), ("y", "offsets"))
    if "generator_jit" not in cases:
        return outputs, seconds
    generator = build_generator()
    generator.load_weights(weights_path)
    trainable = [v.value for v in generator.trainable_variables]
    non_trainable = [v.value for v in generator.non_trainable_variables]
    forward = jax.jit(lambda t, n, x, m: generator.stateless_call(t, n, x, m)[0])
    image, holes = inputs["image"], inputs["image_holes"]
    timed("generator_jit", lambda: forward(trainable, non_trainable, image, holes),
          ("coarse", "refined", "offsets"))
    return outputs, seconds


def _write_npz(path, arrays):
    """``np.savez`` of ``arrays`` written atomically through :mod:`gi_tf.utils.files`."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    files.write_bytes(path, buffer.getvalue())


def _read_npz(path):
    return dict(np.load(io.BytesIO(files.read_bytes(path))))


def save(directory, cases=None):
    """TensorFlow side: write inputs, random generator weights and the TF outputs
    (of ``cases``; None = all; a ``<case>_jit`` needs the TF outputs of ``<case>``)."""
    cases = {case.removesuffix("_jit") for case in _checked_cases(cases)}
    _require_backend("tensorflow")
    files.makedirs(directory)
    keras.utils.set_random_seed(0)
    inputs = make_inputs()
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    build_generator().save_weights(weights_path)
    outputs, _ = run_cases(inputs, weights_path, cases)
    _write_npz(os.path.join(directory, "inputs.npz"), inputs)
    flat = {f"{case}.{k}": v for case, result in outputs.items() for k, v in result.items()}
    _write_npz(os.path.join(directory, "tf_outputs.npz"), flat)
    print(f"wrote TF inputs/outputs for {sorted(outputs)} to {directory}")


def differences(expected, got):
    """Per output: max |diff| (floats) or fraction of differing entries (offsets).

    A case named ``<case>_jit`` is compared with the TF outputs of ``<case>``.
    """
    report = {}
    for case, result in got.items():
        for key, value in result.items():
            want = expected[f"{case.removesuffix('_jit')}.{key}"]
            if value.shape != want.shape:
                raise ValueError(f"{case}.{key}: shape {value.shape} != TF {want.shape}")
            if key == "offsets":
                changed = np.any(value != want, axis=-1)
                report[f"{case}.{key}"] = {"fraction_differing": float(changed.mean())}
            else:
                report[f"{case}.{key}"] = {"max_abs_diff": float(np.abs(value - want).max()),
                                           "max_abs_value": float(np.abs(want).max())}
    return report


def compare(directory, cases=None):
    """JAX side: recompute ``cases`` (None = all) and compare them with the TF outputs.
    Returns the report."""
    cases = _checked_cases(cases)
    _require_backend("jax")
    # lazy: optional dependency; the TensorFlow side runs without JAX
    import jax

    inputs = _read_npz(os.path.join(directory, "inputs.npz"))
    expected = _read_npz(os.path.join(directory, "tf_outputs.npz"))
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    missing = sorted({case.removesuffix("_jit") for case in cases}
                     - {key.split(".")[0] for key in expected})
    if missing:
        raise SystemExit(f"{directory} holds no TF outputs of {', '.join(missing)} "
                         "(run `save` with those cases, or with none for all)")
    got, seconds = run_cases(inputs, weights_path, cases)
    got_jit, seconds_jit = run_jit_cases(inputs, weights_path, cases)
    got.update(got_jit)
    seconds.update(seconds_jit)
    report = differences(expected, got)
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}; TF outputs from {directory}")
    for key, row in report.items():
        print(f"  {key:36s} " + "  ".join(f"{k}={v:.3g}" for k, v in row.items()))
    for case, value in seconds.items():
        kind = "jax.jit" if case.endswith("_jit") else "eager"
        print(f"  {case:36s} JAX {kind} forward {1000 * value:.1f} ms (second call)")
    report["jax_seconds"] = seconds
    files.write_json(os.path.join(directory, "jax_report.json"), report, sort_keys=False)
    return report


def worst_float_difference(report):
    return max(row["max_abs_diff"] for key, row in report.items() if "max_abs_diff" in row)


def _require_backend(name):
    if keras.backend.backend() != name:
        raise SystemExit(f"run this step with KERAS_BACKEND={name} (Keras uses "
                         f"{keras.backend.backend()!r})")


def main(argv):
    if len(argv) < 3 or argv[1] not in ("save", "compare"):
        raise SystemExit("usage: python -m gi_tf.benchmarks.jax_check save|compare DIRECTORY "
                         "[CASE ...]")
    cases = argv[3:] or None
    if argv[1] == "save":
        save(argv[2], cases)
        return 0
    worst = worst_float_difference(compare(argv[2], cases))
    print(f"largest float difference TF vs JAX: {worst:.3g} (tolerance {TOLERANCE})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
