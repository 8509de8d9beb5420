"""gi-eval's --max_pixels: an image above the limit stops the run with one message, read
from the file's header before decoding (the rest of gi-eval: tests/cli/test_evaluate.py)."""

import numpy as np
import pytest
from absl import flags

from gi_tf.cli import evaluate as evaluate_cli
from gi_tf.utils.image_io import write_image_atomic


def _run(*args):
    values = flags.FlagValues()
    evaluate_cli.define_flags(values)
    values(["gi-eval", *args])
    return evaluate_cli.main(["gi-eval"], values)


def test_max_pixels_refuses_a_large_image_before_anything_runs(tmp_path):
    image = write_image_atomic(str(tmp_path / "images" / "a.png"),
                               np.full((40, 48, 3), 90, np.uint8))
    common = [f"--images={tmp_path / 'images'}", f"--output_dir={tmp_path / 'out'}",
              "--nopatchmatch", "--noprogress", "--mask=box"]
    with pytest.raises(SystemExit, match=f"gi-eval: error: image file {image} is 48x40 = "
                       "0.0 megapixels, above the limit of 0.001919 megapixels"):
        _run(*common, "--max_pixels=1919")
    _run(*common, "--max_pixels=1920")  # at the limit: evaluated
    assert (tmp_path / "out" / "metrics.csv").exists()
