"""The mesh_recovery node over real DDS: bodies, meshes and TF frames per track, removed when a track ends."""
from __future__ import annotations

import math

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from rclpy.qos import qos_profile_sensor_data
from geometry_msgs.msg import Point
from hri_msgs.msg import IdsList
from sensor_msgs.msg import Image, JointState, RegionOfInterest
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import Marker, MarkerArray

from graph_testing import Listener, start_node, stop_node
from presstrack_common.conversions import array_to_image
from presstrack_msgs.msg import PersonPressure, PersonPressureArray, SmplBody, SmplBodyArray
from test_footprint_baseline import stamp_foot


def person(track_id: int, feet_rc, stamp: Time, origin=(40, 0)) -> PersonPressure:
    crop = np.zeros((128, 128), dtype=np.float32)
    for row, col in feet_rc:
        stamp_foot(crop, (row - origin[0], col - origin[1]), math.pi / 2)
    return PersonPressure(
        track_id=track_id, state=PersonPressure.STATE_CONFIRMED, confidence=0.9,
        box=RegionOfInterest(x_offset=int(min(c for _, c in feet_rc)) - 5, y_offset=int(min(r for r, _ in feet_rc)) - 12,
                             width=40, height=50),
        centroid=Point(), heading=math.pi / 2, total_force=700.0, contact_area=0.02,
        crop=array_to_image(crop, Header(stamp=stamp, frame_id="mat")), crop_row0=origin[0], crop_col0=origin[1])


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


@pytest.mark.parametrize("backend", ["footprint", "learned"])  # learned: the shipped online checkpoint
def test_bodies_meshes_and_frames_follow_the_tracks(tmp_path, listener, default_body_path, backend):
    listener.listen("/presstrack/bodies", SmplBodyArray)
    listener.listen("/presstrack/meshes", MarkerArray, qos_profile_sensor_data)  # published best effort
    listener.listen("/tf", TFMessage)
    listener.listen("/humans/bodies/tracked", IdsList)
    listener.listen("/humans/bodies/b4/joint_states", JointState)
    listener.listen("/humans/bodies/b9/cropped", Image)
    publisher = listener.node.create_publisher(PersonPressureArray, "/presstrack/persons", 10)
    node = start_node("mesh_recovery", {"smpl_model_path": str(default_body_path), "mesh_decimation": 4,
                                        "mesh_rate": 100.0, "backend": backend}, tmp_path)
    try:
        assert listener.spin_until(lambda: publisher.get_subscription_count() > 0, 30.0), "node did not start"
        for frame in range(40):
            stamp = Time(sec=100, nanosec=frame * 50_000_000)
            people = [person(4, [(90 + frame, 50), (110 + frame, 70)], stamp)]
            if frame < 20:  # track 9 ends half-way
                people.append(person(9, [(60, 20), (75, 35)], stamp, origin=(10, 0)))
            publisher.publish(PersonPressureArray(header=Header(stamp=stamp, frame_id="mat"), persons=people))
            listener.spin_for(0.05)
        assert listener.spin_until(lambda: len(listener.messages["/presstrack/bodies"]) >= 35, 20.0)
    finally:
        assert stop_node(node) == 0

    bodies = listener.messages["/presstrack/bodies"]
    assert {b.track_id for b in bodies[5].bodies} == {4, 9}
    assert {b.track_id for b in bodies[-1].bodies} == {4}
    assert all(msg.header.frame_id == "world" for msg in bodies)
    pelvis_z = [b.joints[0].z for msg in bodies for b in msg.bodies]
    assert 0.7 < min(pelvis_z) and max(pelvis_z) < 1.2 if backend == "footprint" else np.isfinite(pelvis_z).all()

    markers = [m for msg in listener.messages["/presstrack/meshes"] for m in msg.markers]
    meshes = [m for m in markers if m.ns == "presstrack_meshes" and m.action == Marker.ADD]
    assert {m.id for m in meshes} == {4, 9}
    assert all(m.type == Marker.TRIANGLE_LIST and len(m.points) % 3 == 0 and m.points for m in meshes)
    deleted = {(m.ns, m.id) for m in markers if m.action == Marker.DELETE}
    assert ("presstrack_meshes", 9) in deleted and ("presstrack_meshes", 4) not in deleted

    frames = [t for msg in listener.messages["/tf"] for t in msg.transforms]
    assert {t.child_frame_id for t in frames} == {"body_b4", "body_b9"}
    assert all(t.header.frame_id == "mat" for t in frames)  # no /mat/info here: the mat frame's default name

    # The ROS4HRI view of the same bodies (on by default).
    tracked = [sorted(msg.ids) for msg in listener.messages["/humans/bodies/tracked"]]
    assert tracked[5] == ["b4", "b9"] and tracked[-1] == ["b4"]
    assert len(listener.messages["/humans/bodies/b4/joint_states"]) == len(tracked)
    crops = listener.messages["/humans/bodies/b9/cropped"]
    assert crops and all((c.height, c.width, c.encoding) == (128, 128, "32FC1") for c in crops)


def test_frames_arriving_bunched_all_get_bodies(tmp_path, listener, default_body_path):
    """Bursts of 5 messages at once (DDS can deliver a few together): within max_lag (here 10 s, so the
    machine's load cannot make the node fall behind it) every frame gets its bodies, none is skipped."""
    listener.listen("/presstrack/bodies", SmplBodyArray)
    publisher = listener.node.create_publisher(PersonPressureArray, "/presstrack/persons", 10)
    node = start_node("mesh_recovery", {"smpl_model_path": str(default_body_path), "publish_meshes": False,
                                        "ros4hri": False, "max_lag": 10.0}, tmp_path)
    try:
        assert listener.spin_until(lambda: publisher.get_subscription_count() > 0, 30.0), "node did not start"
        stamps = []
        for burst in range(4):
            for frame in range(5):
                stamp = Time(sec=100, nanosec=(burst * 5 + frame) * 33_000_000)
                stamps.append((stamp.sec, stamp.nanosec))
                publisher.publish(PersonPressureArray(header=Header(stamp=stamp, frame_id="mat"),
                                                      persons=[person(4, [(90, 50), (110, 70)], stamp)]))
            listener.spin_for(0.3)
        assert listener.spin_until(lambda: len(listener.messages["/presstrack/bodies"]) >= len(stamps), 20.0)
    finally:
        assert stop_node(node) == 0
    bodies = listener.messages["/presstrack/bodies"]
    assert [(m.header.stamp.sec, m.header.stamp.nanosec) for m in bodies] == stamps
    assert all([b.track_id for b in m.bodies] == [4] for m in bodies)


def test_mesh_worker_keeps_the_newest_bodies_and_every_ended_id():
    import threading

    from mesh_recovery.node import MeshWorker

    started, release, calls = threading.Event(), threading.Event(), []

    def build_and_publish(bodies, ended):
        calls.append(([b.track_id for b in bodies.bodies], sorted(ended)))
        started.set()
        release.wait(5.0)

    def bodies_of(*ids):
        return SmplBodyArray(bodies=[SmplBody(track_id=i) for i in ids])

    worker = MeshWorker(build_and_publish, on_crash=lambda error, restarts: None)
    worker.submit(bodies_of(1, 2), set())
    assert started.wait(5.0)  # the worker is busy with the first meshes
    worker.submit(bodies_of(1, 2), {3})
    worker.submit(bodies_of(), {4})  # only DELETEs: the waiting bodies stay
    worker.submit(bodies_of(2), {1})  # newer bodies replace the waiting ones
    release.set()
    worker.close()
    assert calls == [([1, 2], []), ([2], [1, 3, 4])]


def test_a_mesh_worker_that_dies_is_restarted_counted_and_reported():
    import threading

    from mesh_recovery.node import MeshWorker

    published, crashes, done = [], [], threading.Event()

    def build_and_publish(bodies, ended):
        if bodies.bodies[0].track_id == 13:
            raise OverflowError("injected")
        published.append(bodies.bodies[0].track_id)
        done.set()

    worker = MeshWorker(build_and_publish, on_crash=lambda error, restarts: crashes.append((str(error), restarts)))
    for track_id in (13, 13, 1):
        done.clear()
        worker.submit(SmplBodyArray(bodies=[SmplBody(track_id=track_id)]), set())
        done.wait(1.0)
    worker.close()
    assert published == [1], "the thread after two deaths still publishes"
    assert crashes == [("injected", 1), ("injected", 2)] and worker.restarts == 2


@pytest.mark.parametrize("name, bad", [("backend", "mocap"), ("inference_path", "float16"), ("device", "tpu"),
                                       ("output_mode", "late"), ("reference_frame", "odom")])
def test_invalid_parameters_are_rejected_with_their_name(name, bad):
    """What the descriptors cannot judge (ranges: test/test_parameters.py): words and values that must agree."""
    from mesh_recovery.node import PARAMETERS, validate

    defaults = {name: spec.default for name, spec in PARAMETERS.items()}
    validate(defaults)
    with pytest.raises(ValueError, match=name):
        validate(defaults | {name: bad})


def test_a_three_person_mesh_message_stays_under_one_megabyte(default_body_path):
    """The tallest bodies, three at once, as the node serialises them for presstrack/meshes."""
    import rclpy
    from rclpy.parameter import Parameter

    from mesh_recovery.node import MeshRecoveryNode

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = MeshRecoveryNode(context=context, parameter_overrides=[
            Parameter("smpl_model_path", value=str(default_body_path))])
        rng = np.random.default_rng(0)
        bodies = []
        for track_id in (1, 2, 3):
            betas = np.zeros(node.body_model.num_betas, dtype=np.float32)
            betas[0] = 2.0  # stature +2: the tallest body the default model makes
            pose = rng.normal(scale=0.2, size=72).astype(np.float32)
            bodies.append(SmplBody(track_id=track_id, betas=betas, pose=pose, joints=[Point(z=1.5)] * 24))
        message = node.markers(SmplBodyArray(header=Header(frame_id="world"), bodies=bodies), ended_ids={7})
        full = len(node.body_model.faces)
        assert full / 10 < len(node.rviz_mesh.faces) < full / 4  # a body still, not a few triangles
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
    assert len(message) <= 1_000_000, len(message)
    from rclpy.serialization import deserialize_message

    markers = deserialize_message(message, MarkerArray).markers
    meshes = [m for m in markers if m.ns == "presstrack_meshes" and m.action == Marker.ADD]
    assert [m.id for m in meshes] == [1, 2, 3] and all(len(m.points) == 3 * len(node.rviz_mesh.faces) for m in meshes)


def test_a_renamed_body_goes_on_from_its_state(tmp_path, listener, default_body_path):
    """The tracker renames a newcomer it recognised (provisional id 5 -> known id 6, `renamed_from`): the body of 6
    goes on from what the node held of 5 — here the footprint backend's last stance, which lifts the foot that
    left the mat — while 8, new with the same feet, starts over with both ankles on the floor."""
    listener.listen("/presstrack/bodies", SmplBodyArray)
    publisher = listener.node.create_publisher(PersonPressureArray, "/presstrack/persons", 10)
    node = start_node("mesh_recovery", {"smpl_model_path": str(default_body_path), "publish_meshes": False,
                                        "ros4hri": False, "max_lag": 10.0}, tmp_path)
    both, one = [(110, 50), (125, 70)], [(125, 70)]   # then the left foot lifts off
    try:
        assert listener.spin_until(lambda: publisher.get_subscription_count() > 0, 30.0), "node did not start"
        first, then = Time(sec=100), Time(sec=100, nanosec=200_000_000)
        publisher.publish(PersonPressureArray(header=Header(stamp=first, frame_id="mat"),
                                              persons=[person(5, both, first)]))
        renamed = person(6, one, then)
        renamed.renamed_from = 5
        fresh = person(8, [(row, col - 40) for row, col in one], then)
        publisher.publish(PersonPressureArray(header=Header(stamp=then, frame_id="mat"), persons=[renamed, fresh]))
        assert listener.spin_until(lambda: len(listener.messages["/presstrack/bodies"]) >= 2, 20.0)
    finally:
        assert stop_node(node) == 0
    bodies = {b.track_id: b for b in listener.messages["/presstrack/bodies"][-1].bodies}
    assert set(bodies) == {6, 8}
    left, right = (bodies[6].joints[j].z for j in (7, 8))   # SMPL left_ankle, right_ankle
    assert left > right + 0.04, "the renamed body's left foot swings, as it would have under its old id"
    left, right = (bodies[8].joints[j].z for j in (7, 8))
    assert abs(left - right) < 0.01, "a body without a past stands on both feet"
