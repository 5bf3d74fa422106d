"""A person who comes back is confirmed at once under a provisional id until recognised: the suite writes the rows
of those frames under the id they are recognised as, so an offline score sees one id for the whole return (live,
they are withheld until then)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from presstrack_eval.track_suite import mot_rows
from pressure_tracker.tracker import PressureTracker, TrackerConfig

SHAPE, FPS = (238, 120), 15.0


def standing(col: int, row: int, kpa: float) -> np.ndarray:
    """Two 26 x 9-cell soles 20 cm apart, heels at `row`, left sole from column `col`."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    for left in (col, col + 20):
        frame[row:row + 26, left:left + 9] = kpa
    return frame


def test_the_rows_of_a_recognised_return_carry_the_known_id_from_its_first_frame():
    light, heavy = standing(30, 40, 60.0), standing(50, 170, 90.0)
    back = standing(60, 20, 60.0)           # elsewhere, and farther than a step from the heavy one
    phases = [(light + heavy, 2.0), (heavy, 5.0), (back + heavy, 3.0)]
    frames = np.stack([frame for frame, seconds in phases for _ in range(int(seconds * FPS))])
    tracker = PressureTracker(TrackerConfig(report_lost=False))
    rows = mot_rows(tracker, frames, FPS)
    returned = int(7.0 * FPS)
    (light_id,) = {r.track_id for r in rows if r.top < 150 and r.frame <= returned}
    light_rows = [r for r in rows if r.top < 150 and r.frame > returned]
    assert {r.track_id for r in light_rows} == {light_id}
    # every frame of the return from the third on (min_hits) has its row, the tentative ones written back
    assert len(light_rows) >= len(frames) - returned - 2
    assert tracker.ids_issued == 3                   # the provisional id was handed out and published ...
    assert len({r.track_id for r in rows}) == 2      # ... but no row keeps it


def test_the_rows_as_published_carry_only_settled_ids_and_no_back_fill():
    light, heavy = standing(30, 40, 60.0), standing(50, 170, 90.0)
    returned = int(7.0 * FPS)
    # The light one back, or somebody heavier: withheld until weighed, then published under who they are only
    for back, recognised in ((standing(60, 20, 60.0), True), (standing(60, 20, 75.0), False)):
        phases = [(light + heavy, 2.0), (heavy, 5.0), (back + heavy, 3.0)]
        frames = np.stack([frame for frame, seconds in phases for _ in range(int(seconds * FPS))])
        published: list = []
        rows = mot_rows(PressureTracker(TrackerConfig(report_lost=False)), frames, FPS, published_out=published)
        (light_id,) = {r.track_id for r in published if r.top < 150 and r.frame <= returned}
        back_rows = [r for r in published if r.top < 150 and r.frame > returned]
        assert {r.track_id for r in published} == ({1, 2} if recognised else {1, 2, 3})
        assert {r.track_id for r in back_rows} == ({light_id} if recognised else {3})   # one id, the settled one
        first_back = min(r.frame for r in back_rows)
        assert first_back >= returned + TrackerConfig.signature_time * FPS   # withheld until weighed, not back-filled
        assert len(published) < len(rows)


def test_the_evaluated_track_of_a_recognised_return_is_one_run_under_the_known_id():
    """presstrack-eval's backends see the tracker's tracks: a return published under a provisional id until
    recognised is one run under the known id, its window carried over the rename as the node does
    (`renamed_from`), not a run that stops at the rename and another that starts over."""
    from presstrack_common.mat_geometry import MatGeometry
    from presstrack_common.mip_format import MIP_FULL_SCALE_KPA
    from presstrack_eval.dataset import Recording
    from presstrack_eval.evaluate import tracker_tracks

    light, heavy = standing(30, 40, 60.0), standing(50, 170, 90.0)
    phases = [(light + heavy, 2.0), (heavy, 5.0), (standing(60, 20, 60.0) + heavy, 3.0)]
    frames = np.stack([frame for frame, seconds in phases for _ in range(int(seconds * FPS))])
    count = len(frames)
    recording = Recording(Path("standing"), "standing", frames / np.float32(MIP_FULL_SCALE_KPA),
                          np.zeros((count, 1, 4)), np.zeros((count, 1), bool), np.zeros((count, 1, 72), np.float32),
                          np.zeros((count, 1, 10), np.float32), np.zeros((count, 1, 3), np.float32),
                          np.zeros((count, 1, 24, 3), np.float32), np.array([[0, count]]), FPS,
                          MatGeometry().corners_world())
    tracks = tracker_tracks(recording, 0, count)
    returned = int(7.0 * FPS)
    light_id = next(t.track_id for t in tracks if t.frames[0] < returned and t.boxes[0][1] < 150)
    (back,) = [t for t in tracks if t.frames[-1] >= returned and t.boxes[-1][1] < 150]
    assert back.track_id == light_id and back.frames[0] <= returned + TrackerConfig.min_hits
    assert back.frames[-1] == count - 1 and np.all(np.diff(back.frames) == 1)


def test_the_training_slot_of_a_recognised_return_goes_on_over_the_rename():
    """Training on the tracker's crops (`tracked_recording`) sees the same tracks as presstrack-eval: a return
    recognised as the person who left goes on in one slot over the rename, so its windows do not start over."""
    from presstrack_common.mat_geometry import MatGeometry
    from presstrack_common.mip_format import MIP_FULL_SCALE_KPA
    from presstrack_eval.dataset import Recording
    from presstrack_eval.evaluate import tracked_recording

    def sole_pair_box(col: int, row: int) -> list[int]:   # the box of `standing(col, row, ...)`
        return [col, row, col + 29, row + 26]

    fps = int(FPS)
    # (frame, truth box of the light person or None, of the heavy one): they stand, the light one leaves, comes back
    phases = [(standing(30, 40, 60.0), sole_pair_box(30, 40), 2 * fps), (None, None, 5 * fps),
              (standing(60, 20, 60.0), sole_pair_box(60, 20), 3 * fps)]
    heavy = standing(50, 170, 90.0)
    frames = np.stack([heavy + (light if light is not None else 0) for light, _, n in phases for _ in range(n)])
    boxes = np.array([[box or [0, 0, 0, 0], sole_pair_box(50, 170)] for _, box, n in phases for _ in range(n)], float)
    present = np.array([[box is not None, True] for _, box, n in phases for _ in range(n)])
    count = len(frames)
    recording = Recording(Path("standing"), "standing", frames / np.float32(MIP_FULL_SCALE_KPA), boxes, present,
                          np.zeros((count, 2, 72), np.float32), np.zeros((count, 2, 10), np.float32),
                          np.zeros((count, 2, 3), np.float32), np.zeros((count, 2, 24, 3), np.float32),
                          np.array([[0, count]]), FPS, MatGeometry().corners_world())
    tracked = tracked_recording(recording)
    returned = 7 * fps
    (slot,) = [k for k in range(tracked.num_slots) if tracked.present[-1, k] and tracked.boxes[-1, k, 1] < 150]
    back = np.flatnonzero(tracked.present[returned:, slot]) + returned
    assert back[0] <= returned + TrackerConfig.min_hits and back[-1] == count - 1 and np.all(np.diff(back) == 1)
    assert tracked.present[returned:].any(axis=0).sum() == 2          # the return's slot and the heavy one's
