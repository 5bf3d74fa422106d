"""A frame of noise skips tracking without touching identities; the persisted last id is validated."""
from __future__ import annotations

import math

import numpy as np
import pytest

from painted_footprints import Walker, walking_scene
from presstrack_common.faults import noise_storm
from pressure_tracker import node
from pressure_tracker.tracker import PressureTracker, TooManyPeople, TrackState


def confirmed_ids(people) -> set[int]:
    return {p.track_id for p in people if p.state is TrackState.CONFIRMED}


def test_a_noise_storm_frame_is_skipped_and_every_identity_survives_it():
    walkers = [Walker((0.40, 0.20), math.pi / 2, speed=0.6, step_length=0.5),
               Walker((0.85, 2.20), -math.pi / 2, speed=0.6, step_length=0.5, start_time=0.1)]
    frames = walking_scene(walkers, n_frames=40, seed=1).pressure
    rng = np.random.default_rng(0)
    storm = noise_storm(frames[0].shape, rng)
    tracker = PressureTracker()
    for index in range(20):
        before = confirmed_ids(tracker.update(frames[index], index / 15.0, max_people=3))
    assert len(before) == 2
    for burst in range(3):
        with pytest.raises(TooManyPeople):
            tracker.update(storm, (20 + burst) / 15.0, max_people=3)
    after = [confirmed_ids(tracker.update(frames[index], index / 15.0, max_people=3)) for index in range(23, 40)]
    assert all(ids == before for ids in after[2:]), (before, after)


@pytest.mark.parametrize("text", ["4294967290", "2147483647", "-3", "twelve", ""])
def test_a_last_id_file_without_a_usable_id_is_reported_with_its_path_and_ids_start_over(text, tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    node.last_id_path().parent.mkdir(parents=True)
    node.last_id_path().write_text(text)
    warnings: list[str] = []
    assert node.read_last_id(warnings.append) == 0
    assert len(warnings) == 1 and str(node.last_id_path()) in warnings[0]


def test_a_saved_last_id_is_continued(tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    assert node.read_last_id() == 0  # no file yet: nothing to report
    assert node.write_last_id(4711) is None
    assert node.read_last_id() == 4711
