"""The ROS4HRI (REP-155) view of a recovered body, pure numpy (no rclpy): its id, its URDF, its joint states.

A body's REP-155 id is ``b<track_id>`` (``b7`` for track 7): a ROS name token may not start with a digit,
and a fixed prefix keeps the id readable and the same as the track's for the body's whole life (REP-155's
random 5-letter ids would need a table to map back to our tracks). Its TF frames are ``body_<id>`` and
``<joint>_<id>`` (``mesh_recovery.body_frames``).

The URDF is the SMPL kinematic tree with the person's own bone lengths, rooted at the link ``body_<id>``
(the frame the node publishes on /tf). Each SMPL joint is three revolute joints ``<joint>_x_<id>``,
``<joint>_y_<id>``, ``<joint>_z_<id>`` about the parent's x, then y, then z axis (intrinsic XYZ), ending in
the link ``<joint>_<id>``, so robot_state_publisher fed with ``joint_states`` rebuilds exactly the joint
frames ``body_transforms`` publishes with ``publish_joint_frames``. Joint frames carry REP-103 axes (x forward,
y left, z up in the rest pose), so a child's offset from its parent is its constant rest bone. The pelvis is
the exception: ``body_<id>`` sits at the hip midpoint with the body's heading, so the pelvis rotates about it
and then sits at a fixed offset (``pelvis_offset_<id>``, the rest pelvis seen from the hip midpoint).
"""
from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

import numpy as np
from scipy.spatial.transform import Rotation

from mesh_recovery.body_frames import (LEFT_HIP, RIGHT_HIP, SMPL_FROM_REP103_AXES, FrameTransform, body_frame_name,
                                       hri_id, joint_frame_name)
from presstrack_body.kinematics import JOINT_NAMES, PARENTS

AXES = "xyz"
# Revolute limits: XYZ angles span [-pi, pi] (x, z) and [-pi/2, pi/2] (y); no joint is limited below that.
JOINT_LIMIT = np.pi
# Drawn bones and joints (RViz RobotModel): thin enough to see the pressure and mesh under them.
BONE_RADIUS, JOINT_RADIUS = 0.02, 0.03


def joint_names(track_id: int) -> list[str]:
    """The 72 revolute joints of a body's URDF, in the order ``joint_positions`` gives their angles."""
    body = hri_id(track_id)
    return [f"{joint}_{axis}_{body}" for joint in JOINT_NAMES for axis in AXES]


def joint_positions(transforms: Sequence[FrameTransform]) -> np.ndarray:
    """The 72 joint angles [rad] that pose the URDF as ``transforms`` (``body_transforms(..., with_joints=True)``:
    the body frame, then the 24 joint frames in SMPL order) place the joint frames: each joint frame's rotation
    in its parent, as intrinsic x-y-z angles."""
    rotations = np.stack([t.rotation for t in transforms[1:]])
    if len(rotations) != len(JOINT_NAMES):
        raise ValueError(f"expected the body frame and {len(JOINT_NAMES)} joint frames, got {len(transforms)} frames")
    return Rotation.from_matrix(rotations).as_euler("XYZ").ravel()


def _origin(parent: ElementTree.Element, xyz: np.ndarray, rpy: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
    ElementTree.SubElement(parent, "origin", xyz=" ".join(f"{v:.6f}" for v in xyz),
                           rpy=" ".join(f"{v:.6f}" for v in rpy))


def _visual(link: ElementTree.Element, shape: str, origin: np.ndarray, rpy=(0.0, 0.0, 0.0), **size: float) -> None:
    visual = ElementTree.SubElement(link, "visual")
    _origin(visual, origin, rpy)
    geometry = ElementTree.SubElement(visual, "geometry")
    ElementTree.SubElement(geometry, shape, {k: f"{v:.4f}" for k, v in size.items()})


def _bone_visual(link: ElementTree.Element, offset: np.ndarray) -> None:
    """A cylinder from the link's origin to a child joint at ``offset``."""
    length = float(np.linalg.norm(offset))
    if length < 1e-6:
        return
    # URDF rpy is R = Rz(yaw) Ry(pitch) Rx(roll): pitch tilts the cylinder's z axis, yaw turns it towards the child.
    pitch = float(np.arccos(np.clip(offset[2] / length, -1.0, 1.0)))
    yaw = float(np.arctan2(offset[1], offset[0]))
    _visual(link, "cylinder", offset / 2.0, (0.0, pitch, yaw), radius=BONE_RADIUS, length=length)


def body_urdf(track_id: int, rest_joints: np.ndarray) -> str:
    """The URDF of one body: ``rest_joints`` (24, 3) are its SMPL rest joints [m] (its own betas), in SMPL's
    rest axes (x left, y up, z forward)."""
    rest_joints = np.asarray(rest_joints, dtype=float)
    if rest_joints.shape != (len(JOINT_NAMES), 3) or not np.all(np.isfinite(rest_joints)):
        raise ValueError(f"rest joints must be {len(JOINT_NAMES)} x 3 finite values, got shape {rest_joints.shape}")
    body = hri_id(track_id)
    # Offsets in REP-103 axes: v_rep = SMPL_FROM_REP103_AXES.T @ v_smpl.
    bones = {index: SMPL_FROM_REP103_AXES.T @ (rest_joints[index] - rest_joints[PARENTS[index]])
             for index in range(1, len(JOINT_NAMES))}
    hip_midpoint = (rest_joints[LEFT_HIP] + rest_joints[RIGHT_HIP]) / 2.0
    pelvis_offset = SMPL_FROM_REP103_AXES.T @ (rest_joints[0] - hip_midpoint)

    robot = ElementTree.Element("robot", name=f"human_{body}")
    links = {body_frame_name(track_id): ElementTree.SubElement(robot, "link", name=body_frame_name(track_id))}

    def joint(name: str, kind: str, parent: str, child: str, xyz: np.ndarray, axis: str | None = None) -> None:
        if child not in links:
            links[child] = ElementTree.SubElement(robot, "link", name=child)
        element = ElementTree.SubElement(robot, "joint", name=name, type=kind)
        _origin(element, xyz)
        ElementTree.SubElement(element, "parent", link=parent)
        ElementTree.SubElement(element, "child", link=child)
        if axis is not None:
            ElementTree.SubElement(element, "axis", xyz=" ".join("1" if a == axis else "0" for a in AXES))
            ElementTree.SubElement(element, "limit", lower=f"{-JOINT_LIMIT:.6f}", upper=f"{JOINT_LIMIT:.6f}",
                                   effort="0", velocity="100")

    for index, name in enumerate(JOINT_NAMES):
        parent = body_frame_name(track_id) if PARENTS[index] < 0 else joint_frame_name(JOINT_NAMES[PARENTS[index]],
                                                                                       track_id)
        final = joint_frame_name(name, track_id)
        offset = np.zeros(3) if PARENTS[index] < 0 else bones[index]
        # x, then y, then z: intermediate links <joint>_x_link_<id>, <joint>_y_link_<id>.
        chain = [parent] + [f"{name}_{axis}_link_{body}" for axis in AXES[:2]]
        chain.append(f"{name}_z_link_{body}" if PARENTS[index] < 0 else final)
        for axis, (link_parent, link_child) in zip(AXES, zip(chain, chain[1:])):
            joint(f"{name}_{axis}_{body}", "revolute", link_parent, link_child,
                  offset if axis == "x" else np.zeros(3), axis)
        if PARENTS[index] < 0:
            joint(f"{name}_offset_{body}", "fixed", chain[-1], final, pelvis_offset)
    for index in range(1, len(JOINT_NAMES)):
        _bone_visual(links[joint_frame_name(JOINT_NAMES[PARENTS[index]], track_id)], bones[index])
    for index, name in enumerate(JOINT_NAMES):
        _visual(links[joint_frame_name(name, track_id)], "sphere", np.zeros(3), radius=JOINT_RADIUS)
    ElementTree.indent(robot)
    return '<?xml version="1.0"?>\n' + ElementTree.tostring(robot, encoding="unicode") + "\n"
