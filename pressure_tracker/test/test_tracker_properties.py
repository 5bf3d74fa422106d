"""Property tests: whatever the frames, the tracker never crashes and its output stays consistent."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pressure_tracker.tracker import PressureTracker, TrackerConfig, TrackState

ROWS, COLS = 60, 40


def blobs(draw_frame: np.ndarray, seeds: list[tuple[int, int, int, int, float]]) -> np.ndarray:
    frame = draw_frame.copy()
    for row, col, height, width, kpa in seeds:
        frame[row:row + height, col:col + width] += kpa
    return frame


frame_strategy = st.builds(
    blobs,
    arrays(np.float32, (ROWS, COLS), elements=st.sampled_from([0.0, 0.0, 0.0, 0.5, 3.0, 40.0, np.nan, np.inf, -5.0])),
    st.lists(st.tuples(st.integers(0, ROWS - 1), st.integers(0, COLS - 1), st.integers(1, 25), st.integers(1, 10),
                       st.floats(1.0, 400.0)), max_size=8),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame_strategy, min_size=1, max_size=12))
def test_random_frames_keep_the_output_consistent(frames):
    tracker = PressureTracker(TrackerConfig(crop_size=32, min_hits=1))
    issued = set()
    for index, frame in enumerate(frames):
        people = tracker.update(frame, index / 15.0)
        # Detections before identities (what peer trackers are given): every matched person's box and force
        # is one of them (min_hits 1: no tentative tracks; lost ones keep an old box).
        detected = {(tuple(int(v) for v in d.box), round(d.force, 6)) for d in tracker.frame_detections}
        assert all((tuple(int(v) for v in p.box), round(p.force, 6)) in detected
                   for p in people if p.state != TrackState.LOST)
        ids = [p.track_id for p in people]
        assert len(ids) == len(set(ids)), "ids unique within a frame"
        issued |= set(ids)
        owned = np.zeros((ROWS, COLS), dtype=int)
        for person in people:
            x1, y1, x2, y2 = person.box
            assert 0 <= x1 <= x2 <= COLS and 0 <= y1 <= y2 <= ROWS, f"box {person.box} off the mat"
            assert not (owned & person.mask).any(), "two people own one cell"
            owned |= person.mask
            # Every non-zero crop pixel is one of this person's own cells.
            rows, cols = np.nonzero(person.crop)
            mat_rows, mat_cols = rows + person.crop_origin[0], cols + person.crop_origin[1]
            assert ((mat_rows >= 0) & (mat_rows < ROWS) & (mat_cols >= 0) & (mat_cols < COLS)).all()
            assert person.mask[mat_rows, mat_cols].all(), "a crop holds cells of someone else or of nobody"
            assert np.isfinite(person.crop).all() and (person.crop >= 0).all()
    assert tracker.ids_issued >= len(issued)
