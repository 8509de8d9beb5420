"""gi-inpaint under faults: killed midway, a disk that fills or refuses, hostile files.

* a folder run killed with SIGKILL after a seeded number of outputs: every output present
  is a complete image; a rerun with ``--skip_existing`` leaves those untouched and writes
  the rest (issue 12, case 3);
* writes failing with ENOSPC / EACCES (injected in the file layer's local backend):
  the job fails with one message naming the output, nothing partial is left, the other
  jobs are written (case 4);
* the hostile-input list as files (case 6): each is a message naming the file (nothing
  written), or a documented conversion.
"""

import errno
import os
import re
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from absl import flags

from gi_tf.cli import inpaint as inpaint_cli
from gi_tf.inference import file_jobs
from gi_tf.inference.inpainter import Inpainter
from gi_tf.utils import files

from hostile_files import png_declaring

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEIGHT, WIDTH = 40, 48
FOLDER_IMAGES = 16


@pytest.fixture(scope="module")
def inpainter(checkpoint_dir):
    return Inpainter.from_checkpoint(checkpoint_dir)


def _photo(seed, height=HEIGHT, width=WIDTH):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _mask(height=HEIGHT, width=WIDTH, value=255):
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4: height // 2, width // 4: width // 2] = value
    return mask


def _write(path, array):
    """Exactly these pixels (RGB or grey) with OpenCV; returns the path as str."""
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = np.concatenate([array[..., 2::-1], array[..., 3:]], axis=-1)
    assert cv2.imwrite(str(path), array)
    return str(path)


def _folders(tmp_path, count):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for index in range(count):
        _write(images / f"{index:02d}.png", _photo(index))
        _write(masks / f"{index:02d}.png", _mask())
    return str(images), str(masks)


def _flag_values(*args):
    values = flags.FlagValues()
    inpaint_cli.define_flags(values)
    values(["gi-inpaint", *args])
    return values


def _outputs(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".png"))


def _assert_complete(path, source):
    result = cv2.imread(path, cv2.IMREAD_UNCHANGED)  # None for a partial file
    assert result is not None and result.shape == source.shape, path
    holes = _mask() > 0
    np.testing.assert_array_equal(result[..., ::-1][~holes], source[~holes])


@pytest.mark.e2e
def test_a_killed_folder_run_leaves_complete_outputs_and_skip_existing_finishes_it(
        checkpoint_dir, inpainter, tmp_path, capsys):
    images, masks = _folders(tmp_path, FOLDER_IMAGES)
    output_dir = str(tmp_path / "out")
    kill_after = int(np.random.default_rng(3).integers(2, 6))
    process = subprocess.Popen(
        [sys.executable, "-m", "gi_tf.cli.inpaint", f"--model={checkpoint_dir}",
         f"--image_dir={images}", f"--mask_dir={masks}", f"--output_dir={output_dir}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO_ROOT)
    deadline = time.monotonic() + 300
    try:
        while (process.poll() is None and time.monotonic() < deadline
               and len(_outputs(output_dir) if os.path.isdir(output_dir) else []) < kill_after):
            time.sleep(0.001)
        process.kill()
        assert process.wait(timeout=60) == -9, "the run ended before it was killed"
    finally:
        if process.poll() is None:
            process.kill()
    done = _outputs(output_dir)
    assert kill_after <= len(done) < FOLDER_IMAGES, done
    for name in done:
        _assert_complete(os.path.join(output_dir, name), _photo(int(name[:2])))
    before = {name: os.stat(os.path.join(output_dir, name)) for name in done}
    # The same command with --skip_existing (in-process, the model already loaded).
    options = file_jobs.InpaintOptions(skip_existing=True)
    jobs = file_jobs.jobs_from_folders(images, masks, output_dir)
    results = inpaint_cli.run_jobs(jobs, lambda: inpainter, options)
    assert all(r.ok for r in results)
    assert sorted(os.path.basename(r.job.output) for r in results if r.skipped) == done
    assert f"{FOLDER_IMAGES - len(done)} of {FOLDER_IMAGES} images written, {len(done)} " \
        "skipped" in capsys.readouterr().out
    assert _outputs(output_dir) == [f"{i:02d}.png" for i in range(FOLDER_IMAGES)]
    for name in _outputs(output_dir):
        _assert_complete(os.path.join(output_dir, name), _photo(int(name[:2])))
    for name, stat in before.items():  # not redone
        after = os.stat(os.path.join(output_dir, name))
        assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), name


# -- a disk that fills or refuses (case 4) -----------------------------------------------------


FAULTS = {
    # (file-layer call on local paths that fails, error raised, words of the message)
    "disk full while writing": ("write", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/x"),
                                ("No space left on device \\(writing the temporary file\\)")),
    "permission denied on rename": ("rename", PermissionError(
        errno.EACCES, os.strerror(errno.EACCES), "/x"),
        ("Permission denied \\(renaming the temporary file into place\\)")),
}


class _FailingHandle:
    """A file handle whose ``write`` raises ``error``."""

    def __init__(self, handle, error):
        self.handle, self.error = handle, error

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.handle.close()

    def write(self, data):
        raise self.error

    def flush(self):
        self.handle.flush()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_write_is_one_error_naming_the_output_and_leaves_nothing(
        fault, inpainter, tmp_path, monkeypatch, capsys):
    images, masks = _folders(tmp_path, 3)
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    victim = str(output_dir / "01.png")
    _write(victim, np.zeros((4, 4, 3), np.uint8))  # an older result: must survive
    with open(victim, "rb") as handle:
        old = handle.read()
    call, error, words = FAULTS[fault]
    real_open_write, real_rename = files.local.open_write, files.local.rename

    def failing_open_write(path):
        handle = real_open_write(path)
        if os.path.basename(path).startswith(".01.png.tmp-"):
            return _FailingHandle(handle, error)
        return handle

    def failing_rename(source, target, overwrite=False):
        if target == victim:
            raise error
        return real_rename(source, target, overwrite=overwrite)

    if call == "write":
        monkeypatch.setattr(files.local, "open_write", failing_open_write)
    else:
        monkeypatch.setattr(files.local, "rename", failing_rename)
    jobs = file_jobs.jobs_from_folders(images, masks, str(output_dir))
    results = inpaint_cli.run_jobs(jobs, lambda: inpainter, file_jobs.InpaintOptions())
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].message.startswith(f"cannot write {victim}: ")
    assert re.search(words, results[1].message)
    assert f"gi-inpaint: error: {results[1].job.image}: cannot write {victim}" in \
        capsys.readouterr().err
    assert sorted(os.listdir(output_dir)) == ["00.png", "01.png", "02.png"]  # no temporary
    with open(victim, "rb") as handle:
        assert handle.read() == old


# -- hostile files (case 6) ---------------------------------------------------------------------


def _bytes(data):
    """A maker writing ``data`` (bytes, or a function returning them: built when run)."""
    def make(path):
        path.write_bytes(data() if callable(data) else data)
        return str(path)
    return make


def _array(array):
    return lambda path: _write(path, array)


PNG = cv2.imencode(".png", _photo(0))[1].tobytes()
# name -> (image maker, mask maker, message words; None = written, with these notes)
FILE_CASES = {
    "empty image file": (_bytes(b""), _array(_mask()), "image file is empty"),
    "truncated png": (_bytes(PNG[: len(PNG) // 2]), _array(_mask()), "cannot decode image"),
    "jpeg that is not an image": (_bytes(b"\xff\xd8\xff\xe0" + b"x" * 300), _array(_mask()),
                                  "cannot decode image"),
    "text named png": (_bytes(b"hello"), _array(_mask()), "cannot decode image"),
    "png declaring 50000x50000": (_bytes(png_declaring(50000, 50000)), _array(_mask()),
                                  "50000x50000 = 2500.0 megapixels, above the limit"),
    "png bomb 8000x8000": (_bytes(lambda: png_declaring(8000, 8000, 8000)), _array(_mask()),
                           "8000x8000 = 64.0 megapixels, above the limit"),
    "mask bomb": (_array(_photo(0)), _bytes(png_declaring(9000, 9000)),
                  "mask file .* 9000x9000"),
    "png with zero height": (_bytes(png_declaring(WIDTH, 0)), _array(_mask()),
                             "cannot decode image"),
    "mask of another size": (_array(_photo(0)), _array(_mask(HEIGHT, WIDTH - 1)),
                             f"is {WIDTH}x{HEIGHT} but mask .* is {WIDTH - 1}x{HEIGHT}"),
    "1x1 image, 1x1 hole": (_array(_photo(0, 1, 1)), _array(np.full((1, 1), 255, np.uint8)),
                            "mask covers the whole image"),
    "mask with only 127": (_array(_photo(0)), _array(_mask(value=127)),
                           ["mask has no hole; the output is the input unchanged"]),
    "16-bit image": (_array(_photo(0).astype(np.uint16) * 257), _array(_mask()),
                     ["converted 16-bit to 8-bit"]),
    "grey image": (_array(_photo(0)[..., 0]), _array(_mask()), ["converted grayscale to RGB"]),
    "RGBA image": (_array(np.dstack([_photo(0), _mask()])), _array(_mask()),
                   ["dropped the alpha channel"]),
    "1x2 image": (_array(_photo(0, 1, 2)), _array(np.array([[255, 0]], np.uint8)), []),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_hostile_files(case, inpainter, tmp_path):
    make_image, make_mask, expected = FILE_CASES[case]
    job = file_jobs.Job(make_image(tmp_path / "image.png"), make_mask(tmp_path / "mask.png"),
                        str(tmp_path / "out" / "result.png"))
    result = file_jobs.run_job(lambda: inpainter, job)
    if isinstance(expected, str):
        assert not result.ok and re.search(expected, result.message), result
        assert not os.path.exists(tmp_path / "out")  # nothing written, not even the folder
    else:
        assert result.ok, result.message
        for words in expected:
            assert any(words in note for note in result.notes), result.notes
        written = cv2.imread(job.output, cv2.IMREAD_UNCHANGED)
        assert written is not None and written.shape[:2] == cv2.imread(
            job.image, cv2.IMREAD_UNCHANGED).shape[:2]


def test_max_pixels_flag(checkpoint_dir, tmp_path, capsys):
    image, mask = _write(tmp_path / "i.png", _photo(0)), _write(tmp_path / "m.png", _mask())
    output = str(tmp_path / "o.png")
    args = [f"--model={checkpoint_dir}", f"--image={image}", f"--mask={mask}",
            f"--output={output}"]
    code = inpaint_cli.main(["gi-inpaint"], _flag_values(*args,
                                                         f"--max_pixels={HEIGHT * WIDTH - 1}"))
    assert code == 1 and not os.path.exists(output)
    assert (f"image file {image} is {WIDTH}x{HEIGHT} = 0.0 megapixels, above the limit of "
            f"{(HEIGHT * WIDTH - 1) / 1e6:g} megapixels") in capsys.readouterr().err
    assert _flag_values(*args).max_pixels == 50_000_000
    assert _flag_values(*args, "--max_pixels=0").max_pixels == 0  # no limit
