"""Talking to a gi_tf model under TF Serving: REST JSON bodies and gRPC PredictRequests.

REST (no extra dependency): :func:`rest_body` builds a ``:predict`` body in the row
(``instances``) or columnar (``inputs``) format; ``tf.string`` inputs are sent as
``{"b64": ...}``. :func:`arrays_from_rest_response` turns the reply back into arrays;
outputs whose name ends in ``_bytes`` come back base64-encoded (TF Serving's rule).
:func:`decode_rest_request` and :func:`encode_rest_response` do what the server does
with such bodies, so tests can feed the example requests in ``export/requests/`` to a
SavedModel loaded in Python (the TF Serving binary is not installable here).

gRPC (``pip install gi_tf[serving]``, i.e. ``tensorflow-serving-api``):
:func:`make_predict_request` builds a ``PredictRequest``; :func:`predict_grpc` sends it.

Example::

    from gi_tf.inference import serving_client
    out = serving_client.predict_grpc("localhost:8500", {"image": image[None],
                                      "mask": mask[None, ..., None]})
    result = out["inpainted"][0]
"""

import base64
import json
import urllib.request

import numpy as np

BYTES_SUFFIX = "_bytes"
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # gRPC's default of 4 MB is too small for photos
SERVING_EXTRA_HINT = ("the gRPC client needs tensorflow-serving-api: "
                      "pip install 'gi_tf[serving]' (or pip install tensorflow-serving-api)")


# -- REST -------------------------------------------------------------------------------------


def _to_json(value):
    """NumPy value -> JSON value; bytes become ``{"b64": ...}``."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_to_json(v) for v in value]
        return value.tolist()
    if isinstance(value, (bytes, np.bytes_)):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value.item() if isinstance(value, np.generic) else value


def rest_body(inputs, signature_name="serving_default", row_format=True):
    """A TF Serving REST ``:predict`` body.

    Args:
        inputs: ``{name: array}``; every array has the batch as its first dimension
            (uint8 / float arrays, or object/bytes arrays of encoded files).
        signature_name: the signature to call.
        row_format: ``{"instances": [{name: value}, ...]}`` (one element per batch
            entry) if True, else columnar ``{"inputs": {name: value}}``.

    Returns:
        A JSON-serialisable dict.
    """
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    body = {"signature_name": signature_name}
    if row_format:
        sizes = {len(a) for a in arrays.values()}
        if len(sizes) != 1:
            raise ValueError(f"row format needs inputs of one batch size; got {sorted(sizes)}")
        body["instances"] = [{name: _to_json(a[i]) for name, a in arrays.items()}
                             for i in range(sizes.pop())]
    else:
        body["inputs"] = {name: _to_json(a) for name, a in arrays.items()}
    return body


def _from_json(value, dtype):
    """JSON value -> NumPy array of ``dtype`` (``{"b64"}`` -> bytes for strings)."""
    if np.dtype(dtype).kind in "SO":
        def decode(v):
            if isinstance(v, dict):
                return base64.b64decode(v["b64"])
            if isinstance(v, list):
                return [decode(x) for x in v]
            return v.encode("utf-8")
        return np.array(decode(value), dtype=object)
    return np.array(value, dtype=dtype)


def decode_rest_request(body, dtypes):
    """What TF Serving feeds the signature for a REST body: ``{name: array}``.

    Args:
        body: a parsed ``:predict`` body (row or columnar format).
        dtypes: ``{input name: NumPy dtype}`` of the signature (``object`` for strings).
    """
    if "instances" in body:
        instances = body["instances"]
        return {name: np.stack([_from_json(inst[name], dtype) for inst in instances])
                for name, dtype in dtypes.items()}
    return {name: _from_json(body["inputs"][name], dtype) for name, dtype in dtypes.items()}


def encode_rest_response(outputs, row_format=True):
    """TF Serving's REST reply for ``{name: array}``: ``_bytes`` outputs as ``{"b64"}``.

    Other string outputs would be written as plain JSON strings (which PNG bytes do not
    survive); gi_tf's string outputs all end in ``_bytes``.
    """
    def value(name, array):
        if array.dtype.kind in "SO" and not name.endswith(BYTES_SUFFIX):
            return [v.decode("utf-8", "replace") for v in array.reshape(-1)]
        return _to_json(array)

    arrays = {name: np.asarray(a) for name, a in outputs.items()}
    if row_format:
        batch = len(next(iter(arrays.values())))
        return {"predictions": [{name: value(name, a[i:i + 1])[0] for name, a in arrays.items()}
                                for i in range(batch)]}
    return {"outputs": {name: value(name, a) for name, a in arrays.items()}}


def arrays_from_rest_response(response):
    """``{name: array}`` from a REST reply (``{"b64"}`` values become bytes objects)."""
    def decode(v):
        if isinstance(v, dict) and "b64" in v:
            return base64.b64decode(v["b64"])
        if isinstance(v, list):
            return [decode(x) for x in v]
        return v

    def as_array(values):
        values = decode(values)
        flat = values
        while isinstance(flat, list) and flat:
            flat = flat[0]
        return np.array(values, dtype=object if isinstance(flat, bytes) else None)

    if "outputs" in response:
        return {name: as_array(v) for name, v in response["outputs"].items()}
    rows = response["predictions"]
    return {name: as_array([row[name] for row in rows]) for name in rows[0]}


def predict_rest(url, inputs, signature_name="serving_default", row_format=True, timeout=60.0):
    """POST a ``:predict`` request and return ``{name: array}``.

    Args:
        url: e.g. ``http://localhost:8501/v1/models/gi_tf:predict``.
        inputs, signature_name, row_format: see :func:`rest_body`.
        timeout: seconds.
    """
    data = json.dumps(rest_body(inputs, signature_name, row_format)).encode("utf-8")
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return arrays_from_rest_response(json.loads(reply.read()))


# -- gRPC -------------------------------------------------------------------------------------


def _serving_apis():
    try:
        from tensorflow_serving.apis import predict_pb2  # optional: [serving] extra
        from tensorflow_serving.apis import prediction_service_pb2_grpc  # optional: [serving] extra
    except ImportError as err:
        raise ImportError(SERVING_EXTRA_HINT) from err
    return predict_pb2, prediction_service_pb2_grpc


def make_predict_request(inputs, model_name="gi_tf", signature_name="serving_default",
                         version=None):
    """A ``tensorflow_serving.apis.predict_pb2.PredictRequest``.

    Args:
        inputs: ``{name: array}``; uint8 / float32 arrays, or arrays of ``bytes`` for
            ``tf.string`` inputs (``inpaint_encoded``).
        model_name: the served model's name (``--model_name`` / models.config).
        signature_name: the signature to call.
        version: optional int, a specific version.
    """
    import tensorflow as tf  # lazy: TensorFlow start-up

    predict_pb2, _ = _serving_apis()
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, array in inputs.items():
        array = np.asarray(array)
        dtype = tf.string if array.dtype.kind in "SO" else None
        request.inputs[name].CopyFrom(tf.make_tensor_proto(array, dtype=dtype))
    return request


def arrays_from_predict_response(response):
    """``{name: array}`` from a ``PredictResponse`` (string tensors: object arrays of bytes)."""
    import tensorflow as tf  # lazy: TensorFlow start-up

    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


class ServingError(RuntimeError):
    """TF Serving answered a gRPC request with an error (the message says which and why)."""


def _grpc_failure(err, target, model_name, timeout):
    """The error to raise for a failed ``Predict`` call ``err`` (a ``grpc.RpcError``)."""
    import grpc  # optional: [serving] extra

    code = err.code() if callable(getattr(err, "code", None)) else None
    details = err.details() if callable(getattr(err, "details", None)) else str(err)
    if code == grpc.StatusCode.UNAVAILABLE:
        return ConnectionError(
            f"no TF Serving gRPC endpoint answers at {target} ({details}); start "
            "tensorflow_model_server with --port=<that port> (export/README.md) or check "
            "the address")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return TimeoutError(f"TF Serving at {target} did not answer within {timeout} s "
                            "(raise timeout= for large images or a cold model)")
    name = code.name if code is not None else "error"
    return ServingError(f"TF Serving at {target} refused the request for model "
                        f"{model_name!r} ({name}: {details})")


def predict_grpc(target, inputs, model_name="gi_tf", signature_name="serving_default",
                 version=None, timeout=60.0):
    """Call ``Predict`` on a TF Serving gRPC endpoint (``host:8500``); returns arrays.

    Raises:
        ConnectionError: nothing answers at ``target``.
        TimeoutError: no answer within ``timeout`` seconds.
        ServingError: the server refused the request (unknown model or signature, bad
            input); the message holds its status and explanation.
        ImportError: the ``[serving]`` extra is not installed.
    """
    import grpc  # optional: [serving] extra

    _, service = _serving_apis()
    options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
               ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
    with grpc.insecure_channel(target, options=options) as channel:
        stub = service.PredictionServiceStub(channel)
        request = make_predict_request(inputs, model_name, signature_name, version)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as err:
            failure = _grpc_failure(err, target, model_name, timeout)
        else:
            return arrays_from_predict_response(response)
    raise failure  # outside the except: the message says it all, without gRPC's dump


# -- example requests (export/requests/) ----------------------------------------------------------


def _example_arrays(rng, height, width, batch):
    image = rng.integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    mask = np.zeros((batch, height, width, 1), np.uint8)
    mask[:, height // 4: height // 4 + height // 2, width // 3: width // 3 + width // 3] = 255
    return image, mask


def _png(array):
    import cv2  # lazy: OpenCV start-up

    ok, data = cv2.imencode(".png", np.ascontiguousarray(array[..., ::-1]))
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()


def example_request_bodies(seed=0):
    """``{file name: REST body}``: small requests for every signature (odd sizes).

    ``export/requests/<file name>`` holds each body as compact JSON (tests check that the
    committed files are these bodies).
    """
    rng = np.random.default_rng(seed)
    image, mask = _example_arrays(rng, 12, 10, 2)
    float_image, float_mask = _example_arrays(rng, 9, 11, 1)
    small, small_mask = _example_arrays(rng, 16, 8, 1)
    encoded_images = np.array([_png(image[0]), _png(small[0])], dtype=object)
    encoded_masks = np.array([_png(np.repeat(mask[0], 3, -1)),
                              _png(np.repeat(small_mask[0], 3, -1))], dtype=object)
    return {
        "serving_default.json": rest_body({"image": image, "mask": mask}),
        "inpaint_float.json": rest_body(
            {"image": float_image.astype(np.float32) / 127.5 - 1.0,
             "mask": (float_mask > 0).astype(np.float32)}, "inpaint_float", row_format=False),
        "inpaint_encoded.json": rest_body(
            {"image_bytes": encoded_images, "mask_bytes": encoded_masks}, "inpaint_encoded"),
    }
