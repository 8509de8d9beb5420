"""gi-app under hostile input and load (issue 12, cases 6 and 7).

* the hostile-input list as the page receives it (the image editor's value): each is an
  ``InputError`` with a sentence for the page before any network runs, or a documented
  conversion;
* the real page, served by Gradio and driven with ``gradio_client`` (no browser): 8
  requests sent at once are queued (the handler never runs twice at the same time) and
  each gets its own result; a decompression bomb uploaded past the browser is refused
  before it is decoded, with a message, and the page keeps serving.
"""

import os
import socket
import threading
import time

import cv2
import numpy as np
import pytest

from gi_tf.app import logic
from gi_tf.app.logic import AppConfig
from gi_tf.app.logic import InputError

from hostile_files import RGBA
from hostile_files import png_declaring


def _rgba(height, width, seed=0, alpha=255):
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return np.dstack([rgb, np.full((height, width), alpha, np.uint8)])


def _layer(height, width, alpha=255):
    layer = np.zeros((height, width, 4), np.uint8)
    layer[height // 4: height // 2, width // 4: width // 2] = (255, 0, 255, alpha)
    return layer


def _value(background, layers=None):
    shape = np.shape(background)[:2] if background is not None else (8, 8)
    return {"background": background,
            "layers": [_layer(*shape)] if layers is None else layers, "composite": None}


class RecordingInpainter:
    """Fills holes with 7; counts calls and the most calls that were running at once."""

    def __init__(self, seconds=0.0):
        self.seconds, self.calls, self.running, self.peak = seconds, 0, 0, 0
        self.lock = threading.Lock()

    def inpaint(self, image, mask, **kwargs):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return np.where(mask[..., None], np.uint8(7), image), np.full(image.shape, 255, np.uint8)


# editor value -> words of the InputError
REFUSED = {
    "no image": (_value(None), "No image yet"),
    "not a dict": ("data:image/png;base64,AAAA", "not an image"),
    "zero height": (_value(np.zeros((0, 16, 4), np.uint8), []), "No image yet"),
    "zero width": (_value(np.zeros((16, 0, 4), np.uint8), []), "No image yet"),
    "1x1 image": (_value(_rgba(1, 1)), "No image yet"),  # one flat colour: nothing to borrow
    "two channels": (_value(_rgba(16, 16)[..., :2]), "not an image the page can use"),
    "float image": (_value(_rgba(16, 16).astype(np.float32)), "unsupported pixel format"),
    "NaN image": (_value(np.full((16, 16, 4), np.nan, np.float32)), "unsupported pixel format"),
    "layer of another size": (_value(_rgba(16, 16), [_layer(16, 15)]), "clear the editor"),
    "layer without alpha": (_value(_rgba(16, 16), [_layer(16, 16)[..., :3]]),
                            "has no transparency"),
    "nothing painted": (_value(_rgba(16, 16), []), "Nothing is painted"),
    "everything painted": (_value(_rgba(16, 16), [np.full((16, 16, 4), 255, np.uint8)]),
                           "The whole image is painted"),
    "above max_pixels": (_value(_rgba(16, 17)), "too large for this page \\(17x16 = "),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_editor_values_get_a_sentence_and_never_reach_the_network(case):
    value, words = REFUSED[case]
    inpainter = RecordingInpainter()
    with pytest.raises(InputError, match=words):
        logic.handle_request(inpainter, value, AppConfig(max_pixels=16 * 16))
    assert inpainter.calls == 0


def test_documented_conversions_of_the_editor_value():
    inpainter = RecordingInpainter()
    grey = _rgba(16, 16)[..., 0]
    outcome = logic.handle_request(inpainter, _value(grey), AppConfig())
    np.testing.assert_array_equal(outcome.result[~outcome.holes],
                                  np.repeat(grey[..., None], 3, -1)[~outcome.holes])
    faint = _layer(16, 16, alpha=1)  # any opacity is a hole (anti-aliased stroke edges)
    assert logic.handle_request(inpainter, _value(_rgba(16, 16), [faint]),
                                AppConfig()).holes.sum() == 16
    half = logic.handle_request(inpainter, _value(_rgba(16, 16, alpha=128)), AppConfig())
    assert "transparent parts" in half.status  # composited on white


# -- the served page -----------------------------------------------------------------------------


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served_page(tmp_path_factory):
    """``(gradio_client.Client, RecordingInpainter)`` of the real page on a free port."""
    pytest.importorskip("gradio", reason="gi-app needs gradio (pip install -e '.[test]')")
    from gradio_client import Client

    from gi_tf.app.served_model import ServedModel
    from gi_tf.app.page import build_app
    from gi_tf.app.page import launch

    inpainter = RecordingInpainter(seconds=0.1)
    page = build_app(ServedModel(inpainter, kind="checkpoint", source="recording"),
                     AppConfig(), work_dir=str(tmp_path_factory.mktemp("gi_app")))
    port = _free_port()
    launch(page, host="127.0.0.1", port=port, block=False)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False), inpainter
    finally:
        page.close()


def _upload(client_value_dir, name, rgba):
    path = os.path.join(client_value_dir, name)
    assert cv2.imwrite(path, rgba[..., [2, 1, 0, 3]])
    return path


def _editor_payload(background_path, layer_path):
    from gradio_client import handle_file

    return {"background": handle_file(background_path), "layers": [handle_file(layer_path)],
            "composite": None, "id": None}


@pytest.mark.e2e  # the real page on a port
def test_concurrent_requests_are_queued_and_each_gets_its_own_result(served_page, tmp_path):
    client, inpainter = served_page
    calls_before = inpainter.calls
    layer = _upload(str(tmp_path), "layer.png", _layer(24, 32))
    backgrounds = [_rgba(24, 32, seed=100 + i) for i in range(8)]
    jobs = [client.submit(_editor_payload(_upload(str(tmp_path), f"bg{i}.png", background),
                                          layer), api_name="/inpaint")
            for i, background in enumerate(backgrounds)]
    holes = _layer(24, 32)[..., 3] > 0
    for background, job in zip(backgrounds, jobs):
        result_path, _, _, status = job.result(timeout=300)
        result = cv2.imread(result_path, cv2.IMREAD_COLOR)[..., ::-1]
        expected = np.where(holes[..., None], np.uint8(7), background[..., :3])
        np.testing.assert_array_equal(result, expected)
        assert status.startswith(f"Filled {holes.sum()} pixels")
    assert inpainter.calls - calls_before == 8 and inpainter.peak == 1


@pytest.mark.e2e  # the real page on a port
def test_a_decompression_bomb_upload_is_refused_with_a_message(served_page, tmp_path):
    client, inpainter = served_page
    calls_before = inpainter.calls
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(20000, 20000, rows_of_zeros=1, colour_type=RGBA))  # 400 MP, 1.6 GB as RGBA
    layer = _upload(str(tmp_path), "layer.png", _layer(24, 32))
    start = time.monotonic()
    with pytest.raises(Exception, match="too large for this page.*400000000 pixels"):
        client.predict(_editor_payload(str(bomb), layer), api_name="/inpaint")
    assert time.monotonic() - start < 60 and inpainter.calls == calls_before
    # ... and the page still answers.
    background = _upload(str(tmp_path), "bg.png", _rgba(24, 32))
    assert client.predict(_editor_payload(background, layer),
                          api_name="/inpaint")[3].startswith("Filled")
