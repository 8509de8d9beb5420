"""TF Serving's warm-up file: ``assets.extra/tf_serving_warmup_requests``.

When TF Serving loads a version it replays the ``PredictionLog`` records of this TFRecord
file before it serves the version, so the first real request does not pay for graph
optimisation and kernel set-up. ``gi-export`` writes one record per signature on a small
image (``WARMUP_SIZE``), with both paths of the plan where the signature takes a
``window`` (``on``: the windowed path, ``off``: the whole image); ``--nowarmup`` leaves
the file out. ``tf.saved_model.load`` ignores it.

The records are encoded here in protobuf's wire format (a few fields of
``tensorflow_serving.apis``' ``PredictionLog``, ``PredictLog``, ``PredictRequest`` and
``ModelSpec``; the tensors are TensorFlow's own ``TensorProto``), so an export needs no
``tensorflow-serving-api``; the tests parse the file with it. The model name is left
empty: TF Serving replays the records against the version it is loading.
"""

import numpy as np
import tensorflow as tf

from gi_tf.utils import files

WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_SIZE = 64  # a multiple of 8, big enough for a hole the windowed path can take
HOLE = (24, 24, 16, 16)  # top, left, height, width of the warm-up hole

# field numbers of tensorflow_serving/apis/{prediction_log,predict,model}.proto
_PREDICTION_LOG_PREDICT_LOG = 6
_PREDICT_LOG_REQUEST = 1
_REQUEST_MODEL_SPEC, _REQUEST_INPUTS = 1, 2
_MODEL_SPEC_SIGNATURE_NAME = 3
_MAP_KEY, _MAP_VALUE = 1, 2


def _varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number, payload):
    """One length-delimited field (wire type 2): a string, bytes or a message."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def prediction_log(signature_name, inputs):
    """A serialized ``PredictionLog`` holding a ``PredictRequest`` of ``inputs``.

    Args:
        signature_name: the signature the request calls.
        inputs: ``{input name: NumPy array}``.
    """
    spec = _field(_MODEL_SPEC_SIGNATURE_NAME, signature_name.encode())
    request = _field(_REQUEST_MODEL_SPEC, spec)
    for name in sorted(inputs):
        tensor = tf.make_tensor_proto(inputs[name]).SerializeToString()
        request += _field(_REQUEST_INPUTS, _field(_MAP_KEY, name.encode())
                          + _field(_MAP_VALUE, tensor))
    return _field(_PREDICTION_LOG_PREDICT_LOG, _field(_PREDICT_LOG_REQUEST, request))


def warmup_arrays(size=WARMUP_SIZE):
    """``(image, mask)``: a uint8 [1,size,size,3] gradient and a [1,size,size,1] box hole."""
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    image = np.stack([ramp[None, :].repeat(size, 0), ramp[:, None].repeat(size, 1),
                      np.full((size, size), 128, np.float32)], axis=-1)
    mask = np.zeros((size, size, 1), np.uint8)
    top, left, height, width = HOLE
    mask[top:top + height, left:left + width] = 255
    return image.astype(np.uint8)[None], mask[None]


def warmup_requests(size=WARMUP_SIZE):
    """``[(signature name, {input name: array})]``: one request per signature, and one
    per path of the plan (``window`` ``on`` and ``off``) where a signature takes one."""
    image, mask = warmup_arrays(size)
    float_image = image.astype(np.float32) / 127.5 - 1.0
    float_mask = (mask > 127).astype(np.float32)
    png = tf.io.encode_png(image[0]).numpy()
    mask_png = tf.io.encode_png(np.repeat(mask[0], 3, axis=-1)).numpy()
    requests = [
        ("serving_default", {"image": image, "mask": mask}),
        ("inpaint_float", {"image": float_image, "mask": float_mask}),
        ("inpaint_encoded", {"image_bytes": np.array([png], object),
                             "mask_bytes": np.array([mask_png], object)}),
    ]
    for window in ("on", "off"):
        window_input = np.array(window.encode(), object)
        requests.append(("serving_window", {"image": image, "mask": mask,
                                            "window": window_input}))
        requests.append(("plan", {"mask": mask, "window": window_input}))
    return requests


def write_warmup_file(extra_dir, size=WARMUP_SIZE):
    """Write ``extra_dir/tf_serving_warmup_requests`` atomically; returns its path."""
    path = files.join(extra_dir, WARMUP_FILE)
    with files.atomic_path(path) as temporary:
        with tf.io.TFRecordWriter(temporary) as writer:
            for signature_name, inputs in warmup_requests(size):
                writer.write(prediction_log(signature_name, inputs))
    return path
