"""gi_tf.benchmarks.beam: the dataset, the commands, the fit and the skip line (no timings)."""

import os
import sys

import numpy as np
import pytest

from gi_tf.benchmarks import beam as beam_bench
from gi_tf.utils.image_io import read_image
from gi_tf.utils.image_io import read_mask


def test_sizes_are_seeded_mixed_and_from_the_side_list():
    sizes = beam_bench.image_sizes(64, quick=False, seed=3)
    assert sizes == beam_bench.image_sizes(64, quick=False, seed=3)
    assert sizes != beam_bench.image_sizes(64, quick=False, seed=4)
    assert all(h in beam_bench.FULL_SIDES and w in beam_bench.FULL_SIDES for h, w in sizes)
    assert len(set(sizes)) > 10 and any(h != w for h, w in sizes)


def test_dataset_pairs_each_image_with_a_centred_quarter_hole(tmp_path):
    sizes = [(32, 48), (40, 24)]
    image_dir, mask_dir = beam_bench.write_dataset(str(tmp_path), sizes, seed=1)
    names = sorted(os.listdir(image_dir))
    assert names == sorted(os.listdir(mask_dir)) == ["im000.png", "im001.png"]
    for name, (h, w) in zip(names, sizes):
        assert read_image(os.path.join(image_dir, name)).shape == (h, w, 3)
        holes = np.asarray(read_mask(os.path.join(mask_dir, name))) != 0
        rows, cols = np.nonzero(holes.reshape(h, w))
        assert (rows.min(), rows.max() + 1) == (h * 3 // 8, h * 5 // 8)
        assert (cols.min(), cols.max() + 1) == (w * 3 // 8, w * 5 // 8)


def test_commands_name_each_tool_and_two_multi_processing_workers():
    argv = beam_bench.commands("m/1", "d/in", "d/masks", "out")
    assert set(argv) == set(beam_bench.COMMANDS)
    assert "gi_tf.cli.inpaint" in argv["gi-inpaint"] and "--image_dir=d/in" in argv["gi-inpaint"]
    two = argv["beam_2mp"]
    assert two[two.index("--") + 1:] == ["--direct_num_workers=2",
                                          "--direct_running_mode=multi_processing"]
    outputs = {next(a for a in v if a.startswith("--output_dir=")) for v in argv.values()}
    assert len(outputs) == 3  # each command writes its own folder


def test_fit_recovers_startup_and_per_image_cost():
    startup, per_image = beam_bench.fit((8, 64), (3.0 + 8 * 0.5, 3.0 + 64 * 0.5))
    assert startup == pytest.approx(3.0) and per_image == pytest.approx(0.5)


def test_peak_memory_of_a_child_process_is_measured():
    seconds, peaks, launcher = beam_bench.run_measured(
        [sys.executable, "-c", "b = bytearray(200 * 2**20); import time; time.sleep(0.5)"])
    assert seconds > 0.4 and peaks[launcher] > 150 * 2**20


def test_section_says_why_it_is_skipped_without_beam(monkeypatch):
    monkeypatch.setattr(beam_bench, "beam_version", lambda: None)
    section = beam_bench.run(settings=None, context=None)
    assert not section.rows and any("Apache Beam is not installed" in n for n in section.notes)
