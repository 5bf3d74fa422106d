"""The training-free backend puts the feet where the pressure is."""
from __future__ import annotations

import math

import numpy as np
import pytest

from presstrack_body.kinematics import JOINT_NAMES
from presstrack_body.model import BodyModel
from mesh_recovery.estimators import FootprintEstimator, PersonInput
from mesh_recovery.footprint_baseline import find_footprints
from presstrack_common.mat_geometry import MatGeometry

J = {name: i for i, name in enumerate(JOINT_NAMES)}
GEOMETRY = MatGeometry()  # MIP placement: columns along world -x, rows along world -y


def stamp_foot(frame, centre_rc, heading_mat, length=24, width=9, kpa=150.0):
    """A foot-shaped ellipse of pressure (cells) centred at centre_rc, its long axis along heading_mat."""
    rows, cols = np.mgrid[: frame.shape[0], : frame.shape[1]]
    d_col, d_row = cols - centre_rc[1], rows - centre_rc[0]
    along = d_col * math.cos(heading_mat) + d_row * math.sin(heading_mat)
    across = -d_col * math.sin(heading_mat) + d_row * math.cos(heading_mat)
    inside = (along / (length / 2)) ** 2 + (across / (width / 2)) ** 2 <= 1
    frame[inside] += kpa


@pytest.fixture(scope="module")
def body_model(default_body_path):
    return BodyModel(default_body_path)


@pytest.fixture(scope="module")
def estimator(body_model):
    return FootprintEstimator(body_model, GEOMETRY)


def crop_of(feet_rc, heading_mat, size=128, origin=(60, 0)):
    crop = np.zeros((size, size), dtype=np.float32)
    for centre in feet_rc:
        stamp_foot(crop, (centre[0] - origin[0], centre[1] - origin[1]), heading_mat)
    return crop, origin


def world_heading(heading_mat):
    return heading_mat + GEOMETRY.yaw_world_from_mat


def estimate(estimator, track_id, crop, origin, heading, stamp):
    person = PersonInput(track_id, crop, origin, (0, 0, 0, 0), heading, stamp)
    return estimator.update_frame([person]).get(track_id)


def test_two_feet_on_the_floor_are_where_the_pressure_is(estimator):
    heading_mat = math.pi / 2  # walking along increasing rows
    # Walking along +rows, the person's left is towards decreasing columns... in the mat frame (z up)
    # left of +y is -x, i.e. smaller column indices.
    feet = [(110.0, 50.0), (125.0, 70.0)]
    crop, origin = crop_of(feet, heading_mat)
    body = estimate(estimator, 1, crop, origin, world_heading(heading_mat), stamp=0.0)
    assert body is not None
    joints = body.joints
    footprint_world = GEOMETRY.cell_to_world(np.array(feet))
    for side, index in (("left", 0), ("right", 1)):
        ankle = joints[J[f"{side}_ankle"]]
        # The ankle sits behind the middle of its footprint, along the walking direction, at ankle height.
        assert np.linalg.norm(ankle[:2] - footprint_world[index]) < 0.08, side
        assert 0.03 < ankle[2] < 0.15, side
    pelvis = joints[J["pelvis"]]
    assert 0.7 < pelvis[2] < 1.2
    assert np.linalg.norm(pelvis[:2] - footprint_world.mean(axis=0)) < 0.15
    assert joints[J["head"], 2] > pelvis[2] + 0.4, "upright"
    assert np.all(np.isfinite(body.pose))


def test_lifted_foot_swings_above_the_floor(estimator):
    heading_mat = math.pi / 2
    feet = [(110.0, 50.0), (125.0, 70.0)]
    crop, origin = crop_of(feet, heading_mat)
    estimate(estimator, 2, crop, origin, world_heading(heading_mat), stamp=0.0)
    crop, origin = crop_of(feet[1:], heading_mat)  # left foot lifts off
    body = estimate(estimator, 2, crop, origin, world_heading(heading_mat), stamp=0.2)
    left, right = body.joints[J["left_ankle"]], body.joints[J["right_ankle"]]
    assert left[2] > right[2] + 0.04, "the swing ankle is lifted at mid-swing"


def test_no_pressure_and_no_memory_gives_no_body(estimator):
    assert estimate(estimator, 3, np.zeros((128, 128), np.float32), (0, 0), None, 0.0) is None


@pytest.mark.parametrize("corner", ["top left", "bottom right"])
def test_footprint_at_the_crop_edge_is_the_same_foot(corner):
    heading_mat, centre, origin = 0.3, np.array([60.0, 60.0]), np.array([100, 20])
    inside = np.zeros((128, 128), np.float32)
    stamp_foot(inside, centre, heading_mat)
    rows, cols = np.nonzero(inside > 1.0)
    # Shift the same foot so its loaded cells reach the crop's edge rows and columns (within the joining gap).
    if corner == "top left":
        shift = np.array([1 - rows.min(), -cols.min()])
    else:
        shift = np.array([127 - rows.max(), 126 - cols.max()])
    at_edge = np.zeros((128, 128), np.float32)
    stamp_foot(at_edge, centre + shift, heading_mat)
    assert np.count_nonzero(at_edge > 1.0) == rows.size, "the whole foot is inside the crop"
    (foot,) = find_footprints(inside, tuple(origin), GEOMETRY)
    (edge_foot,) = find_footprints(at_edge, tuple(origin - shift), GEOMETRY)  # the same mat cells
    np.testing.assert_allclose(edge_foot.centre, foot.centre, atol=1e-12)
    np.testing.assert_allclose(abs(edge_foot.axis @ foot.axis), 1.0, atol=1e-12)
    assert edge_foot.length == pytest.approx(foot.length)


def walking_frames(people=4, frames=14):
    """Per frame, PersonInputs of people walking side by side along increasing rows, feet alternately lifted,
    one of them without a tracker heading; the last person only steps on the mat halfway through."""
    heading_mat = math.pi / 2
    out = []
    for frame in range(frames):
        inputs = []
        for person in range(people):
            if person == people - 1 and frame < frames // 2:
                continue
            origin = (40 + 3 * frame, 128 * person % 110)
            row = origin[0] + 50 + 3 * frame
            feet = [(row - 8 * (frame % 3 == 0), origin[1] + 50), (row + 8, origin[1] + 70)]
            if frame % 4 == 1:
                feet = feet[1:]  # left foot in the air
            crop = np.zeros((128, 128), np.float32)
            for centre in feet:
                stamp_foot(crop, (centre[0] - origin[0], centre[1] - origin[1]), heading_mat, kpa=100.0 + 20 * person)
            heading = None if person == 1 else world_heading(heading_mat)
            inputs.append(PersonInput(10 + person, crop, origin, (0, 0, 0, 0), heading, frame / 15.0))
        out.append(inputs)
    return out


def test_frame_batch_equals_one_person_at_a_time(body_model):
    together = FootprintEstimator(body_model, GEOMETRY)
    alone = FootprintEstimator(body_model, GEOMETRY)
    bodies = 0
    for inputs in walking_frames():
        batched = together.update_frame(inputs)
        single = {}
        for person in inputs:
            single.update(alone.update_frame([person]))
        assert batched.keys() == single.keys()
        for track_id, body in batched.items():
            for name in ("betas", "pose", "transl", "joints", "rotations"):
                np.testing.assert_array_equal(getattr(body, name), getattr(single[track_id], name), err_msg=name)
            assert body.confidence == single[track_id].confidence
            bodies += 1
    assert bodies > 40


def test_a_renamed_person_keeps_their_memory(body_model):
    """The tracker renames a newcomer once it recognises them (provisional id 4 -> known id 9): the body goes on
    from the memory kept under 4 (here: where the lifted foot last stood), as if the id had never changed."""
    heading_mat, feet = math.pi / 2, [(110.0, 50.0), (125.0, 70.0)]
    both, origin = crop_of(feet, heading_mat)
    one, _ = crop_of(feet[1:], heading_mat)   # the left foot lifts off

    def second_frame(track_id, renamed_from):
        estimator = FootprintEstimator(body_model, GEOMETRY)
        estimator.update_frame([PersonInput(4, both, origin, (0, 0, 0, 0), world_heading(heading_mat), 0.0)])
        person = PersonInput(track_id, one, origin, (0, 0, 0, 0), world_heading(heading_mat), 0.2, renamed_from)
        return estimator.update_frame([person])[track_id], estimator

    unchanged, _ = second_frame(4, 0)
    renamed, estimator = second_frame(9, 4)
    forgotten, _ = second_frame(9, 0)
    np.testing.assert_array_equal(renamed.joints, unchanged.joints)
    assert not np.allclose(forgotten.joints, unchanged.joints), "a new id without the memory starts over"
    assert set(estimator.baseline.tracks) == {9}
