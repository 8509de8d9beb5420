"""gi-inpaint-beam: flags, arguments after ``--``, the message without Beam, and the same
files as ``gi-inpaint --model=<export> --image_dir`` (byte for byte).

``main`` runs in-process with fresh flag values on the DirectRunner; the shared export.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from absl import app
from absl import flags

from gi_tf.cli import inpaint as inpaint_cli
from gi_tf.cli import inpaint_beam
from gi_tf.utils import image_io


def _flag_values(*args):
    flag_values = flags.FlagValues()
    inpaint_beam.define_flags(flag_values)
    rest = flag_values(["gi-inpaint-beam", *args])
    return flag_values, rest


def _run_main(*args):
    flag_values, argv = _flag_values(*args)
    return inpaint_beam.main(argv, flag_values)


@pytest.fixture(scope="module")
def export_dir(shared_export):
    """The session's shared export (version 1; read only), once Beam is known to be here."""
    pytest.importorskip("apache_beam")
    return os.path.join(shared_export, "1")


def test_arguments_after_double_dash_go_to_beam():
    flag_values, rest = _flag_values("--model=m", "--images=i/*", "--output_dir=o", "--box=1,1,2,2",
                                     "--", "--runner=DirectRunner", "--direct_num_workers=2")
    assert inpaint_beam.beam_arguments(rest) == ["--runner=DirectRunner",
                                                 "--direct_num_workers=2"]
    with pytest.raises(app.UsageError, match="after --"):
        inpaint_beam.beam_arguments(["gi-inpaint-beam", "stray"])


def test_holes_one_way():
    pytest.importorskip("apache_beam")
    flag_values, _ = _flag_values("--model=m", "--images=i/*", "--output_dir=o")
    with pytest.raises(app.UsageError, match="one way"):
        inpaint_beam.build_config(flag_values)
    flag_values, _ = _flag_values("--model=m", "--images=i/*", "--output_dir=o",
                                  "--box=1,2")
    with pytest.raises(app.UsageError):
        inpaint_beam.build_config(flag_values)


def test_one_clear_line_without_beam(monkeypatch):
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # import apache_beam fails
    with pytest.raises(SystemExit) as exit_info:
        _run_main("--model=m", "--images=i/*", "--output_dir=o", "--box=1,1,2,2")
    assert str(exit_info.value.code) == (
        "gi-inpaint-beam needs Apache Beam: pip install 'gi_tf[beam]'")


def test_importing_the_cli_does_not_import_beam():
    code = ("import sys, gi_tf, gi_tf.cli.inpaint_beam, gi_tf.cli.inpaint; "
            "assert 'apache_beam' not in sys.modules and 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_same_files_as_gi_inpaint(export_dir, tmp_path, capsys):
    pytest.importorskip("apache_beam")
    rng = np.random.default_rng(1)
    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    for i, (h, w) in enumerate([(24, 40), (33, 17), (24, 40)]):
        image_io.write_image_atomic(str(tmp_path / "in" / f"p{i}.png"),
                                    rng.integers(0, 256, (h, w, 3), np.uint8))
        mask = np.zeros((h, w), np.uint8)
        mask[4:14, 3:12] = 255
        image_io.write_image_atomic(str(tmp_path / "masks" / f"p{i}.png"), mask)
    # a bad one: fails in the manifest, exit status 1, the others written
    (tmp_path / "in" / "bad.png").write_bytes(b"broken")
    status = _run_main(f"--model={export_dir}", f"--images={tmp_path / 'in' / '*.png'}",
                       f"--masks={tmp_path / 'masks' / '*.png'}",
                       f"--output_dir={tmp_path / 'beam'}", "--panel", "--",
                       "--direct_num_workers=1")
    out = capsys.readouterr()
    assert status == 1
    assert "3 of 4 images written; 1 failed" in out.out
    assert "bad.png" in out.err
    os.remove(tmp_path / "in" / "bad.png")
    flag_values = flags.FlagValues()
    inpaint_cli.define_flags(flag_values)
    flag_values(["gi-inpaint", f"--model={export_dir}", f"--image_dir={tmp_path / 'in'}",
                 f"--mask_dir={tmp_path / 'masks'}", f"--output_dir={tmp_path / 'plain'}",
                 "--panel"])
    assert inpaint_cli.main(["gi-inpaint"], flag_values) == 0
    for i in range(3):
        for name in (f"p{i}.png", f"p{i}_panel.png"):
            assert ((tmp_path / "beam" / name).read_bytes()
                    == (tmp_path / "plain" / name).read_bytes()), name
