"""The large-photo section: its cases, masks and report (quick sizes, never timing values)."""

import numpy as np
import pytest

from gi_tf.benchmarks import SECTION_ORDER
from gi_tf.benchmarks import common
from gi_tf.benchmarks import large


def test_registered_and_the_unit_comes_first():
    assert "large" in SECTION_ORDER
    for quick in (True, False):
        names = [case[0] for case in large.cases(quick)]
        assert names[:5] == ["unit", "hd_hole", "12mp_hole", "hd_strokes", "exactness"]
        assert names[5] == "sm_unit" and all(name.startswith("sm_") for name in names[5:])
    full = {case[0]: case for case in large.cases(False)}
    assert full["unit"][1:3] == (512, 512) and full["unit"][4] == "off"
    assert full["12mp_hole"][1:4] == (3000, 4000, ("box", 512))
    assert full["sm_12mp_hole"][1:4] == (3000, 4000, ("box", 512))
    assert {case[6] for case in large.cases(False)} == {"checkpoint", "saved_model"}


def test_masks():
    box = large.make_holes(("box", 16), 40, 60)
    assert box.shape == (1, 40, 60) and box.sum() == 256 and box[0, 12:28, 22:38].all()
    strokes = large.make_holes(("strokes", 0), 64, 96)
    rows, cols = np.flatnonzero(strokes[0].any(1)), np.flatnonzero(strokes[0].any(0))
    assert 0.05 < strokes.mean() < 0.7 and rows[-1] - rows[0] > 32 and cols[-1] - cols[0] > 48
    several = large.make_holes(("several", 0), 96, 128)
    assert several.shape == (2, 96, 128) and several[0, -1].any()  # touches the border
    assert not np.array_equal(several[0], several[1])


# A full benchmark section (seven cases, a checkpoint and a SavedModel): ~70 s, the full tier.
@pytest.mark.e2e
def test_quick_section_reports_every_case():
    context = {"matmul_gflops": 10.0}
    section = large.run(common.BenchSettings(quick=True, repeats=1), context)
    rows = {row["case"]: row for row in section.rows}
    assert list(rows) == ["unit", "hd_hole", "12mp_hole", "hd_strokes", "exactness",
                          "sm_unit", "sm_hd_hole"]
    assert all("error" not in row for row in section.rows), section.rows
    assert rows["unit"]["vs_unit"] == 1.0 and rows["unit"]["path"] == "whole image"
    assert rows["hd_hole"]["path"].startswith("windowed")
    assert rows["sm_hd_hole"]["path"].startswith("windowed") and rows["sm_unit"]["vs_unit"] == 1.0
    assert rows["sm_hd_hole"]["est_mb"] > 0
    assert rows["hd_strokes"]["path"].startswith("whole image")
    for name in ("unit", "hd_hole", "12mp_hole", "hd_strokes"):
        assert rows[name]["seconds"] > 0 and rows[name]["floor_s"] > 0
    check = rows["exactness"]["check"]
    assert "known pixels exact" in check and ("max 0 level" in check or "max 1 level" in check)
