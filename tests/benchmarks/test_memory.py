"""Memory section: the skip guard and the chunk arithmetic (no subprocess started)."""

from gi_tf.benchmarks import common
from gi_tf.benchmarks import memory


def test_cases_beyond_the_available_memory_are_skipped(monkeypatch):
    def no_child(*args, **kwargs):
        raise AssertionError("no measurement should start")

    monkeypatch.setattr(memory, "available_bytes", lambda: 1024)
    monkeypatch.setattr(memory, "measure_in_subprocess", no_child)
    section = memory.run(common.BenchSettings(quick=True), {})
    assert len(section.rows) == 2 * len(memory.image_sizes(True))
    assert all(row["error"].startswith("skipped") for row in section.rows)
    assert [row["variant"] for row in section.rows[:2]] == ["full", "chunked"]


def test_scores_and_estimates_grow_with_the_square_of_the_grid():
    full_512 = memory.estimate_bytes(512, 512, "full", 2**27)
    full_1024 = memory.estimate_bytes(1024, 1024, "full", 2**27)
    # 16x the score entries; the linear feature term keeps the ratio a little lower.
    assert 10 < full_1024 / full_512 < 16
    assert memory.estimate_bytes(1024, 1024, "chunked", 2**20) < full_1024 / 5


def test_chunk_count_follows_the_layer_rule():
    assert memory.chunk_count(512, 512, 2**27) == 1  # 4096^2 entries fit
    # 1024^2: grid 128x128, L = 16384; rows = 2**27 // (128 * 16384) - 2 = 62 -> 3 chunks.
    assert memory.chunk_count(1024, 1024, 2**27) == 3
    # 1920x1080: grid 135x240, L = 32400; rows = 2**27 // (240 * 32400) - 2 = 15 -> 9.
    assert memory.chunk_count(1080, 1920, 2**27) == 9
    assert memory.chunk_count(1080, 1920, 1) == 34  # at least MIN_CHUNK_ROWS = 4 rows
    # The inference default 2**26: a landscape 1920x1080 gets 6 rows per chunk (each
    # computing 6 + 2 score rows), a portrait one 13 rows.
    assert memory.chunk_count(1080, 1920, 2**26) == 23
    assert memory.chunk_count(1920, 1080, 2**26) == 19


def test_image_and_feature_labels_are_both_width_by_height():
    assert memory.size_labels(1080, 1920) == ("1920x1080", "480x270x128")
    for height, width in memory.image_sizes(True) + memory.image_sizes(False):
        image, features = memory.size_labels(height, width)
        image_w, image_h = map(int, image.split("x"))
        feature_w, feature_h, channels = map(int, features.split("x"))
        assert (image_w, image_h) == (width, height) and channels == memory.CHANNELS
        assert (feature_w, feature_h) == (width // 4, height // 4)
