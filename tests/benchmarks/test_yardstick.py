"""gi_tf/benchmarks/yardstick.py: the machine's rate for gi-inpaint --plan, measured once."""

import json

from gi_tf.benchmarks import yardstick


class _Counter:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_the_rate_is_measured_once_then_read_from_the_cache(tmp_path):
    measure = _Counter(41.5)
    first = yardstick.cached_matmul_gflops(str(tmp_path), measure)
    second = yardstick.cached_matmul_gflops(str(tmp_path), measure)
    path = str(tmp_path / "rate.json")
    assert first == (41.5, path, True) and second == (41.5, path, False)
    assert measure.calls == 1
    # keyed by what the rate belongs to: CPU model, device, TensorFlow version, threads
    stored = json.loads((tmp_path / "rate.json").read_text())
    assert stored == {yardstick.rate_key(): 41.5}
    assert "TF " in yardstick.rate_key() and " threads" in yardstick.rate_key()


def test_a_corrupt_or_foreign_cache_is_measured_again(tmp_path):
    for content in ("{not json", "[1, 2]", json.dumps({yardstick.rate_key(): "fast"}),
                    json.dumps({yardstick.rate_key(): -3.0})):
        (tmp_path / "rate.json").write_text(content)
        measure = _Counter(12.0)
        assert yardstick.cached_matmul_gflops(str(tmp_path), measure) == (
            12.0, str(tmp_path / "rate.json"), True)
        assert measure.calls == 1
        assert json.loads((tmp_path / "rate.json").read_text())[yardstick.rate_key()] == 12.0
    # another machine's entry is kept beside this one's
    (tmp_path / "rate.json").write_text(json.dumps({"other CPU": 3.0}))
    yardstick.cached_matmul_gflops(str(tmp_path), _Counter(7.0))
    assert json.loads((tmp_path / "rate.json").read_text()) == {
        "other CPU": 3.0, yardstick.rate_key(): 7.0}


def test_an_unwritable_cache_still_gives_the_rate(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    gflops, path, measured = yardstick.cached_matmul_gflops(str(blocker / "sub"), _Counter(5.0))
    assert (gflops, path, measured) == (5.0, None, True)


def test_the_cache_lives_in_the_users_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert yardstick.cache_dir() == str(tmp_path / "gi_tf")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert yardstick.cache_dir() == str(tmp_path / "home" / ".cache" / "gi_tf")
