"""Tracking: life cycle (tentative -> confirmed -> lost -> deleted), ids never reused, and identities
kept on synthetic multi-person walking scenes (side by side, face to face, crossing, curved paths)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pressure_tracker.motchallenge import MotRow, evaluate
from painted_footprints import Walker, walking_scene
from pressure_tracker.tracker import BaselineTracker, PressureTracker, TrackState, TrackerConfig


def run(tracker, pressure: np.ndarray, fps: float = 15.0):
    """Per frame the list of TrackedPerson, and MOT rows of the confirmed ones."""
    history, rows = [], []
    for index, frame in enumerate(pressure):
        people = tracker.update(frame, index / fps)
        history.append(people)
        rows += [MotRow(index + 1, p.track_id, p.box[0], p.box[1], p.box[2] - p.box[0], p.box[3] - p.box[1], p.confidence)
                 for p in people if p.state == TrackState.CONFIRMED]
    return history, rows


# Two people crossing the 1.2 m x 2.38 m mat once (about 3 s at 0.8 m/s), in ways that bring their feet close.
SCENARIOS = {
    # side by side, path centres 0.40 m apart (adjacent feet 0.22 m apart), out of phase
    "side_by_side_40cm": [Walker((0.40, 0.10), math.pi / 2, speed=0.8, step_length=0.5),
                          Walker((0.80, 0.10), math.pi / 2, speed=0.8, step_length=0.5, start_time=0.25,
                                 first_foot_left=False)],
    # face to face on paths 0.40 m apart, passing each other mid-mat
    "face_to_face": [Walker((0.40, 0.10), math.pi / 2, speed=0.8, step_length=0.5),
                     Walker((0.80, 2.25), -math.pi / 2, speed=0.8, step_length=0.5, start_time=0.1)],
    # crossing diagonals, the second walker passing about 0.6 m behind the first
    "crossing": [Walker((0.15, 0.20), math.atan2(1.9, 0.9), speed=0.9),
                 Walker((1.05, 0.20), math.atan2(1.9, -0.9), speed=0.9, start_time=1.0, first_foot_left=False)],
    # curved path next to a straight one
    "curved": [Walker((0.15, 0.15), math.pi / 2 - 0.4, speed=0.8, step_length=0.5, curvature=0.45),
               Walker((0.95, 2.25), -math.pi / 2, speed=0.8, step_length=0.5, start_time=0.4)],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_identities_persist_in_two_person_scenes(name):
    scene = walking_scene(SCENARIOS[name], n_frames=50, noise_kpa=2.0, seed=3)
    _, rows = run(PressureTracker(), scene.pressure)
    scores = evaluate(scene.boxes, rows)
    assert scores.id_switches == 0, name
    assert scores.idf1 > 0.9, name
    assert scores.mota > 0.9, name
    assert len({r.track_id for r in rows}) == 2, name


def test_baseline_fragments_where_footprint_tracking_does_not():
    scene = walking_scene(SCENARIOS["side_by_side_40cm"], n_frames=50, noise_kpa=2.0, seed=3)
    _, rows = run(BaselineTracker(), scene.pressure)
    assert len({r.track_id for r in rows}) > 4   # every footstep is a new blob id


def test_id_kept_through_a_gap_with_no_footprint():
    walker = Walker((0.6, 0.2), math.pi / 2)
    scene = walking_scene([walker], n_frames=40, noise_kpa=1.0)
    pressure = scene.pressure.copy()
    pressure[20:25] = 0.0   # both feet in the air for 5 frames (a hop), or a dropped-out sensor
    history, _ = run(PressureTracker(), pressure)
    ids_before = {p.track_id for p in history[19]}
    assert len(ids_before) == 1
    assert all(p.state == TrackState.LOST and not p.mask.any() for p in history[22])
    assert {p.track_id for p in history[22]} == ids_before
    assert {p.track_id for p in history[30] if p.state == TrackState.CONFIRMED} == ids_before


def test_life_cycle_and_ids_never_reused():
    walker = Walker((0.6, 0.5), math.pi / 2, n_steps=3)
    steps = walking_scene([walker], n_frames=30, noise_kpa=0.0).pressure
    last = int(np.flatnonzero(steps.reshape(len(steps), -1).any(axis=1))[-1])
    steps = steps[:last + 1]
    heavier = walking_scene([Walker((0.6, 0.5), math.pi / 2, n_steps=3, weight_n=900.0)], n_frames=30,
                            noise_kpa=0.0).pressure[:last + 1]
    max_age = 5   # frames: lost_time is 5.5 frame periods
    tracker = PressureTracker(TrackerConfig(min_hits=3, lost_time=5.5 / 15, first_id=100))
    history, _ = run(tracker, np.concatenate([steps, np.zeros_like(steps[:max_age + 3]), heavier]))
    states = [[(p.track_id, p.state) for p in people] for people in history]
    assert states[0] == [(100, TrackState.TENTATIVE)]
    assert states[1] == [(100, TrackState.TENTATIVE)]
    assert states[2] == [(100, TrackState.CONFIRMED)]
    assert states[last] == [(100, TrackState.CONFIRMED)]
    assert all(s == [(100, TrackState.LOST)] for s in states[last + 1:last + 1 + max_age])
    assert states[last + 1 + max_age] == []
    # somebody else (30 % heavier) walks the same path after the track was deleted: a new id, never 100 again
    assert {i for s in states[last + max_age + 3:] for i, _ in s} == {101}
    assert tracker.tracker.next_id == 102


def test_tentative_track_dies_when_unmatched():
    frame = np.zeros((238, 120), dtype=np.float32)
    walking = walking_scene([Walker((0.6, 1.0), math.pi / 2, n_steps=1)], n_frames=3, noise_kpa=0.0).pressure
    tracker = PressureTracker()
    tracker.update(walking[2], 0.0)
    assert [p.state for p in tracker.update(frame, 1 / 15)] == []


def test_tracked_person_fields():
    scene = walking_scene([Walker((0.6, 0.3), math.pi / 2)], n_frames=15, noise_kpa=1.0)
    history, _ = run(PressureTracker(), scene.pressure)
    person = history[14][0]
    assert person.state == TrackState.CONFIRMED
    assert person.mask.shape == (238, 120) and person.mask.any()
    x1, y1, x2, y2 = person.box
    rows, cols = np.nonzero(person.mask)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (y1, y2, x1, x2)
    assert person.force == pytest.approx(scene.pressure[14][person.mask].sum() * 1e-4 * 1000.0, rel=1e-4)
    assert person.contact_area == pytest.approx(person.mask.sum() * 1e-4)
    assert person.centroid_m == pytest.approx(((person.centroid_rc[1] + 0.5) * 0.01, (person.centroid_rc[0] + 0.5) * 0.01))
    assert abs(math.remainder(person.heading - math.pi / 2, 2 * math.pi)) < 0.3   # walking towards +y
    assert person.crop.shape == (128, 128)
    assert person.crop.sum() == pytest.approx(scene.pressure[14][person.mask].sum(), rel=1e-5)


def test_frame_validation_and_nonfinite_cells():
    tracker = PressureTracker()
    with pytest.raises(ValueError, match="2-D"):
        tracker.update(np.zeros((4, 238, 120), dtype=np.float32))
    frame = np.zeros((238, 120), dtype=np.float32)
    frame[0, :3] = [np.nan, np.inf, -np.inf]
    tracker.update(frame)
    assert tracker.nonfinite_cells == 3
    with pytest.raises(ValueError, match="shape changed"):
        tracker.update(np.zeros((100, 100), dtype=np.float32))
    with pytest.raises(ValueError, match="numeric"):
        tracker.update(np.zeros((238, 120), dtype=bool))


def test_config_validation_and_reconfigure_keeps_tracks_and_ids():
    with pytest.raises(ValueError, match="min_hits"):
        TrackerConfig(min_hits=0)
    with pytest.raises(ValueError, match="cell_pitch"):
        TrackerConfig(cell_pitch=float("nan"))
    with pytest.raises(ValueError, match="crop_size"):
        TrackerConfig(crop_size=True)
    scene = walking_scene([Walker((0.6, 0.3), math.pi / 2)], n_frames=20, noise_kpa=1.0)
    tracker = PressureTracker(TrackerConfig(first_id=5))
    history, _ = run(tracker, scene.pressure[:10])
    assert tracker.ids_issued == 1 and history[-1][0].track_id == 5
    tracker.reconfigure(TrackerConfig(crop_size=64, lost_time=0.2, first_id=50))
    people = tracker.update(scene.pressure[10], 10 / 15)
    assert [p.track_id for p in people] == [5]          # the live track keeps its id
    assert people[0].crop.shape == (64, 64)
    assert tracker.tracker.next_id == 50                # new ids start above first_id
