"""Hostile inputs, damaged files and concurrency against one exported SavedModel.

* every signature gets the table of hostile inputs (issue 12, case 6): each is an
  ``InvalidArgumentError`` with a sentence, or a documented conversion whose result is
  checked; never a crash, a hang or an out-of-memory kill (decompression bombs are
  refused from their header, before decoding). The whole table runs on the signatures'
  bodies before the network (fast tier) and through the exported SavedModel (``e2e``:
  seconds per call; one case per signature is in the fast tier too);
* the same list through ``Inpainter.inpaint`` (arrays: ``TypeError``/``ValueError``);
* a SavedModel with a deleted or truncated variables file, or without its graph, says
  what is wrong and where (case 5);
* 8 threads calling the loaded model with different inputs get exactly the serial
  results (case 7);
* gi-export killed with SIGKILL while it writes the version leaves no version directory
  TF Serving would load half-written, and the next export gets the next number (case 2);
  an export whose writes fail says so and leaves nothing (case 4).

The generator is a seeded, untrained one (the numbers do not matter, only that they are
right). The hostile inputs, damaged copies and threads use the session's shared export
(``shared_export``, tests/conftest.py); the killed gi-export (an ``e2e`` test: a
subprocess killed at a seeded moment) is followed by an export of the same checkpoint
into the same base directory, which must get the next version number.
"""

import glob
import os
import shutil
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from gi_tf.cli import export as export_cli
from gi_tf.inference import export
from gi_tf.inference import preprocessing
from gi_tf.inference.inpainter import Inpainter
from gi_tf.models.checkpoints import checkpoint_problem
from gi_tf.models.checkpoints import load_generator
from gi_tf.models.config import ModelConfig
from gi_tf.utils import files
from gi_tf.utils.image_io import ImageTooLargeError

import shared_artifacts
from hostile_files import png_declaring

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SIZE = 24
LIMIT_MESSAGE = "more than the limit of 50000000 pixels"


@pytest.fixture(scope="module")
def checkpoint(shared_checkpoint):
    return shared_artifacts.checkpoint_prefix(shared_checkpoint)


def _kill_an_export(checkpoint, base):
    """gi-export SIGKILLed at a seeded moment once it writes the variables of version 1.

    Returns ``(exit code, entries of the base after the kill)``.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "gi_tf.cli.export", f"--checkpoint={checkpoint}",
         f"--export_dir={base}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=REPO_ROOT)
    deadline = time.monotonic() + 300
    try:
        while (process.poll() is None and time.monotonic() < deadline
               and not glob.glob(os.path.join(base, ".1.tmp-*", "variables", "*"))):
            time.sleep(0.001)
        time.sleep(np.random.default_rng(1).uniform(0.0, 0.3))
        process.kill()
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return code, sorted(os.listdir(base))


@pytest.fixture(scope="module")
def version_dir(shared_export):
    return os.path.join(shared_export, "1")


@pytest.fixture(scope="module")
def served(shared_served):
    """The shared export loaded once per worker (``shared_served``, tests/conftest.py)."""
    return shared_served


@pytest.fixture(scope="module")
def signatures(served):
    return served.saved_model.signatures


def _image(height=SIZE, width=SIZE, seed=0, batch=None):
    shape = (height, width, 3) if batch is None else (batch, height, width, 3)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _mask(height=SIZE, width=SIZE, batch=None, value=255):
    mask = np.zeros((height, width, 1), np.uint8)
    mask[height // 4: height // 2, width // 4: width // 2] = value
    return mask if batch is None else np.repeat(mask[None], batch, axis=0)


def _png(array):
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] in (3, 4):  # RGB(A) -> OpenCV's BGR(A)
        array = np.concatenate([array[..., 2::-1], array[..., 3:]], axis=-1)
    ok, data = cv2.imencode(".png", array)
    assert ok
    return data.tobytes()


def _decode_png(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]


def _u8(image, mask):
    return "serving_default", dict(image=tf.constant(image), mask=tf.constant(mask))


def _f32(image, mask):
    return "inpaint_float", dict(image=tf.constant(image, tf.float32),
                                 mask=tf.constant(mask, tf.float32))


def _enc(images, masks):
    return "inpaint_encoded", dict(image_bytes=tf.constant(images, tf.string),
                                   mask_bytes=tf.constant(masks, tf.string))


FLOAT_IMAGE = _image(batch=1).astype(np.float32) / 127.5 - 1
FLOAT_MASK = _mask(batch=1).astype(np.float32) / 255
PNG_IMAGE, PNG_MASK = _png(_image()), _png(_mask()[..., 0])

# name -> (signature and inputs, words of the InvalidArgumentError message)
REFUSED = {
    "u8 batch mismatch": (_u8(_image(batch=2), _mask(batch=1)), "same batch size"),
    "u8 height mismatch": (_u8(_image(batch=1), _mask(SIZE - 1, batch=1)), "same batch size"),
    "u8 zero height": (_u8(_image(0, batch=1), _mask(0, batch=1)), "at least 1"),
    "u8 zero width": (_u8(_image(SIZE, 0, batch=1), _mask(SIZE, 0, batch=1)), "at least 1"),
    "u8 empty batch": (_u8(_image(batch=0), _mask(batch=0)), "the batch is empty"),
    "u8 1x1 hole": (_u8(_image(1, 1, batch=1), _mask(1, 1, batch=1) + 255),
                    "mask covers the whole image"),
    "float batch mismatch": (_f32(np.repeat(FLOAT_IMAGE, 2, 0), FLOAT_MASK), "same batch size"),
    "float width mismatch": (_f32(FLOAT_IMAGE, FLOAT_MASK[:, :, 1:]), "same batch size"),
    "float zero height": (_f32(FLOAT_IMAGE[:, :0], FLOAT_MASK[:, :0]), "at least 1"),
    "float image above 1": (_f32(FLOAT_IMAGE * 2, FLOAT_MASK), "image values must be in"),
    "float image NaN": (_f32(np.where(FLOAT_MASK > 0, np.nan, FLOAT_IMAGE), FLOAT_MASK),
                        "image values must be in"),
    "float mask 0..255": (_f32(FLOAT_IMAGE, FLOAT_MASK * 255), "mask values must be in"),
    "float mask NaN": (_f32(FLOAT_IMAGE, FLOAT_MASK * np.nan), "mask values must be in"),
    "encoded length mismatch": (_enc([PNG_IMAGE] * 2, [PNG_MASK]), "same length"),
    "encoded size mismatch": (_enc([PNG_IMAGE], [_png(_mask(SIZE, SIZE - 2)[..., 0])]),
                              "same batch size, height and width"),
    "encoded empty string": (_enc([b""], [PNG_MASK]), "[Ii]nput is empty"),
    "encoded empty mask": (_enc([PNG_IMAGE], [b""]), "[Ii]nput is empty"),
    "encoded truncated png": (_enc([PNG_IMAGE[: len(PNG_IMAGE) // 2]], [PNG_MASK]),
                              "Invalid PNG data"),
    "encoded jpeg that is not an image": (_enc([b"\xff\xd8\xff\xe0" + b"x" * 200], [PNG_MASK]),
                                          "JPEG"),
    "encoded text": (_enc([b"hello, this is no image"], [PNG_MASK]), "Unknown image file"),
    "encoded png declaring 50000x50000": (_enc([png_declaring(50000, 50000)], [PNG_MASK]),
                                          "50000x50000 pixels .*" + LIMIT_MESSAGE),
    # 8000 x 8000 zeros: a valid 200 KB file that decodes to 192 MB (built when run)
    "encoded png bomb 8000x8000": (lambda: _enc([png_declaring(8000, 8000, 8000)], [PNG_MASK]),
                                   "8000x8000 pixels .*" + LIMIT_MESSAGE),
    "encoded mask bomb": (_enc([PNG_IMAGE], [png_declaring(9000, 9000)]),
                          "9000x9000 pixels .*" + LIMIT_MESSAGE),
    "encoded full mask": (_enc([PNG_IMAGE], [_png(np.full((SIZE, SIZE), 255, np.uint8))]),
                          "mask covers the whole image"),
}


# Through the SavedModel each call costs seconds (the runtime optimises the whole graph for
# each new input shape), so the fast tier runs the whole table on the signatures' bodies
# (the preprocessing functions, eagerly, with a generator that must never run) and one
# case per signature through the shared export; the whole table through the export is e2e.
THROUGH_THE_EXPORT_IN_THE_FAST_TIER = ("u8 batch mismatch", "float image NaN",
                                       "encoded png bomb 8000x8000")
SIGNATURE_BODIES = {"serving_default": preprocessing.inpaint_uint8,
                    "inpaint_float": preprocessing.inpaint_float,
                    "inpaint_encoded": preprocessing.inpaint_encoded}


class NetworkThatMustNotRun:
    """A stand-in generator: a refused request never reaches the network."""

    def __call__(self, *args, **kwargs):
        raise AssertionError("the network ran")

    def __getattr__(self, name):
        raise AssertionError(f"the network was consulted ({name})")


def _export_cases():
    return [pytest.param(case, marks=() if case in THROUGH_THE_EXPORT_IN_THE_FAST_TIER
                         else pytest.mark.e2e) for case in sorted(REFUSED)]


@pytest.mark.parametrize("case", _export_cases())
def test_hostile_inputs_are_invalid_argument_errors_with_a_sentence(case, signatures):
    request, words = REFUSED[case]
    key, inputs = request() if callable(request) else request
    with pytest.raises(tf.errors.InvalidArgumentError, match=words):
        signatures[key](**inputs)


def test_the_fast_tier_calls_each_signature_through_the_export():
    keys = {REFUSED[case][0][0] for case in THROUGH_THE_EXPORT_IN_THE_FAST_TIER
            if not callable(REFUSED[case][0])}
    keys |= {REFUSED[case][0]()[0] for case in THROUGH_THE_EXPORT_IN_THE_FAST_TIER
             if callable(REFUSED[case][0])}
    assert keys == set(SIGNATURE_BODIES)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_inputs_are_refused_by_the_signature_bodies_before_the_network(case):
    request, words = REFUSED[case]
    key, inputs = request() if callable(request) else request
    with pytest.raises(tf.errors.InvalidArgumentError, match=words):
        SIGNATURE_BODIES[key](NetworkThatMustNotRun(), **inputs)


# Wrong channel counts do not reach the graph: the signature's [N, H, W, 3] / [..., 1]
# input specs refuse them where the request is bound (TF Serving answers the same).
WRONG_SHAPE = {
    "u8 grey image": _u8(_image(batch=1)[..., :1], _mask(batch=1)),
    "u8 RGBA image": _u8(np.concatenate([_image(batch=1)] * 2, -1)[..., :4], _mask(batch=1)),
    "u8 RGB mask": _u8(_image(batch=1), np.repeat(_mask(batch=1), 3, -1)),
    "u8 3-d image": _u8(_image(), _mask()),
    "float grey image": _f32(FLOAT_IMAGE[..., :1], FLOAT_MASK),
    "encoded 2-d batch": _enc([[PNG_IMAGE]], [[PNG_MASK]]),
}


@pytest.mark.parametrize("case", [  # seconds per call: one in the fast tier, all in e2e
    pytest.param(case, marks=() if case == "u8 grey image" else pytest.mark.e2e)
    for case in sorted(WRONG_SHAPE)])
def test_wrong_channels_or_ranks_are_refused_where_the_request_is_bound(case, signatures):
    key, inputs = WRONG_SHAPE[case]
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError),
                       match="[Ss]hape|[Ss]pec"):
        signatures[key](**inputs)


def _serve(signatures, image, mask):
    out = signatures["serving_default"](image=tf.constant(image), mask=tf.constant(mask))
    return out["inpainted"].numpy(), out["attention"].numpy()


def test_documented_conversions(signatures):
    image, mask = _image(batch=1), _mask(batch=1)
    expected = _serve(signatures, image, mask)[0]
    # uint8 masks: >= 128 is a hole, whatever the value; 127 is not
    np.testing.assert_array_equal(_serve(signatures, image, mask // 255 * 128)[0], expected)
    unchanged = _serve(signatures, image, mask // 255 * 127)
    np.testing.assert_array_equal(unchanged[0], image)
    assert (unchanged[1] == 255).all()  # no hole: white attention map
    # 1x1 and 1x2 images: mirror-padded to 8x8, known pixels kept
    tiny = _image(1, 2, batch=1)
    result = _serve(signatures, tiny, np.array([[[[255], [0]]]], np.uint8))[0]
    assert result.shape == (1, 1, 2, 3) and (result[0, 0, 1] == tiny[0, 0, 1]).all()
    np.testing.assert_array_equal(_serve(signatures, tiny[:, :, :1], _mask(1, 1, 1) * 0)[0],
                                  tiny[:, :, :1])
    # float masks: > 0.5 is a hole
    float_out = signatures["inpaint_float"](
        image=tf.constant(image / 127.5 - 1, tf.float32),
        mask=tf.constant(mask / 255 * 0.51, tf.float32))["inpainted"].numpy()
    holes = mask[0, ..., 0] > 0
    assert np.abs(float_out[0][~holes] - (image[0][~holes] / 127.5 - 1)).max() < 1e-6
    np.testing.assert_array_equal(
        np.clip((float_out[0][holes] + 1) * 127.5, 0, 255).astype(np.uint8), expected[0][holes])
    # encoded: grey -> RGB, alpha dropped, 16 bits -> the top byte, mixed sizes per instance
    grey = _image()[..., :1]
    encode = signatures["inpaint_encoded"]

    def encoded(image_bytes, mask_array):
        out = encode(image_bytes=tf.constant([image_bytes]),
                     mask_bytes=tf.constant([_png(mask_array[..., 0])]))
        return _decode_png(out["inpainted_bytes"][0].numpy())

    np.testing.assert_array_equal(encoded(_png(grey[..., 0]), _mask()),
                                  _serve(signatures, np.repeat(grey, 3, -1)[None],
                                         mask)[0][0])
    np.testing.assert_array_equal(encoded(_png(np.dstack([image[0], grey])), _mask()),
                                  expected[0])
    wide = image[0].astype(np.uint16) * 256 + 200  # top byte = the 8-bit image
    np.testing.assert_array_equal(encoded(_png(wide), _mask()), expected[0])
    small, large = _image(16, 40, seed=1), _image(32, 24, seed=2)
    out = encode(image_bytes=tf.constant([_png(small), _png(large)]),
                 mask_bytes=tf.constant([_png(_mask(16, 40)[..., 0]),
                                         _png(_mask(32, 24)[..., 0])]))
    assert [_decode_png(b.numpy()).shape for b in out["inpainted_bytes"]] == [
        (16, 40, 3), (32, 24, 3)]
    empty = encode(image_bytes=tf.constant([], tf.string), mask_bytes=tf.constant([], tf.string))
    assert empty["inpainted_bytes"].shape == (0,)


def test_the_pixel_limit_is_a_parameter_recorded_at_export(version_dir):
    import json

    with open(os.path.join(version_dir, export.EXTRA_DIR, export.EXPORT_INFO_FILE)) as f:
        assert json.load(f)["max_pixels"] == 50_000_000
    limit = SIZE * SIZE - 1
    words = f"{SIZE}x{SIZE} pixels .*limit of {limit} pixels"

    def untouched(*args, **kwargs):
        raise AssertionError("the network ran")

    for run in (lambda: preprocessing.inpaint_uint8(untouched, _image(batch=1),
                                                    _mask(batch=1), max_pixels=limit),
                lambda: preprocessing.inpaint_float(untouched, FLOAT_IMAGE, FLOAT_MASK,
                                                    max_pixels=limit),
                lambda: preprocessing.decode_image(PNG_IMAGE, max_pixels=limit)):
        with pytest.raises(tf.errors.InvalidArgumentError, match=words):
            run()
    assert preprocessing.decode_image(PNG_IMAGE, max_pixels=limit + 1).shape == (SIZE, SIZE, 3)


# -- the same list through Inpainter.inpaint (NumPy arrays) -------------------------------


INPAINTER_CASES = {
    "batch mismatch": ((_image(batch=2), _mask(batch=3)), ValueError, "does not fit"),
    "height mismatch": ((_image(), _mask(SIZE - 1)), ValueError, "does not fit"),
    "zero height": ((_image(0), _mask(0)), ValueError, "must not be empty"),
    "empty batch": ((_image(batch=0), _mask(batch=0)), ValueError, "must not be empty"),
    "1x1 hole": ((_image(1, 1), _mask(1, 1) + 255), ValueError, "covers the whole image"),
    "grey image": ((_image()[..., :1], _mask()), ValueError, "RGB"),
    "RGBA image": ((np.dstack([_image(), _mask()]), _mask()), ValueError, "RGB"),
    "float image": ((_image() / 255.0, _mask()), TypeError, "uint8"),
    "float mask 0..255": ((_image(), _mask().astype(np.float32)), ValueError,
                          r"float mask must hold values in \[0, 1\]"),
    "int64 mask": ((_image(), _mask().astype(np.int64)), TypeError, "bool .* uint8 .* float"),
    "encoded bytes": ((PNG_IMAGE, _mask()), TypeError, "read_image"),
    "a path": (("photo.png", _mask()), TypeError, "read_image"),
}


@pytest.mark.parametrize("case", sorted(INPAINTER_CASES))
def test_hostile_arrays_through_the_inpainter(case, served):
    args, error, words = INPAINTER_CASES[case]
    with pytest.raises(error, match=words):
        served.inpaint(*args)


def test_the_inpainters_pixel_limit_runs_nothing():
    calls = []
    inpainter = Inpainter(lambda image, mask: calls.append(image), max_pixels=SIZE * SIZE - 1)
    with pytest.raises(ImageTooLargeError, match=f"image is {SIZE}x{SIZE} .* above the limit"):
        inpainter.inpaint(_image(), _mask())
    assert calls == []


# -- damaged SavedModels (case 5) -----------------------------------------------------------


def _damaged_copy(version_dir, tmp_path, damage):
    copy = str(tmp_path / "models" / "7")
    shutil.copytree(version_dir, copy)
    variables = os.path.join(copy, "variables")
    if damage == "deleted variables data":
        (name,) = [n for n in os.listdir(variables) if ".data-" in n]
        os.remove(os.path.join(variables, name))
    elif damage == "truncated variables data":
        (name,) = [n for n in os.listdir(variables) if ".data-" in n]
        path = os.path.join(variables, name)
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) // 3)
    return copy


@pytest.mark.parametrize("damage", ["deleted variables data", "truncated variables data"])
def test_a_damaged_saved_model_says_what_is_wrong_and_where(damage, version_dir, tmp_path):
    copy = _damaged_copy(version_dir, tmp_path, damage)
    with pytest.raises(ValueError, match=f"SavedModel '{copy}' cannot be loaded: .*variables"):
        Inpainter.open(os.path.dirname(copy))  # an export base, as gi-inpaint / gi-app take


def test_a_saved_model_without_its_graph_is_not_a_model(version_dir, tmp_path):
    copy = _damaged_copy(version_dir, tmp_path, None)
    os.remove(os.path.join(copy, "saved_model.pb"))
    with pytest.raises(FileNotFoundError, match=f"No SavedModel at '{copy}'"):
        Inpainter.load(copy)


# -- killed and failing exports (cases 2 and 4) -----------------------------------------------


@pytest.mark.e2e
def test_a_killed_export_leaves_no_half_version_and_the_next_export_gets_the_next(
        checkpoint, tmp_path):
    base = str(tmp_path / "models" / "gi_tf")
    code, after_kill = _kill_an_export(checkpoint, base)
    versions = [name for name in after_kill if name.isdigit()]
    assert code == -9 or versions == ["1"], (code, after_kill)  # killed, or it had finished
    for name in versions:  # a published version is complete
        assert os.path.isfile(os.path.join(base, name, "saved_model.pb"))
        assert checkpoint_problem(os.path.join(base, name, "variables", "variables")) is None
    assert all(files.is_temporary(n) for n in after_kill if not n.isdigit())  # hidden
    generator = load_generator(checkpoint)[0]
    version_dir = export.export_generator(generator, ModelConfig(), base)
    assert version_dir == os.path.join(base, str(len(versions) + 1))
    assert Inpainter.load(version_dir).saved_model.signatures  # the next export loads


def test_an_export_whose_writes_fail_says_so_and_leaves_nothing(checkpoint, tmp_path,
                                                                monkeypatch, capsys):
    def disk_fills(generator, directory, *limits):
        with tf.io.gfile.GFile(os.path.join(directory, "saved_model.pb"), "wb") as handle:
            handle.write(b"half a graph")
        raise tf.errors.ResourceExhaustedError(None, None, f"{directory}/variables/variables"
                                               ".data-00000-of-00001: No space left on device")

    monkeypatch.setattr(export, "save_archive", disk_fills)
    base = tmp_path / "models"
    values = flags.FlagValues()
    export_cli.define_flags(values)
    values(["gi-export", f"--checkpoint={checkpoint}", f"--export_dir={base}"])
    with pytest.raises(SystemExit, match=f"gi-export: error: cannot write {base}/1: No space "
                       "left on device \\(writing the SavedModel\\)"):
        export_cli.main(["gi-export"], values)
    assert os.listdir(base) == []  # neither the version nor the staging directory


# -- concurrency (case 7) ---------------------------------------------------------------------


def test_eight_threads_get_the_serial_results(served, signatures):
    requests = [(_image(16 + 8 * (i % 3), 24 + 4 * (i % 2), seed=10 + i, batch=1),
                 _mask(16 + 8 * (i % 3), 24 + 4 * (i % 2), batch=1)) for i in range(8)]
    serial = [_serve(signatures, *request) for request in requests]
    serial_inpainter = [served.inpaint(image[0], mask[0]) for image, mask in requests]
    results, errors = [None] * 8, []
    start = threading.Barrier(8)

    def worker(index):
        try:
            start.wait()
            for _ in range(3):  # overlapping calls, each must get its own answer
                image, mask = requests[index]
                results[index] = (_serve(signatures, image, mask),
                                  served.inpaint(image[0], mask[0]))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and all(not t.is_alive() for t in threads)
    for index in range(8):
        (inpainted, attention), from_inpainter = results[index]
        np.testing.assert_array_equal(inpainted, serial[index][0])
        np.testing.assert_array_equal(attention, serial[index][1])
        np.testing.assert_array_equal(from_inpainter, serial_inpainter[index])
