"""UoE = |A u B| / |C| on hand-computed boxes, and its identity with 1 + GIoU - IoU."""
from __future__ import annotations

import pytest

from pressure_tracker.motchallenge import iou, uoe


def giou(a, b):
    """Generalised IoU written out independently of `uoe`."""
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((0, 0, 2, 2), (0, 0, 2, 2), 1.0),              # identical
    ((1, 1, 2, 2), (0, 0, 4, 4), 1.0),              # one foot grows into a box that contains it
    ((0, 0, 2, 2), (3, 0, 5, 2), 8 / 10),           # side by side with a 1-cell gap: union 8, hull 5x2
    ((0, 0, 1, 1), (2, 2, 3, 3), 2 / 9),            # diagonal: union 2, hull 3x3
    ((0, 0, 2, 2), (1, 1, 3, 3), 7 / 9),            # overlap 1: union 4 + 4 - 1, hull 3x3
    ((0, 0, 10, 25), (40, 0, 50, 25), 500 / 1250),  # two feet of different people 30 cells apart
])
def test_uoe_hand_computed(a, b, expected):
    assert uoe(a, b) == pytest.approx(expected)
    assert uoe(b, a) == pytest.approx(expected)
    assert uoe(a, b) == pytest.approx(1.0 + giou(a, b) - iou(a, b))


def test_uoe_stays_one_where_iou_drops_on_foot_to_two_feet():
    one_foot = (10, 10, 20, 35)
    two_feet = (10, 10, 38, 80)
    assert iou(one_foot, two_feet) < 0.2
    assert uoe(one_foot, two_feet) == 1.0


def test_uoe_of_empty_boxes_is_zero():
    assert uoe((3, 3, 3, 3), (3, 3, 3, 3)) == 0.0
