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
import shutil
import socket
import time

import numpy as np
import pytest

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACT_DIR = os.path.join(REPO_ROOT, "test_artifacts")
HEIGHT, WIDTH = 192, 256  # multiples of 8; small enough that the editor shows it unscaled
STROKE_ROW, STROKE_COLS = 96, (64, 192)  # in image pixels
BLUE = 128  # the test image's blue channel, everywhere
TIMEOUT_MS = 45_000


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
    from gi_tf.app import build_app, launch
    from gi_tf.app_logic import AppConfig
    from gi_tf.app_model import choose_model

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
    page.locator("#editor").wait_for()
    yield page
    page.close()


def _test_image():
    """uint8 RGB [HEIGHT, WIDTH, 3]: red and green gradients, blue constant."""
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    return np.stack([cols, 40 + rows, np.full_like(rows, BLUE)], axis=-1).astype(np.uint8)


def _decode_png(data):
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the page's image could not be decoded"
    return image[..., ::-1]


def _upload(page, path):
    page.locator("#editor input[type=file]").set_input_files(path)


def _shown_image_box(page):
    """Page-coordinate box ``(left, top, width, height)`` of the image on the canvas.

    Found in screenshots of the canvas: the test image's blue channel is 128 everywhere,
    so the image is where most pixels of a row / column have blue ~128 (the editor's
    overlays, label and shadow are thin or differently coloured). Waits until the box
    has the image's aspect ratio and stops changing.
    """
    canvas = page.locator("#editor canvas").first
    deadline, previous = time.monotonic() + TIMEOUT_MS / 1000, None
    while time.monotonic() < deadline:
        shot = _decode_png(canvas.screenshot()).astype(int)
        blue = np.abs(shot[..., 2] - BLUE) <= 4
        rows = np.flatnonzero(blue.sum(axis=1) > 0.5 * blue.sum(axis=1).max(initial=1))
        cols = np.flatnonzero(blue.sum(axis=0) > 0.5 * blue.sum(axis=0).max(initial=1))
        if blue.any():
            box = (cols[0], rows[0], cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0])
            if abs(box[2] / box[3] - WIDTH / HEIGHT) < 0.03 and box == previous:
                origin = canvas.bounding_box()
                return origin["x"] + box[0], origin["y"] + box[1], box[2], box[3]
            previous = box
        time.sleep(0.25)
    raise AssertionError(f"the uploaded image never appeared on the editor's canvas (last "
                         f"box seen: {previous}, expected aspect {WIDTH}:{HEIGHT})")


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
    from gi_tf.image_io import write_image_atomic

    _, calls = app_url
    calls.clear()
    uploaded = _test_image()
    _upload(page, write_image_atomic(str(tmp_path / "upload.png"), uploaded))
    _paint_stroke(page, _shown_image_box(page))
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
    from gi_tf.image_io import write_image_atomic

    _upload(page, write_image_atomic(str(tmp_path / "upload.png"), _test_image()))
    _shown_image_box(page)
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
