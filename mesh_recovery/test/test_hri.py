"""The ROS4HRI view of a body: its URDF parses as robot_state_publisher would read it, and posed with the
joint states it rebuilds the TF joint frames the node publishes."""
from __future__ import annotations

import numpy as np
import pytest
from urdf_parser_py.urdf import URDF

from mesh_recovery.body_frames import body_transforms
from mesh_recovery.hri import body_urdf, joint_names, joint_positions
from presstrack_body.kinematics import JOINT_NAMES, PARENTS, forward_kinematics
from presstrack_body.model import BodyModel


@pytest.fixture(scope="module")
def tall_rest_joints(default_body_path):
    """The rest joints of a person 0.2 m taller than the default body (beta 0 is stature, 0.10 m per unit)."""
    betas = np.zeros((1, 10), dtype=np.float32)
    betas[0, 0] = 2.0
    return BodyModel(default_body_path).rest_joints(betas)[0].double().numpy()


def test_the_urdf_is_the_smpl_tree_of_three_revolute_joints_each_rooted_at_the_body_frame(tall_rest_joints):
    robot = URDF.from_xml_string(body_urdf(7, tall_rest_joints))
    assert robot.get_root() == "body_b7"
    revolute = [j for j in robot.joints if j.type == "revolute"]
    assert [j.name for j in revolute] == joint_names(7)
    assert len(revolute) == 3 * len(JOINT_NAMES) == 72
    links = {link.name for link in robot.links}
    assert {f"{name}_b7" for name in JOINT_NAMES} <= links
    # Every link but the root has exactly one parent joint, whose links exist.
    children = [j.child for j in robot.joints]
    assert sorted(children) == sorted(links - {"body_b7"})
    assert all(j.parent in links for j in robot.joints)
    # Each SMPL joint hangs below its SMPL parent's link through its x, y and z joints.
    by_child = {j.child: j for j in robot.joints}
    for index, name in enumerate(JOINT_NAMES):
        link, axes = f"{name}_b7", []
        if PARENTS[index] < 0:
            link = by_child[link].parent  # the pelvis's fixed offset from the hip midpoint
        for _ in range(3):
            joint = by_child[link]
            axes.append(tuple(joint.axis))
            link = joint.parent
        assert axes == [(0, 0, 1), (0, 1, 0), (1, 0, 0)], name
        assert link == ("body_b7" if PARENTS[index] < 0 else f"{JOINT_NAMES[PARENTS[index]]}_b7"), name


def test_the_urdf_carries_the_persons_own_bone_lengths(tall_rest_joints, default_body_path):
    average = BodyModel(default_body_path).rest_joints(np.zeros((1, 10), dtype=np.float32))[0].double().numpy()
    knee = JOINT_NAMES.index("left_knee")
    thigh = {}
    for label, rest in (("tall", tall_rest_joints), ("average", average)):
        joint = {j.name: j for j in URDF.from_xml_string(body_urdf(7, rest)).joints}["left_knee_x_b7"]
        thigh[label] = np.linalg.norm(joint.origin.xyz)
        assert thigh[label] == pytest.approx(np.linalg.norm(rest[knee] - rest[PARENTS[knee]]), abs=1e-4)
    assert thigh["tall"] > thigh["average"] + 0.01


def _rotation(axis: tuple[float, float, float], angle: float) -> np.ndarray:
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * k @ k


def test_the_joint_states_pose_the_urdf_as_the_tf_joint_frames(tall_rest_joints):
    """robot_state_publisher's sum, done here: each link's pose in body_<id> from the URDF and the joint
    states, against the joint frames body_transforms publishes."""
    rng = np.random.default_rng(3)
    pose = rng.normal(scale=0.4, size=72)
    pose[:3] = [np.pi / 2 + 0.2, 0.1, 0.3]  # stood up in a z-up world, leaning a little
    joints, rotations = forward_kinematics(tall_rest_joints, pose, np.array([0.3, -0.2, 0.9]))
    frames = body_transforms(7, joints, rotations, "world", np.eye(4), with_joints=True)
    states = dict(zip(joint_names(7), joint_positions(frames)))
    robot = URDF.from_xml_string(body_urdf(7, tall_rest_joints))
    by_child = {j.child: j for j in robot.joints}

    def link_pose(link: str) -> tuple[np.ndarray, np.ndarray]:
        if link == "body_b7":
            return np.eye(3), np.zeros(3)
        joint = by_child[link]
        rotation, translation = link_pose(joint.parent)
        origin = np.array(joint.origin.xyz)
        assert joint.origin.rpy == [0.0, 0.0, 0.0]
        local = _rotation(joint.axis, states[joint.name]) if joint.type == "revolute" else np.eye(3)
        return rotation @ local, rotation @ origin + translation

    tf = {t.child: t for t in frames}

    def tf_pose(frame: str) -> tuple[np.ndarray, np.ndarray]:
        if frame == "body_b7":
            return np.eye(3), np.zeros(3)
        rotation, translation = tf_pose(tf[frame].parent)
        return rotation @ tf[frame].rotation, rotation @ tf[frame].translation + translation

    for name in JOINT_NAMES:
        urdf_rotation, urdf_origin = link_pose(f"{name}_b7")
        tf_rotation, tf_origin = tf_pose(f"{name}_b7")
        np.testing.assert_allclose(urdf_origin, tf_origin, atol=1e-5, err_msg=name)  # [m] 6 decimals in the URDF
        np.testing.assert_allclose(urdf_rotation, tf_rotation, atol=1e-6, err_msg=name)


def test_a_bodys_description_follows_its_bone_lengths_and_goes_with_it(default_body_path):
    """human_description_<id> is declared when a body appears, rewritten when its bones change by more
    than URDF_TOLERANCE_M (not for less), and removed with its topics when the body ends."""
    from types import SimpleNamespace

    import rclpy
    from std_msgs.msg import Header

    from mesh_recovery.hri_interface import HriBodies

    model = BodyModel(default_body_path)

    def estimate(stature: float):
        betas = np.zeros(10, dtype=np.float32)
        betas[0] = stature
        pose = np.zeros(72)
        pose[:3] = [np.pi / 2, 0.0, 0.0]
        joints, rotations = forward_kinematics(model.rest_joints(betas[None])[0].double().numpy(), pose, np.zeros(3))
        return SimpleNamespace(betas=betas, joints=joints, rotations=rotations)

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("hri_probe", context=context)
        hri = HriBodies(node, model)
        descriptions = []
        for stature in (0.0, 0.02, 1.0):  # 2 mm taller, then 10 cm
            hri.publish(Header(), "mat", {7: estimate(stature)}, [])
            descriptions.append(node.get_parameter("human_description_b7").value)
        assert descriptions[0] == descriptions[1] != descriptions[2]
        assert URDF.from_xml_string(descriptions[2]).get_root() == "body_b7"
        assert "/humans/bodies/b7/joint_states" in [name for name, _ in node.get_publisher_names_and_types_by_node(
            "hri_probe", "/")]
        hri.publish(Header(), "mat", {}, [])
        assert not node.has_parameter("human_description_b7")
        assert "/humans/bodies/b7/joint_states" not in [name for name, _ in node.get_publisher_names_and_types_by_node(
            "hri_probe", "/")]
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
