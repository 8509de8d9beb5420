"""gi_tf.evaluation.evaluate: generated masks, folder inputs, the scoring loop and its summary."""

import math

import numpy as np
import pytest

from gi_tf.evaluation import evaluate as ev
from gi_tf.utils.image_io import write_image_atomic


def test_generated_masks_are_reproducible_and_vary_with_index():
    a = ev.generated_mask("box", 64, 64, seed=3, index=0)
    b = ev.generated_mask("box", 64, 64, seed=3, index=0)
    c = ev.generated_mask("box", 64, 64, seed=3, index=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # One rectangle: a 32x32 box with each side shrunk by 0..4 px.
    rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
    assert a.sum() == len(rows) * len(cols)
    assert 24 <= len(rows) <= 32 and 24 <= len(cols) <= 32
    free = ev.generated_mask("free", 64, 48, seed=3, index=0)
    assert free.shape == (64, 48) and free.any() and not free.all()
    with pytest.raises(ValueError, match="mask kind"):
        ev.generated_mask("circle", 64, 64, seed=3)


def _samples():
    rng = np.random.default_rng(4)
    samples = []
    for i, kind in enumerate(["box", "box", "free"]):
        image = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
        holes = np.zeros((32, 32), bool)
        holes[8:16, 8:16 + i] = True
        samples.append(ev.Sample(f"img{i}", image, holes, kind))
    return samples


def _perfect(image, holes):
    return image.copy(), np.full(image.shape, 255, np.uint8)


def _grey(image, holes):
    out = image.copy()
    out[holes] = 128
    return out


def test_evaluate_scores_every_method_and_summarizes_per_kind():
    result = ev.evaluate({"perfect": _perfect, "grey": _grey}, _samples(), num_examples=2,
                         progress=False)
    assert len(result.rows) == 3 * 3  # ground truth + 2 methods per sample
    assert len(result.examples) == 2 and "perfect" in result.examples[0]["attention"]
    summary = result.summary()
    by = {(r["mask_kind"], r["method"]): r for r in summary}
    assert [(r["mask_kind"], r["method"]) for r in summary][:3] == [
        ("box", ev.GROUND_TRUTH), ("box", "perfect"), ("box", "grey")]
    assert by[("box", "perfect")]["count"] == 2 and by[("free", "grey")]["count"] == 1
    assert by[("all", "grey")]["count"] == 3
    assert by[("all", "perfect")]["psnr_hole"] == math.inf and by[("all", "perfect")]["l1"] == 0.0
    grey_rows = [r for r in result.rows if r["method"] == "grey"]
    expected = np.mean([r["l1_hole"] for r in grey_rows])
    assert by[("all", "grey")]["l1_hole"] == pytest.approx(expected)
    assert "tv" in by[("all", ev.GROUND_TRUTH)] and "l1" not in by[("all", ev.GROUND_TRUTH)]
    assert ev.best_method(summary, "l1_hole") == "perfect"
    assert ev.best_method(summary, "ssim") == "perfect"
    assert ev.best_method(summary, "tv") == "perfect"  # closest to the ground truth's TV


def test_one_kind_has_no_all_rows():
    result = ev.evaluate({"grey": _grey}, _samples()[:2], progress=False)
    assert {r["mask_kind"] for r in result.summary()} == {"box"}


def test_evaluate_rejects_wrong_method_output():
    sample = ev.Sample("x", np.zeros((16, 16, 3), np.uint8), np.ones((16, 16), bool), "box")
    with pytest.raises(ValueError, match="'bad' returned"):
        ev.evaluate({"bad": lambda im, h: im[:8]}, [sample], progress=False)
    with pytest.raises(ValueError, match="no samples"):
        ev.evaluate({"grey": _grey}, [], progress=False)


def test_warmup_calls_each_method_once_more():
    calls = []

    def counting(image, holes):
        calls.append(1)
        return image

    ev.evaluate({"c": counting}, _samples(), progress=False, warmup=True)
    assert len(calls) == 4
    calls.clear()
    ev.evaluate({"c": counting}, _samples(), progress=False, warmup=False)
    assert len(calls) == 3


def test_folder_samples_with_mask_folder_and_generated_masks(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    rng = np.random.default_rng(0)
    for name in ("b.png", "a.jpg", "sub/c.png"):
        write_image_atomic(str(images / name), rng.integers(0, 256, (24, 40, 3), dtype=np.uint8))
    hole = np.zeros((24, 40), np.uint8)
    hole[4:10, 5:20] = 255
    for name in ("a.png", "b.png", "sub/c.png"):  # a mask may have another extension
        write_image_atomic(str(masks / name), hole)
    assert ev.list_images(str(images)) == ["a.jpg", "b.png", "sub/c.png"]
    given = list(ev.folder_samples(str(images), str(masks)))
    assert [s.name for s in given] == ["a.jpg", "b.png", "sub/c.png"]
    assert all(s.kind == "given" and np.array_equal(s.holes, hole >= 128) for s in given)
    generated = list(ev.folder_samples(str(images), kinds=("box", "free"), seed=5, limit=2))
    assert [(s.name, s.kind) for s in generated] == [
        ("a.jpg", "box"), ("a.jpg", "free"), ("b.png", "box"), ("b.png", "free")]
    np.testing.assert_array_equal(generated[2].holes, ev.generated_mask("box", 24, 40, 5, 1))
    assert ev.count_samples(str(images), kinds=("box", "free"), limit=2) == 4
    (masks / "b.png").unlink()
    with pytest.raises(FileNotFoundError, match="no mask for image 'b.png'"):
        list(ev.folder_samples(str(images), str(masks)))
    with pytest.raises(FileNotFoundError, match="not a directory"):
        ev.list_images(str(tmp_path / "missing"))
