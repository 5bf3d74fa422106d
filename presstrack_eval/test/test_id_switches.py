"""The id switch classifier names what each switch was, against the truth: a rename, a new id, a person's own id
back or another's, and whether the person had left the mat in between."""
from __future__ import annotations

import numpy as np

from presstrack_eval.id_switches import classify_switches
from presstrack_eval.track_suite import score_rows
from pressure_tracker.motchallenge import MotRow

BOX = (10.0, 10.0, 30.0, 40.0)


def causes(ids: list[int | None], aliases: dict[int, int] | None = None, other: list[int | None] | None = None):
    """Switch causes of one person (slot 0) published under ids[f] on frame f (None: off the mat); `other`: a second
    person far away (slot 1), likewise."""
    people = [ids] + ([other] if other else [])
    box = np.zeros((len(ids), len(people), 4))
    rows = []
    for slot, person in enumerate(people):
        shifted = np.array(BOX) + 60.0 * slot
        for frame, track_id in enumerate(person):
            if track_id is not None:
                box[frame, slot] = shifted
                rows.append(MotRow(frame + 1, track_id, shifted[0], shifted[1], 20.0, 30.0, 1.0))
    result = score_rows(sorted(rows, key=lambda r: (r.frame, r.track_id)), box, "scene", 0.0)
    return dict(classify_switches(result.accumulator.mot_events, np.any(box != 0, axis=2), aliases or {}))


def test_each_switch_is_named_by_what_the_new_id_was_and_whether_the_person_had_left():
    assert causes([1, 1, None, None, 2, 2]) == {"new id, return": 1}
    assert causes([1, 1, 2, 2]) == {"new id, on mat": 1}
    assert causes([3, 3, 1, 1], aliases={3: 1}, other=[1, None, None, None]) == {"rename": 1}
    assert causes([1, 1, 2, 2, 1, 1]) == {"new id, on mat": 1, "own id, on mat": 1}
    assert causes([1, 1, None, 2, 2], other=[2, 2, 2, None, None]) == {"another's id, return": 1}
