"""HOTA (Luiten et al. 2020) on hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from pressure_tracker.motchallenge import combine_hota, hota


def one(value: float) -> np.ndarray:
    return np.array([[value]])


def test_perfect_tracking_is_one():
    result = hota([[1], [1], [1]], [[7], [7], [7]], [one(1.0)] * 3)
    assert (result.hota, result.deta, result.assa) == (1.0, 1.0, 1.0)


def test_id_switch_halves_association():
    # One person over 4 frames, tracked as id 7 for 2 frames then id 8: DetA = 1;
    # each TP's association score is TPA / (TPA + FNA + FPA) = 2 / (2 + 2 + 0) = 0.5, so AssA = 0.5.
    result = hota([[1]] * 4, [[7], [7], [8], [8]], [one(1.0)] * 4)
    assert result.deta == pytest.approx(1.0)
    assert result.assa == pytest.approx(0.5)
    assert result.hota == pytest.approx(np.sqrt(0.5))


def test_localisation_threshold_counts_alphas():
    # IoU 0.52 is a match for alpha = 0.05 ... 0.50 (10 of 19 alphas): HOTA_alpha = 1 there, 0 above.
    result = hota([[1], [1]], [[3], [3]], [one(0.52)] * 2)
    assert result.hota == pytest.approx(10 / 19)


def test_misses_and_false_positives():
    # Frame 1: gt 1 matched; frame 2: gt 1 missed and a false positive far away (IoU 0).
    # TP = 1, FN = 1, FP = 1 at every alpha: DetA = 1/3; AssA: TPA = 1, FNA = 1, FPA = 0 -> 1/2.
    result = hota([[1], [1]], [[5], [6]], [one(1.0), one(0.0)])
    assert result.deta == pytest.approx(1 / 3)
    assert result.assa == pytest.approx(1 / 2)
    assert result.hota == pytest.approx(np.sqrt(1 / 6))


def test_empty_frames_and_combination():
    result = hota([[], [1]], [[4], []], [np.zeros((0, 1)), np.zeros((1, 0))])
    assert result.hota == 0.0
    perfect = hota([[1]], [[1]], [one(1.0)])
    combined = combine_hota([perfect, result])
    # TP 1, FN 1, FP 1 -> DetA 1/3, AssA 1
    assert combined.hota == pytest.approx(np.sqrt(1 / 3))


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="one entry per frame"):
        hota([[1]], [], [])
