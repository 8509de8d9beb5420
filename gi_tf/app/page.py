"""The ``gi-app`` page: paint a hole, see the fill and where it was borrowed from.

Built with Gradio (the optional ``[app]`` extra; the rest of gi_tf never imports it).
This module only lays out the page and wires events; what a request does lives in
:mod:`gi_tf.app.logic` (pure NumPy, tested without a browser), which model is served in
:mod:`gi_tf.app.served_model`, and the example gallery in :mod:`gi_tf.app.examples`.

Layout::

    title, how-to, model banner (warning when the model is untrained or a quickstart)
    [image editor: upload / example, brush = hole]  |  [result image] [download button]
    [Inpaint button]                                |  [attention map] [legend + key]
    [examples]                                      |
    status line (what was filled, how, or what is wrong with the request)

Problems a user can cause (no image, nothing painted, everything painted, a huge image,
an upload that is not an image) come back as a toast and a status line, never as a
stack trace; unexpected errors are logged in full on the server and summarised on the
page. Uploads far above ``--max_pixels`` are refused before they are decoded
(:func:`guard_decoding`). Requests are queued and run one at a time (``concurrency_limit=1``;
tests/app/test_faults.py sends 8 at once), each answered with its own result.
"""

import logging
import os
import tempfile

from gi_tf.app.examples import write_examples
from gi_tf.app.logic import AppConfig
from gi_tf.app.logic import InputError
from gi_tf.app.logic import handle_request
from gi_tf.utils import files
from gi_tf.utils.image_io import write_image_atomic
from gi_tf.utils.visualize import ATTENTION_LEGEND
from gi_tf.utils.visualize import legend_image

LEGEND_SIZE = 121
BRUSH_COLOUR = "#ff00ff"  # only for display: the hole is wherever the brush layer is opaque
SYSTEM_FONTS = ("ui-sans-serif", "system-ui", "sans-serif")  # no web-font download
MONO_FONTS = ("ui-monospace", "monospace")
IMAGE_BUTTONS = ("download", "fullscreen")

INTRO = """# DeepFill v1 inpainting (gi_tf)
Upload an image or pick an example, paint over what should go with the brush, press
**Inpaint**. The hole is filled from the rest of the image; the attention map shows
where each filled pixel was borrowed from."""

LEGEND_TEXT = "**Reading the attention map.** " + ATTENTION_LEGEND

_log = logging.getLogger(__name__)


def import_gradio():
    """Gradio, or an ImportError saying how to install it."""
    try:
        # lazy: optional dependency (the [app] extra)
        import gradio
    except ImportError as err:
        raise ImportError("gi-app needs Gradio, an optional dependency: "
                          "pip install 'gi_tf[app]'") from err
    return gradio


def write_outputs(outcome, directory):
    """Write ``inpainted.png`` and ``attention.png`` in a fresh folder under ``directory``.

    The page hands Gradio these paths, not arrays: Gradio caches an array under the hash
    of its PNG and rewrites that file in place on every request, so two requests with the
    same picture (two users, one photo) could truncate the file while the first one's
    browser downloads it. A path is copied into Gradio's cache once, atomically.

    Returns:
        ``(result_path, attention_path)``.
    """
    folder = tempfile.mkdtemp(prefix="result-", dir=directory)
    return (write_image_atomic(os.path.join(folder, "inpainted.png"), outcome.result),
            write_image_atomic(os.path.join(folder, "attention.png"), outcome.attention))


def make_handler(gr, inpainter, config, output_dir):
    """The Inpaint button's function: editor value -> (result, attention, download, status).

    The result and the attention map come back as PNG paths (:func:`write_outputs`); the
    download button offers the result's.
    """

    def inpaint(value):
        try:
            outcome = handle_request(inpainter, value, config)
            result_path, attention_path = write_outputs(outcome, output_dir)
        except InputError as err:
            gr.Warning(str(err))
            return None, None, gr.DownloadButton(value=None, interactive=False), f"⚠️ {err}"
        except Exception as err:  # pylint: disable=broad-except
            _log.exception("gi-app: inpainting failed")
            message = (f"Inpainting failed ({type(err).__name__}: {err}). The server's log "
                       "has the details.")
            gr.Warning(message)
            return None, None, gr.DownloadButton(value=None, interactive=False), f"⚠️ {message}"
        return (result_path, attention_path,
                gr.DownloadButton(value=result_path, interactive=True), outcome.status)

    return inpaint


def guard_decoding(gr, editor, max_pixels):
    """Bound what decoding an upload costs: Gradio decodes the editor's images with PIL.

    PIL reads the size from the header and refuses (``DecompressionBombError``) an image
    above twice ``PIL.Image.MAX_IMAGE_PIXELS`` before decoding it; that bound is set to
    ``max_pixels`` (so nothing above 2x the page's limit is decoded; between 1x and 2x
    the image is decoded and :func:`gi_tf.app.logic.check_request` refuses it), and the
    refusal becomes the page's message (``gr.Error``) instead of a bare "Error".
    """
    # lazy: installed with Gradio (the [app] extra)
    import PIL.Image

    PIL.Image.MAX_IMAGE_PIXELS = max_pixels
    preprocess = editor.preprocess

    def guarded(payload):
        try:
            return preprocess(payload)
        except PIL.Image.DecompressionBombError as err:
            raise gr.Error(f"The image is too large for this page: {err} (the limit is "
                           f"{max_pixels / 1e6:.1f} megapixels). Downscale it first, or use "
                           "gi-inpaint.") from err

    editor.preprocess = guarded


def build_app(served, config=AppConfig(), work_dir=None):
    """The page as a ``gr.Blocks`` (not launched).

    Args:
        served: a :class:`gi_tf.app.served_model.ServedModel`.
        config: :class:`gi_tf.app.logic.AppConfig`.
        work_dir: folder for example images and downloadable results (a new temporary
            folder by default).
    """
    gr = import_gradio()
    config.validate()
    work_dir = work_dir or tempfile.mkdtemp(prefix="gi_app_")
    examples = write_examples(os.path.join(work_dir, "examples"))
    output_dir = files.makedirs(os.path.join(work_dir, "results"))

    with gr.Blocks(title="gi_tf inpainting", analytics_enabled=False) as page:
        gr.Markdown(INTRO)
        gr.Markdown(served.banner(), elem_id="model-banner")
        with gr.Row():
            with gr.Column():
                editor = gr.ImageEditor(
                    label="Image (the brush paints the hole)", type="numpy",
                    image_mode="RGBA", sources=("upload", "clipboard"), format="png",
                    brush=gr.Brush(colors=[BRUSH_COLOUR], color_mode="fixed"),
                    layers=False, transforms=("crop",), elem_id="editor")
                guard_decoding(gr, editor, config.max_pixels)
                button = gr.Button("Inpaint", variant="primary", elem_id="inpaint-button")
                gr.Examples(examples=[[path] for path in examples], inputs=[editor],
                            label="Examples (held-out images, never used for training)")
            with gr.Column():
                result = gr.Image(label="Result", type="numpy", format="png",
                                  interactive=False, buttons=list(IMAGE_BUTTONS),
                                  elem_id="result")
                download = gr.DownloadButton("Download result (PNG)", interactive=False,
                                             elem_id="download")
                attention = gr.Image(label="Attention map (where the fill came from)",
                                     type="numpy", format="png", interactive=False,
                                     buttons=list(IMAGE_BUTTONS), elem_id="attention")
                with gr.Row():
                    gr.Image(value=legend_image(LEGEND_SIZE), label="Legend", format="png",
                             interactive=False, show_label=False, buttons=[],
                             height=LEGEND_SIZE, width=LEGEND_SIZE, elem_id="legend")
                    gr.Markdown(LEGEND_TEXT)
        status = gr.Markdown(elem_id="status")
        button.click(make_handler(gr, served.inpainter, config, output_dir), inputs=[editor],
                     outputs=[result, attention, download, status], concurrency_limit=1)
    return page


def launch(page, host="127.0.0.1", port=7860, block=True):
    """Serve ``page`` on ``host:port``; returns once serving when ``block`` is False."""
    gr = import_gradio()
    theme = gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))
    page.queue(default_concurrency_limit=1)
    return page.launch(server_name=host, server_port=port, prevent_thread_lock=not block,
                       share=False, inbrowser=False, show_error=False, ssr_mode=False,
                       quiet=not block, theme=theme)
