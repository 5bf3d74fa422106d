"""The box-error classes of `presstrack_eval.box_errors` on painted frames: one case per class."""
import numpy as np
import pytest

from presstrack_eval.box_errors import classify_frame, load_scene

SHAPE = (40, 40)


def _owner() -> np.ndarray:
    """Person 0 on rows 5-14 of columns 5-9, person 1 on rows 5-14 of columns 25-29 (50 cells each)."""
    owner = np.full(SHAPE, -1)
    owner[5:15, 5:10] = 0
    owner[5:15, 25:30] = 1
    return owner


TRUTH = np.array([[5, 5, 10, 15], [25, 5, 30, 15]], dtype=float)
NOT_LATE = np.zeros(2, dtype=bool)


def _cells(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask)


def _box(mask: np.ndarray) -> tuple:
    rows, cols = np.nonzero(mask)
    return (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)


def test_each_person_boxed_is_no_error():
    owner = _owner()
    ours = [(_box(owner == j), _cells(owner == j)) for j in (0, 1)]
    assert classify_frame(TRUTH, owner, ours, NOT_LATE) == {}


def test_one_box_over_two_people_is_a_merge_and_nobody_boxed_is_no_box_or_late():
    owner = _owner()
    both = owner >= 0
    assert classify_frame(TRUTH, owner, [(_box(both), _cells(both))], NOT_LATE) == \
        {"miss: merged": 2, "false: merged": 1}
    assert classify_frame(TRUTH, owner, [], np.array([True, False])) == {"miss: late birth": 1, "miss: no box": 1}


def test_a_person_in_two_boxes_is_split_and_part_of_a_foot_is_short():
    owner = _owner()
    row = np.arange(SHAPE[0])[:, None]
    top, bottom = (owner == 0) & (row < 9), (owner == 0) & (row >= 11)   # 20 cells each: IoU 0.4 with the person's
    ours = [(_box(top), _cells(top)), (_box(bottom), _cells(bottom)), (_box(owner == 1), _cells(owner == 1))]
    assert classify_frame(TRUTH, owner, ours, NOT_LATE) == {"miss: split": 1, "false: split part": 2}
    assert classify_frame(TRUTH, owner, ours[:1] + ours[2:], NOT_LATE) == {"miss: short": 1, "false: box mismatch": 1}


def test_held_out_seeds_are_refused():
    with pytest.raises(ValueError, match="held out"):
        load_scene("face_to_face", 10000, None)


def test_a_sliver_of_a_person_at_the_border_is_an_edge_sliver():
    owner = _owner()
    owner[20:22, 0] = 1   # 2 cells of person 1 at the border, the rest of them off the mat
    owner[5:15, 25:30] = -1
    truth = np.array([[5, 5, 10, 15], [0, 20, 1, 22]], dtype=float)
    ours = [(_box(owner == 0), _cells(owner == 0))]
    assert classify_frame(truth, owner, ours, NOT_LATE) == {"miss: edge sliver": 1}
