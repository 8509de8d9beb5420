"""Tests for gi_tf.app.page's event handler, with a stand-in for the ``gradio`` module.

The real page is exercised in a browser by tests/app/test_browser.py; here the handler's
three outcomes are checked without Gradio: a result (written as a PNG for download), a
user error (message, no exception) and an unexpected error (summary, no exception).
"""

import types

import numpy as np

from gi_tf.app import page as app
from gi_tf.app.logic import AppConfig
from gi_tf.utils.image_io import read_image


def _fake_gradio():
    warnings = []
    fake = types.SimpleNamespace(
        Warning=warnings.append,
        DownloadButton=lambda value=None, interactive=True: ("download", value, interactive))
    return fake, warnings


class _Inpainter:
    def __init__(self, error=None):
        self.error = error

    def inpaint(self, image, mask, **kwargs):
        if self.error:
            raise self.error
        return np.where(mask[..., None], np.uint8(9), image), np.full(image.shape, 255, np.uint8)


def _value():
    background = np.zeros((8, 8, 4), np.uint8)
    background[..., 0] = np.arange(8)
    background[..., 3] = 255
    layer = np.zeros((8, 8, 4), np.uint8)
    layer[2:4, 2:6, 3] = 255
    return {"background": background, "layers": [layer], "composite": None}


def test_handler_returns_result_attention_download_and_status(tmp_path):
    gr, warnings = _fake_gradio()
    handler = app.make_handler(gr, _Inpainter(), AppConfig(), str(tmp_path))
    result, attention, download, status = handler(_value())
    assert warnings == [] and status.startswith("Filled 8 pixels")
    kind, path, interactive = download
    assert kind == "download" and interactive and path.endswith("inpainted.png")
    np.testing.assert_array_equal(read_image(path), result)
    assert (result[2:4, 2:6] == 9).all() and attention.shape == (8, 8, 3)


def test_handler_turns_user_errors_into_a_message(tmp_path):
    gr, warnings = _fake_gradio()
    handler = app.make_handler(gr, _Inpainter(), AppConfig(), str(tmp_path))
    value = _value()
    value["layers"] = []
    result, attention, download, status = handler(value)
    assert (result, attention, download) == (None, None, ("download", None, False))
    assert warnings == [status[2:].strip()] and "Nothing is painted" in status


def test_handler_summarises_unexpected_errors(tmp_path):
    gr, warnings = _fake_gradio()
    handler = app.make_handler(gr, _Inpainter(RuntimeError("out of memory")), AppConfig(),
                               str(tmp_path))
    result, _, _, status = handler(_value())
    assert result is None
    assert "Inpainting failed (RuntimeError: out of memory)" in status and len(warnings) == 1
