"""AttentionPropagation ("fuse") against the NumPy reference."""

import numpy as np
import pytest

from gi_tf.layers import AttentionPropagation

import layer_checks
from references import np_contextual_attention as ref


@pytest.mark.parametrize("fuse_k", [1, 2, 3])
@pytest.mark.parametrize("grid", [(4, 4), (3, 5), (5, 2), (1, 6)])
def test_matches_reference(grid, fuse_k):
    h, w = grid
    scores = np.random.randn(2, h, w, h, w).astype("float32")
    got = np.asarray(AttentionPropagation(fuse_k=fuse_k)(scores))
    expected = ref.attention_propagation(scores, fuse_k)
    assert got.shape == scores.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_fuse_k_1_is_identity():
    scores = np.random.randn(1, 3, 4, 3, 4).astype("float32")
    np.testing.assert_allclose(np.asarray(AttentionPropagation(fuse_k=1)(scores)), scores)


def test_propagation_wraps_across_rows():
    # Row-major flattening: foreground (0, w-1) and (1, 0) are neighbours, so a single
    # score at (fg (1, 0), bg (1, 0)) also reaches (fg (0, w-1), bg (0, w-1)).
    h, w = 3, 4
    scores = np.zeros((1, h, w, h, w), "float32")
    scores[0, 1, 0, 1, 0] = 1.0
    out = np.asarray(AttentionPropagation(fuse_k=3)(scores))
    assert out[0, 0, w - 1, 0, w - 1] == 1.0
    np.testing.assert_allclose(out, ref.attention_propagation(scores, 3), atol=1e-6)


def test_rejects_non_positive_fuse_k():
    with pytest.raises(ValueError):
        AttentionPropagation(fuse_k=0)


def test_config_round_trip_and_saving(tmp_path):
    scores = np.random.randn(2, 3, 4, 3, 4).astype("float32")
    layer_checks.run_layer_contract(AttentionPropagation, {"fuse_k": 2}, [scores], tmp_path)
