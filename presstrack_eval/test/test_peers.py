"""Peer trackers (peers.py): the UoE similarity and the paper's tracker rules, and the `trackers` package
adapter fed boxes frame by frame."""
from __future__ import annotations

import numpy as np
import pytest

from presstrack_eval.peers import PEERS, UoETracker, detection_boxes, make_peer, uoe
from presstrack_eval.track_suite import peer_rows


def test_uoe_is_one_for_a_contained_box_and_low_for_boxes_apart():
    one_foot = np.array([[10, 10, 20, 40]])
    two_feet = np.array([[10, 10, 35, 45]])
    apart = np.array([[60, 10, 70, 40]])
    assert uoe(one_foot, two_feet)[0, 0] == pytest.approx(1.0)
    # Two 10 x 30 boxes 40 cells apart: union 600 of the enclosing 60 x 30.
    assert uoe(one_foot, apart)[0, 0] == pytest.approx(600 / 1800)
    # Half-overlapping boxes: union 10 x 30 + 5 x 30 over the same enclosing box.
    assert uoe(one_foot, one_foot + [5, 0, 5, 0])[0, 0] == pytest.approx(1.0)
    assert uoe(one_foot, two_feet).shape == (1, 1) and uoe(np.zeros((0, 4)), two_feet).shape == (0, 1)


def test_uoe_tracker_keeps_a_person_whose_box_grows_from_one_foot_to_two():
    tracker = UoETracker()
    frames = [[[10, 10, 20, 40], [80, 150, 95, 180]], [[10, 10, 35, 45], [80, 150, 95, 180]],
              [[22, 14, 35, 45], [82, 152, 97, 182]], [[22, 14, 48, 50], [84, 154, 99, 184]]]
    reported = [dict(tracker.update(np.array(boxes, dtype=float), np.ones(2))) for boxes in frames]
    assert reported[0] == {}  # confirmed from the second consecutive match, as ByteTrack activates
    assert all(sorted(r) == [1, 2] for r in reported[1:])
    assert reported[3][1] == (22.0, 14.0, 48.0, 50.0)  # no motion model: the track takes the detection's box


def test_uoe_tracker_keeps_a_lost_track_one_frame_and_needs_confidence_for_new_tracks():
    tracker = UoETracker()
    box = np.array([[10, 10, 20, 40]], dtype=float)
    tracker.update(box, np.ones(1))
    assert dict(tracker.update(box, np.ones(1))) == {1: (10.0, 10.0, 20.0, 40.0)}
    tracker.update(np.zeros((0, 4)), np.zeros(0))  # lost one frame: kept
    assert dict(tracker.update(box, np.ones(1))) == {1: (10.0, 10.0, 20.0, 40.0)}
    tracker.update(np.zeros((0, 4)), np.zeros(0))
    tracker.update(np.zeros((0, 4)), np.zeros(0))  # lost two frames: gone, the next box starts track 2
    tracker.update(box, np.ones(1))
    assert dict(tracker.update(box, np.ones(1))) == {2: (10.0, 10.0, 20.0, 40.0)}
    unsure = UoETracker()
    for _ in range(3):
        assert unsure.update(box, np.full(1, 0.85)) == []  # below the paper's 0.9 no track starts


@pytest.mark.parametrize("name", PEERS)
def test_every_peer_follows_two_walkers_fed_frame_by_frame(name):
    fps = 15.0
    detections = []
    for t in range(40):  # two boxes walking towards each other along the rows, 50 cells apart sideways
        boxes = np.array([[20, 10 + 3 * t, 35, 40 + 3 * t], [70, 200 - 3 * t, 85, 230 - 3 * t]], dtype=float)
        detections.append((boxes, np.ones(2)))
    rows = peer_rows(make_peer(name, fps), detections)
    ids_by_lane = {}
    for row in rows:
        ids_by_lane.setdefault(row.left < 50, set()).add(row.track_id)
    assert {lane: len(ids) for lane, ids in ids_by_lane.items()} == {True: 1, False: 1}
    assert len(rows) >= 2 * 40 - 2 * 3  # immature frames (at most 3 per track) are not written
    last = [r for r in rows if r.frame == 40]
    assert sorted((r.left, r.top, r.width, r.height) for r in last) == [(20, 127, 15, 30), (70, 83, 15, 30)]


def test_detection_boxes_reads_box_attributes():
    class Detection:
        def __init__(self, box, force):
            self.box, self.force = box, force

    boxes, confidences = detection_boxes([Detection((1, 2, 3, 4), 700.0), Detection((5, 6, 7, 8), 20.0)])
    assert boxes.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]] and confidences.tolist() == [1.0, 1.0]
    empty, none = detection_boxes([])
    assert empty.shape == (0, 4) and none.shape == (0,)
    with pytest.raises(ValueError, match="unknown peer"):
        make_peer("DeepSORT", 15.0)
