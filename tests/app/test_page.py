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
    result_path, attention_path, download, status = handler(_value())
    assert warnings == [] and status.startswith("Filled 8 pixels")
    kind, path, interactive = download
    assert kind == "download" and interactive and path == result_path
    assert path.endswith("inpainted.png") and attention_path.endswith("attention.png")
    result, attention = read_image(result_path), read_image(attention_path)
    expected = np.zeros((8, 8, 3), np.uint8)
    expected[..., 0] = np.arange(8)
    expected[2:4, 2:6] = 9
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(attention, np.full((8, 8, 3), 255, np.uint8))


def test_each_request_gets_its_own_files_and_earlier_ones_stay_whole(tmp_path):
    # Two identical requests (two users, one photo): the first answer's files must survive
    # the second, byte for byte, while a browser may still be downloading them.
    gr, _ = _fake_gradio()
    handler = app.make_handler(gr, _Inpainter(), AppConfig(), str(tmp_path))
    first = handler(_value())[:2]
    before = [open(path, "rb").read() for path in first]
    second = handler(_value())[:2]
    assert set(first).isdisjoint(second)
    assert [open(path, "rb").read() for path in first] == before
    assert [open(path, "rb").read() for path in second] == before


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
