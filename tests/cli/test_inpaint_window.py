"""gi-inpaint --window: the exact windowed path from the command line (same result as off)."""

import cv2
import numpy as np
import pytest
from absl import flags

from gi_tf.cli import inpaint as inpaint_cli
from gi_tf.inference import file_jobs


def _run(*args):
    flag_values = flags.FlagValues()
    inpaint_cli.define_flags(flag_values)
    flag_values(["gi-inpaint", *args])
    return inpaint_cli.main(["gi-inpaint"], flag_values)


def test_window_on_and_off_write_the_same_image(checkpoint_dir, tmp_path):
    # 40 x 340: wider than the receptive fields, so the window really is smaller.
    image = np.random.default_rng(0).integers(0, 256, (40, 340, 3), dtype=np.uint8)
    mask = np.zeros((40, 340), np.uint8)
    mask[10:22, 300:330] = 255
    cv2.imwrite(str(tmp_path / "in.png"), image[..., ::-1])
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    outputs = {}
    for mode in ("on", "off"):
        out = tmp_path / f"{mode}.png"
        assert _run(f"--model={checkpoint_dir}", f"--image={tmp_path / 'in.png'}",
                    f"--mask={tmp_path / 'mask.png'}", f"--output={out}",
                    f"--window={mode}") == 0
        outputs[mode] = cv2.imread(str(out))[..., ::-1]
    assert np.abs(outputs["on"].astype(int) - outputs["off"]).max() <= 1
    known = mask < 128
    np.testing.assert_array_equal(outputs["on"][known], image[known])


def test_window_option_reaches_the_inpainter():
    seen = {}

    class Recorder:
        def inpaint(self, image, holes, **kwargs):
            seen.update(kwargs)
            return image, image

    holes = np.zeros((8, 8), bool)
    holes[2:4, 2:4] = True
    loaded = file_jobs.Loaded(np.zeros((8, 8, 3), np.uint8), holes, [])
    file_jobs.inpaint_loaded(Recorder(), loaded, file_jobs.InpaintOptions(window="off"))
    assert seen["window"] == "off"
    with pytest.raises(flags.IllegalFlagValueError):
        _run("--model=x", "--window=sometimes")
