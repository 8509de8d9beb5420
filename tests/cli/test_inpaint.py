"""gi-inpaint: single image, folders, lists, panels; bad input writes nothing.

``main`` is run in-process with fresh flag values (one real model load for the
single-image mode); the folder and list modes run ``build_jobs`` + ``run_jobs`` with
one shared Inpainter so the model is traced once.
"""

import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from absl import app
from absl import flags

from gi_tf.cli import inpaint as inpaint_cli
from gi_tf.inference import file_jobs
from gi_tf.inference.inpainter import Inpainter
from gi_tf.utils import image_io

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEIGHT, WIDTH = 29, 43


@pytest.fixture(scope="module")
def shared_inpainter(checkpoint_dir):
    return Inpainter.from_checkpoint(checkpoint_dir)


def _photo(seed, height=HEIGHT, width=WIDTH):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _mask(height=HEIGHT, width=WIDTH, value=255):
    mask = np.zeros((height, width), np.uint8)
    mask[8:20, 10:30] = value
    return mask


def _write(path, array):
    """Write exactly these pixels (array RGB or grey) with OpenCV; returns the path str."""
    array = array[..., ::-1] if array.ndim == 3 and array.shape[-1] == 3 else array
    assert cv2.imwrite(str(path), array)
    return str(path)


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _flag_values(*args):
    flag_values = flags.FlagValues()
    inpaint_cli.define_flags(flag_values)
    flag_values(["gi-inpaint", *args])
    return flag_values


def _run_main(*args):
    return inpaint_cli.main(["gi-inpaint"], _flag_values(*args))


@pytest.mark.smoke
def test_single_image_with_panel(checkpoint_dir, tmp_path, capsys):
    image = _photo(0)
    holes = _mask() >= 128
    output = tmp_path / "out" / "result.png"
    status = _run_main(f"--model={checkpoint_dir}", f"--image={_write(tmp_path / 'a.png', image)}",
                       f"--mask={_write(tmp_path / 'm.png', _mask())}", f"--output={output}",
                       "--panel")
    assert status == 0
    assert "wrote " + str(output) in capsys.readouterr().out
    result = image_io.read_image(output)
    assert result.shape == image.shape
    np.testing.assert_array_equal(result[~holes], image[~holes])
    assert not np.array_equal(result[holes], image[holes])
    panel = image_io.read_image(tmp_path / "out" / "result_panel.png")
    assert panel.shape == (16 + HEIGHT + 8, 4 * WIDTH + 5 * 4, 3)  # labels + 4 images + pads
    assert sorted(os.listdir(tmp_path / "out")) == ["result.png", "result_panel.png"]


@pytest.mark.parametrize("case", ["not_an_image", "size_mismatch", "full_mask", "bad_ext",
                                  "parent_is_a_file", "missing_mask"])
def test_bad_input_is_a_clear_error_and_writes_nothing(case, checkpoint_dir, tmp_path, capsys):
    image = _write(tmp_path / "a.png", _photo(1))
    mask = _write(tmp_path / "m.png", _mask())
    output = str(tmp_path / "out" / "r.png")
    expected = {
        "not_an_image": "cannot decode image file",
        "size_mismatch": "is 43x29 but mask",
        "full_mask": "mask covers the whole image",
        "bad_ext": "extension '.gif'",
        "parent_is_a_file": "is not a directory",
        "missing_mask": "mask file not found",
    }[case]
    if case == "not_an_image":
        (tmp_path / "a.png").write_text("this is text, not a PNG")
    elif case == "size_mismatch":
        mask = _write(tmp_path / "m.png", _mask(HEIGHT, WIDTH - 1))
    elif case == "full_mask":
        mask = _write(tmp_path / "m.png", np.full((HEIGHT, WIDTH), 255, np.uint8))
    elif case == "bad_ext":
        output = str(tmp_path / "out" / "r.gif")
    elif case == "parent_is_a_file":
        (tmp_path / "out").write_text("a file")
        output = str(tmp_path / "out" / "r.png")
    elif case == "missing_mask":
        mask = str(tmp_path / "nothing.png")
    before = sorted(os.listdir(tmp_path))
    status = _run_main(f"--model={checkpoint_dir}", f"--image={image}", f"--mask={mask}",
                       f"--output={output}", "--panel")
    captured = capsys.readouterr()
    assert status == 1
    assert expected in captured.err and "gi-inpaint: error:" in captured.err
    assert "Loading" not in captured.out  # failed before the model was loaded
    assert sorted(os.listdir(tmp_path)) == before


def test_empty_mask_copies_the_input_without_a_model(tmp_path, capsys, checkpoint_dir):
    image = _photo(2)
    output = tmp_path / "r.png"
    status = _run_main(f"--model={checkpoint_dir}", f"--image={_write(tmp_path / 'a.png', image)}",
                       f"--mask={_write(tmp_path / 'm.png', _mask(value=0))}",
                       f"--output={output}")
    captured = capsys.readouterr()
    assert status == 0 and "mask has no hole" in captured.out and "Loading" not in captured.out
    np.testing.assert_array_equal(image_io.read_image(output), image)


def test_grey_rgba_and_16_bit_inputs_are_converted_with_a_note(shared_inpainter, tmp_path):
    image = _photo(3)
    grey = _write(tmp_path / "grey.png", image[..., 0])
    rgba = _write(tmp_path / "rgba.png", np.dstack([image[..., ::-1], np.full(image.shape[:2], 9,
                                                                              np.uint8)]))
    deep = _write(tmp_path / "deep.png", image.astype(np.uint16) * 257)
    mask = _write(tmp_path / "m.png", _mask())
    expected = {grey: np.repeat(image[..., :1], 3, -1), rgba: image, deep: image}
    for path, note in [(grey, "grayscale"), (rgba, "alpha"), (deep, "16-bit")]:
        output = str(tmp_path / "out" / (os.path.basename(path)))
        result = file_jobs.run_job(lambda: shared_inpainter,
                                       file_jobs.Job(path, mask, output))
        assert result.ok, result.message
        assert any(note in n for n in result.notes)
        known = _mask() < 128
        np.testing.assert_array_equal(image_io.read_image(output)[known], expected[path][known])


def test_folder_mode_matches_masks_by_stem(shared_inpainter, tmp_path, capsys):
    for name in ("b", "a", "c"):
        _write(_mkdir(tmp_path / "in") / f"{name}.png", _photo(ord(name)))
        _write(_mkdir(tmp_path / "masks") / f"{name}.png", _mask())
    flag_values = _flag_values("--model=unused", f"--image_dir={tmp_path / 'in'}",
                               f"--mask_dir={tmp_path / 'masks'}",
                               f"--output_dir={tmp_path / 'out'}", "--panel")
    jobs = inpaint_cli.build_jobs(flag_values)
    assert [os.path.basename(j.image) for j in jobs] == ["a.png", "b.png", "c.png"]
    results = inpaint_cli.run_jobs(jobs, lambda: shared_inpainter,
                                   file_jobs.InpaintOptions(panel=True))
    assert all(r.ok for r in results)
    assert "3 of 3 images written" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "out")) == [
        "a.png", "a_panel.png", "b.png", "b_panel.png", "c.png", "c_panel.png"]
    os.remove(tmp_path / "masks" / "b.png")
    with pytest.raises(FileNotFoundError, match="no mask .* for 1 image"):
        inpaint_cli.build_jobs(flag_values)


def test_list_mode_keeps_going_past_a_bad_job(shared_inpainter, tmp_path, capsys):
    good = _write(tmp_path / "good.png", _photo(4))
    mask = _write(tmp_path / "m.png", _mask())
    listing = tmp_path / "jobs.txt"
    listing.write_text(f"# image mask output\n{good} {mask} {tmp_path / 'o1.png'}\n\n"
                       f"{tmp_path / 'gone.png'} {mask} {tmp_path / 'o2.png'}\n"
                       f"{good} {mask} {tmp_path / 'o3.jpg'}\n")
    jobs = inpaint_cli.build_jobs(_flag_values("--model=unused", f"--list={listing}"))
    results = inpaint_cli.run_jobs(jobs, lambda: shared_inpainter,
                                   file_jobs.InpaintOptions())
    assert [r.ok for r in results] == [True, False, True]
    captured = capsys.readouterr()
    assert "2 of 3 images written; 1 failed" in captured.out
    assert "gone.png" in captured.err
    assert os.path.exists(tmp_path / "o1.png") and os.path.exists(tmp_path / "o3.jpg")
    assert not os.path.exists(tmp_path / "o2.png")
    listing.write_text(f"{good} {mask}\n")
    with pytest.raises(ValueError, match="jobs.txt:1: expected 'image mask output'"):
        inpaint_cli.build_jobs(_flag_values("--model=unused", f"--list={listing}"))


def test_crop_policy_writes_the_originals_size(shared_inpainter, tmp_path):
    job = file_jobs.Job(_write(tmp_path / "a.png", _photo(5)),
                            _write(tmp_path / "m.png", _mask()), str(tmp_path / "r.png"))
    result = file_jobs.run_job(lambda: shared_inpainter, job,
                                   file_jobs.InpaintOptions(policy="crop"))
    assert result.ok, result.message
    assert image_io.read_image(job.output).shape == (24, 40, 3)


@pytest.mark.parametrize("args,match", [
    (["--image=a.png"], "missing --mask, --output"),
    (["--image=a.png", "--mask=m.png", "--output=o.png", "--list=l.txt"], "exactly one of"),
    ([], "exactly one of"),
    (["--image=a.png", "--mask=m.png", "--output=o.png", "--policy=crop", "--max_side=64"],
     "cannot be combined"),
])
def test_usage_errors(args, match):
    with pytest.raises(app.UsageError, match=match):
        _run_main("--model=m", *args)


@pytest.mark.parametrize("args,match", [
    (["--image=a.png", "--mask=m.png", "--box=0,0,4,4", "--output=o.png"],
     "one way.*--box and --mask"),
    (["--image=a.png", "--box=0,0,4,4", "--mask_color=#ff00ff", "--output=o.png"],
     "--box and --mask_color"),
    (["--list=l.txt", "--mask_color=#ff00ff"], "--mask_color and --list"),
    (["--image=a.png", "--box=0,0,4", "--output=o.png"], "--box: box '0,0,4'.*TOP,LEFT"),
    (["--image=a.png", "--mask_color=pink", "--output=o.png"], "--mask_color: .*#RRGGBB"),
    (["--image=a.png", "--mask=m.png", "--output=o.png", "--mask_tolerance=3"],
     "only with --mask_color"),
    (["--image=a.png", "--box=0,0,4,4"], r"missing --output$"),
    (["--image=a.png", "--output=o.png"], r"missing --mask \(or --box / --mask_color"),
])
def test_mask_source_usage_errors(args, match):
    with pytest.raises(app.UsageError, match=match):
        _run_main("--model=m", *args)


def _run_flags(inpainter, *args):
    jobs = inpaint_cli.build_jobs(_flag_values("--model=unused", *args))
    return inpaint_cli.run_jobs(jobs, lambda: inpainter, file_jobs.InpaintOptions())


@pytest.mark.smoke
def test_boxes_and_a_painted_colour_give_the_mask_files_result(shared_inpainter, tmp_path):
    image = _photo(7)
    holes = np.zeros((HEIGHT, WIDTH), bool)
    holes[3:10, 5:17] = holes[15:27, 30:41] = True
    image_path = _write(tmp_path / "a.png", image)
    mask_path = _write(tmp_path / "m.png", holes.astype(np.uint8) * 255)
    painted = image.copy()
    painted[holes] = (255, 0, 255)
    painted_path = _write(tmp_path / "painted.png", painted)
    runs = {
        "file": (f"--image={image_path}", f"--mask={mask_path}"),
        "boxes": (f"--image={image_path}", "--box=3,5,7,12", "--box=15,30,12,11"),
        "colour": (f"--image={painted_path}", "--mask_color=#FF00FF"),
    }
    for name, args in runs.items():
        results = _run_flags(shared_inpainter, *args, f"--output={tmp_path / name}.png")
        assert [r.ok for r in results] == [True], results[0].message
    expected = image_io.read_image(tmp_path / "file.png")
    np.testing.assert_array_equal(expected[~holes], image[~holes])
    np.testing.assert_array_equal(image_io.read_image(tmp_path / "boxes.png"), expected)
    np.testing.assert_array_equal(image_io.read_image(tmp_path / "colour.png"), expected)


def test_folder_mode_with_one_box_for_every_image(shared_inpainter, tmp_path):
    for name in ("a", "b"):
        _write(_mkdir(tmp_path / "in") / f"{name}.png", _photo(ord(name)))
    results = _run_flags(shared_inpainter, f"--image_dir={tmp_path / 'in'}", "--box=2,2,6,6",
                         f"--output_dir={tmp_path / 'out'}")
    assert [r.ok for r in results] == [True, True]
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.png"]


@pytest.mark.parametrize("case,match", [
    ("box_outside", "box 20,0,10,10 .* reaches row 29 and column 9, outside the 43x29 image"),
    ("colour_absent", "no pixel of colour #ff00ff .* closest is"),
    ("whole_image", "box 0,0,29,43: mask covers the whole image"),
])
def test_mask_source_errors_name_the_problem_and_write_nothing(case, match, checkpoint_dir,
                                                               tmp_path, capsys):
    image = _write(tmp_path / "a.png", np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    holes = {"box_outside": "--box=20,0,10,10", "colour_absent": "--mask_color=#ff00ff",
             "whole_image": "--box=0,0,29,43"}[case]
    before = sorted(os.listdir(tmp_path))
    status = _run_main(f"--model={checkpoint_dir}", f"--image={image}", holes,
                       f"--output={tmp_path / 'out' / 'r.png'}")
    captured = capsys.readouterr()
    assert status == 1 and "Loading" not in captured.out
    assert "gi-inpaint: error:" in captured.err
    assert re.search(match, captured.err), captured.err
    assert sorted(os.listdir(tmp_path)) == before


def test_unknown_model_is_a_clear_error(tmp_path):
    image = _write(tmp_path / "a.png", _photo(6))
    mask = _write(tmp_path / "m.png", _mask())
    with pytest.raises(SystemExit, match="neither a SavedModel .* nor a gi_tf checkpoint"):
        _run_main(f"--model={tmp_path / 'none'}", f"--image={image}", f"--mask={mask}",
                  f"--output={tmp_path / 'o.png'}")
    assert not os.path.exists(tmp_path / "o.png")


@pytest.mark.e2e
def test_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "gi_tf.cli.inpaint", "--helpshort"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]  # absl exits 1 after help
    assert "--max_side" in done.stdout and "--crop_to_hole" in done.stdout


def test_default_chunk_bound_is_the_librarys():
    # The CLI keeps a TF-free copy of the bound (fast --help); it must not drift.
    from gi_tf.inference import inpainter

    flag_values = flags.FlagValues()
    inpaint_cli.define_flags(flag_values)
    assert flag_values["attention_chunk_elements"].default == \
        inpainter.DEFAULT_ATTENTION_CHUNK_ELEMENTS


def test_plan_prints_path_cost_and_estimates_without_writing(shared_inpainter, tmp_path, capsys,
                                                             monkeypatch):
    # A wide photo with a small hole: the windowed path; nothing is written.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    image = _write(tmp_path / "wide.png", _photo(7, 48, 480))
    mask = np.zeros((48, 480), np.uint8)
    mask[10:30, 400:430] = 255
    mask_path = _write(tmp_path / "wide_mask.png", mask)
    output = tmp_path / "out.png"
    options = file_jobs.InpaintOptions()
    jobs = [file_jobs.Job(image, mask_path, str(output))]
    assert inpaint_cli.print_plans(jobs, lambda: shared_inpainter, options) == 0
    out = capsys.readouterr().out
    match = re.search(r"wide\.png \(480x48, 600 hole pixels\): windowed path, 1 window\(s\); "
                      r"([\d.,]+) GFLOP \((\d+)% of the whole image's ([\d.,]+)\); estimated peak "
                      r"memory ([\d.]+) GB; estimated ([\d.e+-]+?)-([\d.e+-]+) s on this machine "
                      r"\(the network runs at (\d+)%-(\d+)% of the float32 matmul rate (\d+) GFLOP/s, "
                      r"measured now, cached in (\S+); TensorFlow start-up", out)
    assert match, out
    assert 0 < int(match.group(2)) < 80
    # the range is the FLOPs at the two efficiency bounds of the printed rate
    low, high = float(match.group(5)), float(match.group(6))
    low_eff, high_eff = sorted(inpaint_cli.PLAN_EFFICIENCY)
    assert (int(match.group(7)), int(match.group(8))) == (round(100 * low_eff), round(100 * high_eff))
    assert low < high and 0.85 < (high / low) / (high_eff / low_eff) < 1.15  # up to the rounding
    assert match.group(10) == str(tmp_path / "cache" / "gi_tf" / "rate.json")
    assert not output.exists()
    whole = inpaint_cli.print_plans(
        jobs, lambda: shared_inpainter, file_jobs.InpaintOptions(window="off"))
    again = capsys.readouterr().out
    assert whole == 0 and "whole image; " in again
    assert "GFLOP/s, cached in " in again  # the second plan reads the cached rate


def test_the_printed_time_says_what_it_counts():
    text = inpaint_cli.timing_text(1.4, 5.25, 9.8)
    assert text == ("1.40 s reading, inpainting, writing (+ model load 5.2 s; process 9.8 s "
                    "so far, incl. TensorFlow start-up)")
    assert inpaint_cli.timing_text(0.5) == "0.50 s reading, inpainting, writing"
