"""`presstrack-fake-mat`'s default load is a person the tracker follows, read with the driver's defaults."""
from __future__ import annotations

from mat_driver.calibration import Calibration
from mat_driver.fake_device import FakeMat
from pressure_tracker.tracker import PressureTracker, TrackState


def test_the_tracker_follows_the_fake_mats_default_person_with_one_id():
    mat = FakeMat(rows=238, cols=120)
    calibration = Calibration.identity(238, 120, kpa_per_raw=1.0, noise_floor_kpa=1.0, full_scale_kpa=600.0)
    tracker = PressureTracker()
    confirmed = []
    for index in range(90):
        persons = tracker.update(calibration.apply(mat.samples(index)), index / 15.0)
        confirmed.append({p.track_id for p in persons if p.state is TrackState.CONFIRMED})
    assert all(len(ids) == 1 for ids in confirmed[15:]), "one person, every frame once confirmed"
    assert len(set().union(*confirmed)) == 1, "under one id"
