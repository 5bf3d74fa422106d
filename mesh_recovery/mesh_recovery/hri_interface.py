"""The ROS4HRI (REP-155) interface of the mesh node: what a human-aware ROS stack (ros4hri's pyhri/libhri,
robot_state_publisher) expects of a body tracker, beside our own presstrack/bodies.

Publishes (relative names, so a namespace moves them too)
    humans/bodies/tracked               hri_msgs/IdsList, the ids of the bodies of this frame, every frame
    humans/bodies/<id>/joint_states     sensor_msgs/JointState, the 72 revolute joints of the body's URDF
    humans/bodies/<id>/cropped          sensor_msgs/Image 32FC1 [kPa], the person's pressure crop, mat frame
Parameters
    human_description_<id>              the body's URDF (its own bone lengths), as upstream hri_fullbody sets
                                        it; removed when the body ends

``<id>`` is ``b<track_id>`` (``mesh_recovery.hri``). A body's topics exist while it is tracked.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hri_msgs.msg import IdsList
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Header

from mesh_recovery.body_frames import body_transforms, hri_id
from mesh_recovery.estimators import PersonInput
from mesh_recovery.hri import body_urdf, joint_names, joint_positions
from presstrack_body.model import BodyModel
from presstrack_common.conversions import array_to_image

# [m] A body's URDF is rewritten when one of its rest joints moved further than this since it was written
# (the learned backend's betas wobble from frame to frame; robot_state_publisher reads the URDF once).
URDF_TOLERANCE_M = 0.01


@dataclass
class _Body:
    joint_states: Publisher
    cropped: Publisher
    joint_names: list[str]
    rest_joints: np.ndarray  # the ones its URDF was written with


class HriBodies:
    def __init__(self, node: Node, body_model: BodyModel) -> None:
        self.node = node
        self.body_model = body_model
        self.tracked_pub = node.create_publisher(IdsList, "humans/bodies/tracked", 10)
        self.bodies: dict[int, _Body] = {}

    def publish(self, header: Header, mat_frame: str, estimates: dict, people: list[PersonInput]) -> None:
        """One frame's bodies: ``estimates`` by track id (joints and global rotations in the world, betas),
        ``people`` the inputs they came from (the crops)."""
        crops = {p.track_id: p.crop for p in people}
        for ended in set(self.bodies) - set(estimates):
            self.end(ended)
        rest = {}
        if estimates:
            betas = np.stack([e.betas for e in estimates.values()]).astype(np.float32)
            rest = dict(zip(estimates, self.body_model.rest_joints(betas).double().numpy()))
        for track_id, estimate in estimates.items():
            rest_joints = rest[track_id]
            body = self.bodies.get(track_id) or self.start(track_id, rest_joints)
            if np.abs(rest_joints - body.rest_joints).max() > URDF_TOLERANCE_M:
                self.node.set_parameters([Parameter(self.description_name(track_id),
                                                    value=body_urdf(track_id, rest_joints))])
                body.rest_joints = rest_joints
            # Rotations only matter here: the reference frame the body frame sits in does not.
            frames = body_transforms(track_id, estimate.joints, estimate.rotations, "", np.eye(4), with_joints=True)
            body.joint_states.publish(JointState(header=Header(stamp=header.stamp), name=body.joint_names,
                                                 position=joint_positions(frames).tolist()))
            if track_id in crops:
                body.cropped.publish(array_to_image(crops[track_id], Header(stamp=header.stamp, frame_id=mat_frame)))
        self.tracked_pub.publish(IdsList(header=Header(stamp=header.stamp),
                                         ids=[hri_id(track_id) for track_id in estimates]))

    @staticmethod
    def description_name(track_id: int) -> str:
        return f"human_description_{hri_id(track_id)}"

    def start(self, track_id: int, rest_joints: np.ndarray) -> _Body:
        topic = f"humans/bodies/{hri_id(track_id)}"
        self.node.declare_parameter(self.description_name(track_id), body_urdf(track_id, rest_joints),
                                    ParameterDescriptor(description=f"URDF of body {hri_id(track_id)} (track "
                                                        f"{track_id}), written by the node while it is tracked: "
                                                        "the SMPL tree with its own bone lengths, for "
                                                        "robot_state_publisher"))
        body = _Body(self.node.create_publisher(JointState, f"{topic}/joint_states", 10),
                     self.node.create_publisher(Image, f"{topic}/cropped", 10), joint_names(track_id), rest_joints)
        self.bodies[track_id] = body
        return body

    def end(self, track_id: int) -> None:
        body = self.bodies.pop(track_id)
        self.node.destroy_publisher(body.joint_states)
        self.node.destroy_publisher(body.cropped)
        self.node.undeclare_parameter(self.description_name(track_id))
