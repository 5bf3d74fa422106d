"""The node's backends behind their per-frame interface (no ROS)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from presstrack_body.model import BodyModel
from mesh_recovery.estimators import FootprintEstimator, LearnedEstimator, PendingRenames, PersonInput
from mesh_recovery.hmr.checkpoint import save_checkpoint
from mesh_recovery.hmr.network import HMRNet
from presstrack_common.mat_geometry import MatGeometry
from hmr_fakes import TINY


@pytest.fixture
def learned(tmp_path, default_body_path) -> LearnedEstimator:
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "tiny.pt", HMRNet(TINY))
    return LearnedEstimator(str(tmp_path / "tiny.pt"), BodyModel(default_body_path), MatGeometry(), window=TINY.window,
                            output_mode=TINY.mode, inference_path="torch-float32")


def person(track_id: int, stamp: float, pressed: bool = True) -> PersonInput:
    crop = np.zeros((TINY.crop_size, TINY.crop_size), dtype=np.float32)
    if pressed:
        crop[10:20, 12:16] = 80.0 + stamp
    return PersonInput(track_id, crop, (40, 30), (40, 50, 52, 62), None, stamp)


def test_a_lost_person_keeps_their_last_body_without_entering_the_window(learned):
    for frame in range(TINY.window):
        bodies = learned.update_frame([person(1, frame), person(2, frame)])
    assert set(bodies) == {1, 2}
    encoded = learned.bank.counters.encoder_frames
    held = learned.update_frame([person(1, 99.0), person(2, 99.0, pressed=False)])
    assert learned.bank.counters.encoder_frames == encoded + 1   # only person 1 was encoded
    assert held[2] is bodies[2]
    assert not np.array_equal(held[1].transl, bodies[1].transl) or not np.array_equal(held[1].pose, bodies[1].pose)
    learned.drop(2)
    assert learned.update_frame([person(2, 100.0, pressed=False)]) == {}   # dropped: nothing left to hold


def test_a_person_never_seen_pressing_gets_no_body(learned):
    assert learned.update_frame([person(7, 0.0, pressed=False)]) == {}


def test_a_rename_in_a_skipped_frame_reaches_the_backend_with_the_next_frame_it_takes(default_body_path):
    """The node's worker skips frames when busy; the one frame announcing a rename (5 -> 6) may be among them.
    The frame after it carries the rename until the backend took it, so 6 goes on from what it held of 5."""
    estimator, renames = FootprintEstimator(BodyModel(default_body_path), MatGeometry()), PendingRenames()

    def arrive(people):
        return renames.carry(people)

    def take(people):
        estimator.update_frame(people)
        renames.applied(people)

    take(arrive([person(5, 0.0), person(7, 0.0)]))
    memory = estimator.baseline.tracks[5]
    arrive([replace(person(6, 0.1), renamed_from=5), person(7, 0.1)])   # skipped
    third = arrive([person(6, 0.2), person(7, 0.2)])
    assert [p.renamed_from for p in third] == [5, 0]
    take(third)
    assert estimator.baseline.tracks[6] is memory and 5 not in estimator.baseline.tracks
    assert [p.renamed_from for p in arrive([person(6, 0.3)])] == [0], "applied: carried no further"


def test_pending_renames_follow_a_second_rename_and_forget_people_who_left():
    renames = PendingRenames()
    renames.carry([replace(person(6, 0.0), renamed_from=5)])
    # Renamed again before any frame reached the backend: it still holds them under 5.
    assert renames.carry([replace(person(9, 0.1), renamed_from=6)])[0].renamed_from == 5
    assert renames.carry([person(9, 0.2)])[0].renamed_from == 5
    renames.carry([person(3, 0.3)])   # 9 is gone: a backend taking this frame ends them
    assert renames.carry([person(9, 0.4)])[0].renamed_from == 0
