"""TF Serving's warm-up file (gi_tf/inference/warmup.py), written by the export.

The file is read as TF Serving reads it: a TFRecord of ``PredictionLog`` protos, parsed
with ``tensorflow_serving.apis`` (the ``[serving]`` extra); each record's request is
replayed through ``tf.saved_model.load`` and must give the signature's outputs, the
windowed and whole-image paths the same picture, and the plan the path it was asked for.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from gi_tf.inference import export
from gi_tf.inference import warmup
from gi_tf.models.config import ModelConfig

prediction_log_pb2 = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def version_dir(shared_export):
    """The session's shared export (seeded weights; read only): the warm-up file is the
    export's own, and every check compares its replies with each other or the inputs."""
    return os.path.join(shared_export, "1")


@pytest.fixture(scope="module")
def records(version_dir):
    """``[(signature name, {input: array})]`` parsed from the warm-up file."""
    path = os.path.join(version_dir, export.EXTRA_DIR, warmup.WARMUP_FILE)
    parsed = []
    for serialized in tf.data.TFRecordDataset(path).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(serialized)
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        parsed.append((request.model_spec.signature_name,
                       {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}))
    return parsed


@pytest.fixture(scope="module")
def replies(shared_served, records):
    loaded = shared_served.saved_model  # the same export, loaded once per worker
    return [(name, inputs, {key: value.numpy() for key, value in
                            loaded.signatures[name](**{k: tf.constant(v) for k, v in
                                                       inputs.items()}).items()})
            for name, inputs in records]


def test_every_signature_is_warmed_up_and_both_paths_of_the_plan(records):
    names = [name for name, _ in records]
    assert sorted(set(names)) == sorted(export.SIGNATURE_KEYS)
    windows = sorted((name, inputs["window"].item().decode()) for name, inputs in records
                     if "window" in inputs)
    assert windows == [("plan", "off"), ("plan", "on"),
                       ("serving_window", "off"), ("serving_window", "on")]


def test_each_record_replayed_through_the_saved_model_gives_its_outputs(replies):
    with open(os.path.join(REPO_ROOT, "export", "signatures.json")) as handle:
        contract = json.load(handle)
    contract = contract.get("signatures", contract)
    for name, inputs, outputs in replies:
        assert sorted(outputs) == sorted(contract[name]["outputs"]), name
        for key, value in outputs.items():
            assert value.shape[0] == 1, (name, key)
    by_window = {inputs["window"].item(): outputs for name, inputs, outputs in replies
                 if name == "serving_window"}
    size = warmup.WARMUP_SIZE
    for outputs in by_window.values():
        assert outputs["inpainted"].shape == (1, size, size, 3)
        assert outputs["inpainted"].dtype == np.uint8
    difference = np.abs(by_window[b"on"]["inpainted"].astype(int)
                        - by_window[b"off"]["inpainted"].astype(int))
    assert difference.max() <= 1  # the windowed path is exact: uint8 rounding at most
    plans = {inputs["window"].item(): outputs for name, inputs, outputs in replies
             if name == "plan"}
    assert plans[b"on"]["windowed"].tolist() == [True]
    assert plans[b"off"]["windowed"].tolist() == [False]
    image, mask = warmup.warmup_arrays()
    for name, inputs, outputs in replies:
        if name == "serving_default":
            known = np.repeat(mask[0] < 128, 3, axis=-1)
            assert np.array_equal(outputs["inpainted"][0][known], image[0][known])


def test_nowarmup_leaves_the_file_out(tmp_path, monkeypatch):
    def no_graphs(generator, directory, *args):  # the file list is the point, not the model
        with open(os.path.join(directory, export.SAVED_MODEL_FILE), "wb"):
            pass

    monkeypatch.setattr(export, "save_archive", no_graphs)
    generator = type("Generator", (), {"attention_chunk_elements": None})()
    version = export.export_generator(generator, ModelConfig(), str(tmp_path / "m"),
                                      warmup=False)
    extra = os.path.join(version, export.EXTRA_DIR)
    assert warmup.WARMUP_FILE not in os.listdir(extra)
    with open(os.path.join(extra, export.EXPORT_INFO_FILE)) as handle:
        assert json.load(handle)["warmup_requests"] is None
