"""SavedModel export (gi_tf.inference.export): layout, signatures, reload parity, serving contract.

The model is the session's shared export (``shared_export``, tests/conftest.py), with an
attention chunk bound small enough that the 250x333 case runs the chunked attention
inside the SavedModel; the in-memory
reference is the unchunked generator run eagerly, so parity also shows that chunking
and the graph change nothing.
"""

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.inference import export
from gi_tf.inference import preprocessing
from gi_tf.inference import serving_client
from gi_tf.inference.inpainter import Inpainter
from gi_tf.models import InpaintGenerator
from gi_tf.models.checkpoints import load_generator
from gi_tf.models.config import ModelConfig

import shared_artifacts

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORT_DIR = os.path.join(REPO_ROOT, "export")
# The shared export's chunk bound: 250x333 -> 32x42 grid: 1.8M scores, so 5 chunks of 7 rows
CHUNK_ELEMENTS = shared_artifacts.EXPORT_CHUNK_ELEMENTS
assert CHUNK_ELEMENTS == 900_000


@pytest.fixture(scope="module")
def checkpoint(shared_checkpoint):
    """The session's shared checkpoint (tests/conftest.py), as its ``ckpt-1`` prefix."""
    return shared_artifacts.checkpoint_prefix(shared_checkpoint)


@pytest.fixture(scope="module")
def export_base(shared_export):
    """The session's shared export of that checkpoint, chunked at ``CHUNK_ELEMENTS``."""
    return shared_export


@pytest.fixture(scope="module")
def served(shared_served):
    """The export loaded once per worker, as an Inpainter (``.saved_model`` is the loaded
    object; ``shared_served``, tests/conftest.py)."""
    return shared_served


@pytest.fixture(scope="module")
def signatures(served):
    return served.saved_model.signatures


@pytest.fixture(scope="module")
def generator(checkpoint):
    return load_generator(checkpoint)[0]  # unchunked


def _inputs(batch, height, width, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    mask = np.zeros((batch, height, width, 1), np.uint8)
    for i in range(batch):  # a different box per sample
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        mask[i, top:top + height // 3, left:left + width // 3] = rng.integers(128, 256)
    return image, mask


def _assert_close_uint8(actual, expected):
    difference = np.abs(np.asarray(actual).astype(int) - np.asarray(expected).astype(int))
    assert difference.max() <= 1 and np.mean(difference == 0) > 0.999


def _png(rgb):
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    assert ok
    return data.tobytes()


def _decode_png(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


@pytest.mark.smoke
def test_tf_serving_layout_written_atomically(export_base, checkpoint, served):
    assert os.listdir(export_base) == ["1"]  # no temporary directory left behind
    version = os.path.join(export_base, "1")
    assert served.source == version
    assert os.path.isfile(os.path.join(version, "saved_model.pb"))
    assert os.path.isdir(os.path.join(version, "variables"))
    assert ModelConfig.read(os.path.join(version, export.EXTRA_DIR)) == ModelConfig()
    with open(os.path.join(version, export.EXTRA_DIR, export.EXPORT_INFO_FILE)) as f:
        info = json.load(f)
    assert info["source_checkpoint"] == checkpoint and info["version"] == 1
    assert info["attention_chunk_elements"] == CHUNK_ELEMENTS
    assert info["max_request_gb"] == export.DEFAULT_MAX_REQUEST_GB
    assert export.next_version(export_base) == 2


def test_signatures_json_is_the_exported_contract(signatures, served):
    with open(os.path.join(EXPORT_DIR, "signatures.json")) as f:
        committed = json.load(f)
    assert committed["signatures"] == export.describe_signatures(served.saved_model)
    assert set(signatures) == set(export.SIGNATURE_KEYS)
    for key in export.SIGNATURE_KEYS:
        for name in signatures[key].structured_outputs:
            if signatures[key].structured_outputs[name].dtype == tf.string:
                assert name.endswith("_bytes")  # TF Serving base64-encodes these


@pytest.mark.smoke
def test_serving_default_matches_in_memory_at_250x333_batch_3(signatures, generator):
    image, mask = _inputs(3, 250, 333, seed=0)
    out = signatures["serving_default"](image=tf.constant(image), mask=tf.constant(mask))
    expected = preprocessing.inpaint_uint8(generator, image, mask)
    for name in ("inpainted", "attention"):
        assert out[name].shape == (3, 250, 333, 3) and out[name].dtype == tf.uint8
        _assert_close_uint8(out[name], expected[name])
    known = np.broadcast_to(mask < 128, image.shape)
    np.testing.assert_array_equal(out["inpainted"].numpy()[known], image[known])


def test_inpaint_float_matches_in_memory(signatures, generator):
    image, mask = _inputs(3, 37, 53, seed=1)
    image = image.astype(np.float32) / 127.5 - 1.0
    holes = (mask >= 128).astype(np.float32)
    out = signatures["inpaint_float"](image=tf.constant(image), mask=tf.constant(holes))
    expected = preprocessing.inpaint_float(generator, image, holes)
    assert out["inpainted"].dtype == tf.float32 and out["inpainted"].shape == image.shape
    np.testing.assert_allclose(out["inpainted"], expected["inpainted"], atol=1e-4)
    known = np.broadcast_to(holes == 0, image.shape)
    np.testing.assert_array_equal(out["inpainted"].numpy()[known], image[known])
    assert out["offsets"].shape == (3, 5, 7, 2) and out["offsets"].dtype == tf.int32
    assert np.mean(out["offsets"].numpy() == expected["offsets"].numpy()) > 0.99


@pytest.mark.smoke
def test_inpaint_encoded_matches_in_memory_per_instance_sizes(signatures, generator):
    big, big_mask = _inputs(1, 45, 61, seed=2)
    small, small_mask = _inputs(1, 24, 17, seed=3)
    image_bytes = tf.constant([_png(big[0]), _png(small[0])])
    mask_bytes = tf.constant([_png(np.repeat(big_mask[0], 3, -1)),
                              _png(np.repeat(small_mask[0], 3, -1))])
    out = signatures["inpaint_encoded"](image_bytes=image_bytes, mask_bytes=mask_bytes)
    assert set(out) == {"inpainted_bytes", "attention_bytes"}
    assert out["inpainted_bytes"].shape == (2,)
    for i, (image, mask) in enumerate([(big, big_mask), (small, small_mask)]):
        binary = (mask >= 128).astype(np.uint8) * 255
        expected = preprocessing.inpaint_uint8(generator, image, binary)
        _assert_close_uint8(_decode_png(out["inpainted_bytes"][i].numpy()),
                            expected["inpainted"][0])
        _assert_close_uint8(_decode_png(out["attention_bytes"][i].numpy()),
                            expected["attention"][0])


def test_bad_requests_fail_inside_the_graph(signatures):
    serve = signatures["serving_default"]
    image, mask = _inputs(1, 16, 16, seed=4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size, height"):
        serve(image=tf.constant(image), mask=tf.constant(mask[:, :15]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="mask covers the whole image"):
        serve(image=tf.constant(image), mask=tf.constant(np.full_like(mask, 255)))
    with pytest.raises(tf.errors.InvalidArgumentError):
        signatures["inpaint_encoded"](image_bytes=tf.constant([b"not an image"]),
                                      mask_bytes=tf.constant([_png(image[0])]))


def test_example_requests_run_on_the_reloaded_model(signatures):
    directory = os.path.join(EXPORT_DIR, "requests")
    names = sorted(os.listdir(directory))
    assert names == ["inpaint_encoded.json", "inpaint_float.json", "serving_default.json"]
    for name in names:
        with open(os.path.join(directory, name)) as f:
            body = json.load(f)
        function = signatures[body["signature_name"]]
        specs = function.structured_input_signature[1]
        dtypes = {k: object if s.dtype == tf.string else s.dtype.as_numpy_dtype
                  for k, s in specs.items()}
        inputs = serving_client.decode_rest_request(body, dtypes)
        outputs = {k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in
                                                         inputs.items()}).items()}
        reply = json.loads(json.dumps(serving_client.encode_rest_response(
            outputs, row_format="instances" in body)))
        decoded = serving_client.arrays_from_rest_response(reply)
        if name == "inpaint_encoded.json":
            for i, data in enumerate(decoded["inpainted_bytes"]):
                image = _decode_png(inputs["image_bytes"][i])
                known = _decode_png(inputs["mask_bytes"][i])[..., 2] < 128
                np.testing.assert_array_equal(_decode_png(data)[known], image[known])
        else:
            known = np.broadcast_to(inputs["mask"] < 0.5 if name == "inpaint_float.json"
                                    else inputs["mask"] < 128, inputs["image"].shape)
            result = np.asarray(decoded["inpainted"], dtype=inputs["image"].dtype)
            assert result.shape == inputs["image"].shape
            np.testing.assert_array_equal(result[known], inputs["image"][known])


def _saved_model_cli():
    """saved_model_cli next to this Python (the venv), else on PATH, else the module."""
    beside = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if os.path.exists(beside):
        return [beside]
    on_path = shutil.which("saved_model_cli")
    if on_path:
        return [on_path]
    return [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]


@pytest.mark.e2e
def test_saved_model_cli_show_and_run(export_base, signatures, tmp_path):
    version = os.path.join(export_base, "1")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    shown = subprocess.run(_saved_model_cli() + ["show", "--dir", version, "--all"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for key in export.SIGNATURE_KEYS:
        assert f"signature_def['{key}']" in shown.stdout
    assert "inputs['image_bytes'] tensor_info:\n        dtype: DT_STRING" in shown.stdout
    assert "outputs['inpainted_bytes']" in shown.stdout
    image, mask = _inputs(1, 21, 27, seed=5)
    np.save(tmp_path / "image.npy", image)
    np.save(tmp_path / "mask.npy", mask)
    ran = subprocess.run(
        _saved_model_cli() + ["run", "--dir", version, "--tag_set", "serve",
                              "--signature_def", "serving_default",
                              "--inputs", f"image={tmp_path / 'image.npy'};"
                                          f"mask={tmp_path / 'mask.npy'}",
                              "--outdir", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    expected = signatures["serving_default"](image=tf.constant(image), mask=tf.constant(mask))
    for name in ("inpainted", "attention"):
        _assert_close_uint8(np.load(tmp_path / "out" / f"{name}.npy"), expected[name])


def test_inpainter_load_agrees_with_from_checkpoint_pipeline(served, generator):
    image, mask = _inputs(1, 29, 43, seed=6)
    holes = mask[0, ..., 0] >= 128
    result, attention = served.inpaint(image[0], holes, return_attention=True)
    expected = preprocessing.inpaint_uint8(generator, image, mask)
    _assert_close_uint8(result, expected["inpainted"][0])
    _assert_close_uint8(attention, expected["attention"][0])
    assert served.generator is None


def _wide_case():
    """A 40x512 image with two far-apart holes (one at the border) and one with a hole in a
    corner: the windowed path in the graph (two windows, one window)."""
    rng = np.random.default_rng(9)
    image = rng.integers(0, 256, (2, 40, 512, 3), dtype=np.uint8)
    holes = np.zeros((2, 40, 512), bool)
    holes[0, 8:20, 10:30] = True
    holes[0, 24:40, 470:512] = True
    holes[1, 0:10, 0:14] = True
    return image, holes


@pytest.mark.smoke
def test_signatures_take_the_windowed_path_and_agree_everywhere(served, signatures, checkpoint):
    image, holes = _wide_case()
    mask = holes[..., None].astype(np.uint8) * np.uint8(255)
    plan = signatures["plan"](mask=tf.constant(mask), window=tf.constant("on"))
    assert plan["windowed"].numpy().tolist() == [True, True]
    assert plan["windows"].numpy().tolist() == [2, 1]
    assert (plan["windowed_flops"].numpy() < plan["whole_flops"].numpy()).all()
    assert (plan["peak_bytes"].numpy() > 0).all()
    default = signatures["serving_default"](image=tf.constant(image), mask=tf.constant(mask))
    default = default["inpainted"].numpy()
    checkpointed = Inpainter.from_checkpoint(checkpoint, attention_chunk_elements=CHUNK_ELEMENTS)
    # One graph everywhere: TF Serving's signature, the reloaded model and the checkpoint.
    np.testing.assert_array_equal(served.inpaint(image, holes), default)
    np.testing.assert_array_equal(checkpointed.inpaint(image, holes), default)
    windowed = served.inpaint(image, holes, window="on")
    np.testing.assert_array_equal(checkpointed.inpaint(image, holes, window="on"), windowed)
    whole = served.inpaint(image, holes, window="off")
    assert np.abs(whole.astype(int) - windowed).max() <= 1
    np.testing.assert_array_equal(windowed[~holes], image[~holes])
    assert served.plan(image.shape[1:3], holes[1], "on")["windows"] == 1


def test_inpaint_encoded_windows_each_instance_of_its_own_size(signatures):
    image, holes = _wide_case()
    small = image[1, :24, :100]
    small_holes = np.zeros((24, 100), bool)
    small_holes[4:12, 60:80] = True
    pairs = [(image[0], holes[0]), (small, small_holes)]
    out = signatures["inpaint_encoded"](
        image_bytes=tf.constant([_png(im) for im, _ in pairs]),
        mask_bytes=tf.constant([_png(np.repeat(h[..., None] * np.uint8(255), 3, -1))
                                for _, h in pairs]))
    for data, (im, h) in zip(out["inpainted_bytes"].numpy(), pairs):
        result = _decode_png(data)
        mask = tf.constant(h[None, ..., None] * np.uint8(255))
        default = signatures["serving_default"](image=tf.constant(im[None]), mask=mask)
        np.testing.assert_array_equal(result, default["inpainted"].numpy()[0])
        for window in ("on", "off"):
            other = signatures["serving_window"](image=tf.constant(im[None]), mask=mask,
                                                 window=tf.constant(window))
            assert np.abs(other["inpainted"].numpy()[0].astype(int) - result).max() <= 1
        np.testing.assert_array_equal(result[~h], im[~h])


def test_grpc_client_against_an_in_process_prediction_service(signatures):
    """A stand-in for TF Serving: the PredictionService API backed by the reloaded model."""
    pytest.importorskip("tensorflow_serving.apis",
                        reason="tensorflow-serving-api not installed (pip install gi_tf[serving])")
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    class Service(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            function = signatures[request.model_spec.signature_name]
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            response = predict_pb2.PredictResponse()
            for name, value in function(**inputs).items():
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        image, mask = _inputs(2, 13, 19, seed=7)
        got = serving_client.predict_grpc(f"127.0.0.1:{port}", {"image": image, "mask": mask})
    finally:
        server.stop(0)
    expected = signatures["serving_default"](image=tf.constant(image), mask=tf.constant(mask))
    np.testing.assert_array_equal(got["inpainted"], expected["inpainted"].numpy())


# -- versions and atomicity (no real export) ------------------------------------------------


def test_versions_next_free_and_refused(tmp_path, generator):
    base = tmp_path / "m"
    for name in ("1", "3", "notes", ".tmp-4-abc"):
        (base / name).mkdir(parents=True)
    assert export.next_version(str(base)) == 4
    with pytest.raises(FileExistsError, match="already exists"):
        export.export_generator(generator, ModelConfig(), str(base), version=3)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            export.export_generator(generator, ModelConfig(), str(base), version=bad)


def test_failed_export_leaves_no_version(tmp_path):
    base = tmp_path / "m"
    with pytest.raises(ValueError, match="not yet been built"):  # fails inside the writer
        export.export_generator(InpaintGenerator(), ModelConfig(), str(base))
    assert os.listdir(base) == []  # neither a version nor the temporary directory
