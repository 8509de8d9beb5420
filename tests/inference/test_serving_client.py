"""gi_tf.inference.serving_client: REST bodies and replies, gRPC PredictRequests (no model needed).

The gRPC tests need the optional ``[serving]`` extra (tensorflow-serving-api) and are
skipped with the reason printed when it is missing. The REST and gRPC transports are
exercised against in-process echo servers; the reloaded-model end of the contract is in
``tests/test_export.py``.
"""

import base64
import http.server
import json
import os
import threading

import cv2
import numpy as np
import pytest
import tensorflow as tf

from gi_tf.inference import serving_client

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUESTS_DIR = os.path.join(REPO_ROOT, "export", "requests")


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "image": rng.integers(0, 256, (2, 5, 7, 3), dtype=np.uint8),
        "mask": (rng.random((2, 5, 7, 1)) > 0.5).astype(np.float32),
        "image_bytes": np.array([b"\x89PNG\x00\xff", bytes(range(256))], dtype=object),
    }


DTYPES = {"image": np.uint8, "mask": np.float32, "image_bytes": object}


@pytest.mark.parametrize("row_format", [True, False])
def test_rest_body_round_trips_through_json(row_format):
    arrays = _arrays()
    body = json.loads(json.dumps(serving_client.rest_body(arrays, "inpaint_x", row_format)))
    assert body["signature_name"] == "inpaint_x"
    if row_format:
        assert len(body["instances"]) == 2
        assert body["instances"][1]["image_bytes"] == {
            "b64": base64.b64encode(bytes(range(256))).decode("ascii")}
    else:
        assert set(body["inputs"]) == set(arrays)
    decoded = serving_client.decode_rest_request(body, DTYPES)
    for name, array in arrays.items():
        assert decoded[name].dtype == array.dtype
        np.testing.assert_array_equal(decoded[name], array)


def test_rest_body_rejects_ragged_batches():
    with pytest.raises(ValueError, match="one batch size"):
        serving_client.rest_body({"a": np.zeros((2, 3)), "b": np.zeros((3, 3))})


@pytest.mark.parametrize("row_format", [True, False])
def test_rest_reply_base64_only_for_bytes_outputs(row_format):
    outputs = {"inpainted_bytes": np.array([b"\x00\x01", b"\xff"], dtype=object),
               "label": np.array([b"cat", b"dog"], dtype=object),
               "inpainted": np.arange(12, dtype=np.uint8).reshape(2, 2, 3)}
    reply = json.loads(json.dumps(serving_client.encode_rest_response(outputs, row_format)))
    first = reply["predictions"][0] if row_format else {
        k: v[0] for k, v in reply["outputs"].items()}
    assert first["inpainted_bytes"] == {"b64": base64.b64encode(b"\x00\x01").decode("ascii")}
    assert first["label"] == "cat"  # TF Serving writes other strings as plain JSON strings
    decoded = serving_client.arrays_from_rest_response(reply)
    assert list(decoded["inpainted_bytes"]) == [b"\x00\x01", b"\xff"]
    np.testing.assert_array_equal(decoded["inpainted"], outputs["inpainted"])


def test_committed_example_requests_are_reproducible():
    regenerated = serving_client.example_request_bodies(seed=0)
    assert sorted(os.listdir(REQUESTS_DIR)) == sorted(regenerated)
    for name, body in regenerated.items():
        with open(os.path.join(REQUESTS_DIR, name)) as f:
            committed = json.load(f)
        assert committed["signature_name"] == body["signature_name"]
        if name != "inpaint_encoded.json":
            assert committed == body
            continue
        # PNG bytes may differ between OpenCV/zlib versions; the pixels may not.
        for row_a, row_b in zip(committed["instances"], body["instances"]):
            for key in ("image_bytes", "mask_bytes"):
                a, b = (cv2.imdecode(np.frombuffer(base64.b64decode(r[key]["b64"]), np.uint8),
                                     cv2.IMREAD_UNCHANGED) for r in (row_a, row_b))
                np.testing.assert_array_equal(a, b)


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    """A REST ``:predict`` endpoint that returns its decoded inputs as outputs."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, body))
        arrays = serving_client.decode_rest_request(body, DTYPES)
        reply = json.dumps(serving_client.encode_rest_response(
            arrays, row_format="instances" in body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def test_predict_rest_posts_and_decodes():
    server = http.server.HTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        arrays = _arrays(1)
        url = f"http://127.0.0.1:{server.server_port}/v1/models/gi_tf:predict"
        got = serving_client.predict_rest(url, arrays, "inpaint_encoded")
    finally:
        server.shutdown()
        server.server_close()
    path, body = server.seen[0]
    assert path == "/v1/models/gi_tf:predict" and body["signature_name"] == "inpaint_encoded"
    np.testing.assert_array_equal(got["image"], arrays["image"])
    assert list(got["image_bytes"]) == list(arrays["image_bytes"])


# -- gRPC (optional extra) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def serving_apis():
    return pytest.importorskip(
        "tensorflow_serving.apis.predict_pb2",
        reason="tensorflow-serving-api not installed (pip install gi_tf[serving])")


def test_predict_request_builds_and_tensors_round_trip(serving_apis):
    arrays = _arrays(2)
    request = serving_client.make_predict_request(arrays, "inpainter", "inpaint_encoded",
                                                  version=7)
    assert isinstance(request, serving_apis.PredictRequest)
    assert request.model_spec.name == "inpainter"
    assert request.model_spec.signature_name == "inpaint_encoded"
    assert request.model_spec.version.value == 7
    parsed = serving_apis.PredictRequest.FromString(request.SerializeToString())
    assert parsed.inputs["image"].dtype == tf.uint8.as_datatype_enum
    assert parsed.inputs["image_bytes"].dtype == tf.string.as_datatype_enum
    for name, array in arrays.items():
        back = tf.make_ndarray(parsed.inputs[name])
        assert back.shape == array.shape
        if array.dtype == object:
            assert list(back) == list(array)
        else:
            assert back.dtype == array.dtype
            np.testing.assert_array_equal(back, array)


def test_default_request_has_no_version(serving_apis):
    request = serving_client.make_predict_request({"image": np.zeros((1, 2, 2, 3), np.uint8)})
    assert request.model_spec.name == "gi_tf"
    assert request.model_spec.signature_name == "serving_default"
    assert not request.model_spec.HasField("version")


def test_predict_grpc_against_an_echo_service(serving_apis):
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

    from tensorflow_serving.apis import prediction_service_pb2_grpc

    class Echo(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            response = serving_apis.PredictResponse()
            for name, proto in request.inputs.items():
                response.outputs[name + "_echo"].CopyFrom(proto)
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Echo(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        arrays = _arrays(3)
        got = serving_client.predict_grpc(f"127.0.0.1:{port}", arrays)
    finally:
        server.stop(0)
    np.testing.assert_array_equal(got["image_echo"], arrays["image"])
    np.testing.assert_array_equal(got["mask_echo"], arrays["mask"])
    assert list(got["image_bytes_echo"]) == list(arrays["image_bytes"])


def _free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_predict_grpc_without_a_server_is_a_clear_connection_error(serving_apis):
    pytest.importorskip("grpc")
    target = f"127.0.0.1:{_free_port()}"
    with pytest.raises(ConnectionError, match=f"no TF Serving gRPC endpoint answers at "
                                              f"{target}") as info:
        serving_client.predict_grpc(target, _arrays(1), timeout=20)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_predict_grpc_reports_what_the_server_refused(serving_apis):
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

    from tensorflow_serving.apis import prediction_service_pb2_grpc

    class Refuse(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            context.abort(grpc.StatusCode.NOT_FOUND, "Servable not found for request")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Refuse(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with pytest.raises(serving_client.ServingError,
                           match="refused the request for model 'other' "
                                 r"\(NOT_FOUND: Servable not found for request\)"):
            serving_client.predict_grpc(f"127.0.0.1:{port}", _arrays(1), model_name="other")
    finally:
        server.stop(0)
