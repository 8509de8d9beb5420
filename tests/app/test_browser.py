"""gi-app in a real browser: Debian's headless Chromium driven by Playwright.

The page is served in this process (Gradio's server thread) on a free loopback port with
a freshly initialised network, whose ``inpaint`` is wrapped to record what the page sent.
The test uploads an image, paints a stroke with the mouse, clicks Inpaint and checks:
the server got the uploaded pixels unchanged and a mask where the mouse went; the result
the page *shows* (fetched from the ``<img>``'s own URL) differs from the upload only
inside that mask; the download button offers the same pixels. A screenshot is kept in
``test_artifacts/``. Bad input (nothing painted, a file that is not an image) must give a
visible message.

Skipped, with the reason printed, when Gradio, Playwright or Chromium is missing (no
browser is ever downloaded: ``executable_path`` points at the system's Chromium).
"""

import os
import re
import shutil
import socket
import time

import numpy as np
import pytest

pytestmark = pytest.mark.e2e  # a real page served on a port (end to end)

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACT_DIR = os.path.join(REPO_ROOT, "test_artifacts")
HEIGHT, WIDTH = 192, 256  # multiples of 8; small enough that the editor shows it whole
STROKE_ROW, STROKE_COLS = 96, (64, 192)  # in image pixels
TIMEOUT_MS = 45_000
# The editor draws the image with linear filtering at its zoom; a smooth gradient stays
# within a few levels of its own resized copy (measured: mean 0.1, max 1 at 150 %).
MATCH_MARGIN_PX, MATCH_MEAN_TOLERANCE, MATCH_P99_TOLERANCE = 3, 2.0, 8


def _skip(reason):
    print(f"\nSKIPPED browser test of gi-app: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    """Path of the system's Chromium, or skip (with the reason) when anything is missing."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        _skip("gradio is not installed (pip install -e '.[test]' installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip("playwright is not installed (pip install -e '.[test]' installs it)")
    path = next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), shutil.which("chromium"))
    if path is None:
        _skip(f"no Chromium at {' or '.join(CHROMIUM_PATHS)} (apt-get install chromium; "
              ".ci/run does)")
    return path


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(chromium, tmp_path_factory):
    """``(url, calls)``: the page served with an untrained network; calls = inpaint args."""
    from gi_tf.app.logic import AppConfig
    from gi_tf.app.served_model import choose_model
    from gi_tf.app.page import build_app
    from gi_tf.app.page import launch

    served = choose_model(None, quickstart_dir=None)
    calls = []
    real_inpaint = served.inpainter.inpaint

    def recording_inpaint(image, mask, **kwargs):
        calls.append((np.array(image), np.array(mask)))
        return real_inpaint(image, mask, **kwargs)

    served.inpainter.inpaint = recording_inpaint
    page = build_app(served, AppConfig(), work_dir=str(tmp_path_factory.mktemp("gi_app")))
    port = _free_port()
    launch(page, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/", calls
    page.close()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url[0])
    _wait_until_editor_ready(page)
    yield page
    page.close()


def _wait_until_editor_ready(page):
    """Wait until the image editor accepts uploads and strokes.

    Gradio's editor renders its tool bars (Brush, zoom read-out) only once its canvas is
    initialised, and on initialising it clears the canvas if its value is still empty:
    an image uploaded before that is silently wiped (seen under load).
    """
    editor = page.locator("#editor")
    editor.get_by_role("button", name="Brush", exact=True).wait_for()
    editor.locator(".zoom-number").wait_for()


def _test_image():
    """uint8 RGB [HEIGHT, WIDTH, 3]: red and green gradients (every pixel distinct), blue 128."""
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    return np.stack([cols, 40 + rows, np.full_like(rows, 128)], axis=-1).astype(np.uint8)


def _decode_png(data):
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the page's image could not be decoded"
    return image[..., ::-1]


def _upload(page, path):
    page.locator("#editor input[type=file]").set_input_files(path)


def _editor_zoom(page):
    """The editor's zoom as a factor, from its read-out ('150%' -> 1.5), or None."""
    text = page.locator("#editor .zoom-number").first.inner_text().strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    return float(match.group(1)) / 100 if match else None


def _match_image(shot, image, zoom):
    """Where ``image`` resized by ``zoom`` sits in ``shot``: ``((left, top), error)``.

    ``error`` = (mean, 99th percentile) of the absolute difference inside the match, away
    from its anti-aliased border; ``None`` when the resized image does not fit in ``shot``.
    """
    import cv2

    size = (round(image.shape[1] * zoom), round(image.shape[0] * zoom))
    template = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if size[0] > shot.shape[1] or size[1] > shot.shape[0]:
        return None, None
    scores = cv2.matchTemplate(shot.astype(np.float32), template, cv2.TM_SQDIFF)
    left, top = cv2.minMaxLoc(scores)[2]
    inner = np.s_[MATCH_MARGIN_PX:-MATCH_MARGIN_PX, MATCH_MARGIN_PX:-MATCH_MARGIN_PX]
    found = shot[top:top + size[1], left:left + size[0]].astype(np.float32)
    difference = np.abs(found[inner] - template[inner])
    return (left, top), (float(difference.mean()), float(np.percentile(difference, 99)))


def _shown_image_box(page, image):
    """Page-coordinate box ``(left, top, width, height)`` of ``image`` on the editor canvas.

    No colour heuristic: the editor's zoom read-out gives the scale, template matching
    of ``image`` at that scale against a canvas screenshot gives the position, and the
    best match is accepted only when the canvas shows ``image``'s own pixels there (a
    wrong scale, an empty canvas or another picture cannot pass) and the same box is
    found twice in a row (the editor re-fits its zoom while the layout settles). On
    failure the last canvas screenshot is kept in ``test_artifacts/``.
    """
    canvas = page.locator("#editor canvas").first
    deadline, previous, seen = time.monotonic() + TIMEOUT_MS / 1000, None, "nothing"
    while time.monotonic() < deadline:
        data = canvas.screenshot()
        zoom = _editor_zoom(page)
        if zoom:
            where, error = _match_image(_decode_png(data), image, zoom)
            seen = f"zoom {zoom:.2f}, best match at {where}, |difference| (mean, p99) {error}"
            if error and error[0] <= MATCH_MEAN_TOLERANCE and error[1] <= MATCH_P99_TOLERANCE:
                box = (*where, image.shape[1] * zoom, image.shape[0] * zoom)
                if box == previous:
                    origin = canvas.bounding_box()
                    return origin["x"] + box[0], origin["y"] + box[1], box[2], box[3]
                previous = box
                continue
        previous = None
        time.sleep(0.25)
    os.makedirs(ARTIFACT_DIR, exist_ok=True)
    shot_path = os.path.join(ARTIFACT_DIR, "gi_app_browser_canvas_failure.png")
    with open(shot_path, "wb") as handle:
        handle.write(data)
    raise AssertionError(f"the uploaded image never appeared on the editor's canvas "
                         f"({seen}; canvas screenshot: {shot_path})")


def _paint_stroke(page, box):
    """Drag the brush along row STROKE_ROW from STROKE_COLS[0] to STROKE_COLS[1]."""
    left, top, width, _ = box
    scale = width / WIDTH

    def screen(row, col):
        return left + (col + 0.5) * scale, top + (row + 0.5) * scale

    page.locator("#editor").get_by_role("button", name="Brush", exact=True).click()
    page.mouse.move(*screen(STROKE_ROW, STROKE_COLS[0]))
    page.mouse.down()
    for col in np.linspace(*STROKE_COLS, 3)[1:]:
        page.mouse.move(*screen(STROKE_ROW, col))
    page.mouse.up()


def _fetch(page, url):
    response = page.request.get(url)
    assert response.ok, f"GET {url}: {response.status}"
    return response.body()


def test_paint_inpaint_and_read_back_the_shown_result(page, app_url, tmp_path):
    from gi_tf.utils.image_io import write_image_atomic

    _, calls = app_url
    calls.clear()
    uploaded = _test_image()
    _upload(page, write_image_atomic(str(tmp_path / "upload.png"), uploaded))
    _paint_stroke(page, _shown_image_box(page, uploaded))
    page.locator("#inpaint-button").click()
    page.locator("#result img").wait_for()
    page.locator("#attention img").wait_for()

    os.makedirs(ARTIFACT_DIR, exist_ok=True)
    screenshot = os.path.join(ARTIFACT_DIR, "gi_app_browser.png")
    page.screenshot(path=screenshot, full_page=True)
    print(f"\nscreenshot of the page after Inpaint: {screenshot}")

    # What the server received: the upload unchanged, and a mask where the mouse went.
    assert len(calls) == 1
    image, holes = calls[0]
    np.testing.assert_array_equal(image, uploaded)
    assert holes.shape == (HEIGHT, WIDTH)
    assert holes[STROKE_ROW, STROKE_COLS[0]:STROKE_COLS[1] + 1].all()
    rows = np.flatnonzero(holes.any(axis=1))
    cols = np.flatnonzero(holes.any(axis=0))
    thickness = len(rows)
    assert thickness < HEIGHT // 2, f"stroke {thickness} px thick: not a stroke"
    assert abs((rows[0] + rows[-1]) / 2 - STROKE_ROW) <= 2
    assert STROKE_COLS[0] - thickness <= cols[0] and cols[-1] <= STROKE_COLS[1] + thickness

    # What the page shows: differs from the upload exactly inside the stroke.
    shown = _decode_png(_fetch(page, page.locator("#result img").get_attribute("src")))
    assert shown.shape == uploaded.shape
    np.testing.assert_array_equal(shown[~holes], uploaded[~holes])
    changed = (shown != uploaded).any(axis=-1)
    assert changed[holes].mean() > 0.5, "the hole was not filled"
    attention = _decode_png(_fetch(page, page.locator("#attention img").get_attribute("src")))
    assert attention.shape == uploaded.shape

    # The download offers the same pixels.
    with page.expect_download() as download:
        page.locator("#download").click()
    assert download.value.suggested_filename == "inpainted.png"
    with open(download.value.path(), "rb") as handle:
        np.testing.assert_array_equal(_decode_png(handle.read()), shown)
    assert page.locator("#status").inner_text().startswith("Filled ")
    assert "randomly initialised" in page.locator("#model-banner").inner_text()


def test_inpaint_without_a_painted_mask_shows_a_message(page, tmp_path):
    from gi_tf.utils.image_io import write_image_atomic

    uploaded = _test_image()
    _upload(page, write_image_atomic(str(tmp_path / "upload.png"), uploaded))
    _shown_image_box(page, uploaded)
    page.locator("#inpaint-button").click()
    status = page.locator("#status")
    status.filter(has_text="Nothing is painted").wait_for()
    assert "Traceback" not in page.content()


def test_a_file_that_is_not_an_image_gets_a_message(page, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    _upload(page, str(path))
    page.locator("#inpaint-button").click()
    page.locator("#status").filter(has_text="No image yet").wait_for()
    assert "cannot show as an image" in page.locator("#status").inner_text()
    assert "Traceback" not in page.content()


def test_painting_without_an_image_gets_a_message(page, app_url):
    _, calls = app_url
    calls.clear()
    box = page.locator("#editor canvas").first.bounding_box()
    page.locator("#editor").get_by_role("button", name="Brush", exact=True).click()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.mouse.up()
    page.locator("#inpaint-button").click()
    page.locator("#status").filter(has_text="No image yet").wait_for()
    assert calls == []
