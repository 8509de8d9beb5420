"""Tests for gi_tf/training/loss_checks.py."""

import pytest

from gi_tf.training.loss_checks import TRAIN_TERMS
from gi_tf.training.loss_checks import NonFiniteLossError
from gi_tf.training.loss_checks import check_finite


def test_terms_are_listed_in_order_of_computation():
    assert TRAIN_TERMS.index("d_total") < TRAIN_TERMS.index("hole_l1")
    assert len(set(TRAIN_TERMS)) == len(TRAIN_TERMS) == 10


def test_check_finite_names_the_earliest_bad_term_and_the_step():
    logs = {term: 1.0 for term in TRAIN_TERMS}
    check_finite(logs, 3)
    logs.update(hole_l1=float("nan"), g_total=float("inf"), gp=float("inf"))
    with pytest.raises(NonFiniteLossError, match="'gp' is not finite.*at step 7") as info:
        check_finite(logs, 7)
    assert (info.value.term, info.value.step) == ("gp", 7)
    assert isinstance(info.value, FloatingPointError)


def test_unknown_terms_are_checked_too():
    with pytest.raises(NonFiniteLossError, match="'extra'"):
        check_finite({"g_total": 1.0, "extra": float("-inf")}, 1)
