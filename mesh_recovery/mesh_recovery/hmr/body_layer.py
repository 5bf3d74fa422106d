"""The small slice of a body model that the network's losses and metrics need.

Keeping it behind a protocol lets the network, losses and training loop be
tested with a fake body, and keeps the SMPL dependency in one adapter.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .rotations import matrix_to_axis_angle


class BodyLayer(Protocol):
    """Body model as seen by the HMR core.

    ``parents`` (24,) int, -1 for the root, in SMPL joint order.
    """

    parents: np.ndarray

    def rest_joints(self, betas: torch.Tensor) -> torch.Tensor:
        """betas (B, 10) -> rest-pose joints (B, 24, 3), SMPL canonical frame, metres."""
        ...

    def vertices(self, betas: torch.Tensor, rotmats: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
        """betas (B, 10), local joint rotations (B, 24, 3, 3), transl (B, 3) -> world vertices (B, V, 3)."""
        ...


def forward_kinematics(
    rest_joints: torch.Tensor, rotmats: torch.Tensor, transl: torch.Tensor, parents: np.ndarray
) -> torch.Tensor:
    """Posed world joints from rest joints and local rotations (SMPL convention, no skinning).

    Args:
        rest_joints: (B, 24, 3) rest-pose joints.
        rotmats: (B, 24, 3, 3) rotations of each joint relative to its parent
            (joint 0: global orientation, about the rest pelvis).
        transl: (B, 3) SMPL ``transl``, added to every joint.
        parents: (24,) parent index per joint, -1 for the root; parents precede children.
    Returns:
        (B, 24, 3) world joint positions.
    """
    global_rotations: list[torch.Tensor] = []
    positions: list[torch.Tensor] = []
    for joint, parent in enumerate(parents.tolist()):
        if parent < 0:
            global_rotations.append(rotmats[:, joint])
            positions.append(rest_joints[:, joint])
            continue
        offset = rest_joints[:, joint] - rest_joints[:, parent]
        positions.append(positions[parent] + (global_rotations[parent] @ offset[..., None])[..., 0])
        global_rotations.append(global_rotations[parent] @ rotmats[:, joint])
    return torch.stack(positions, dim=1) + transl[:, None, :]


def posed_joints(body: BodyLayer, betas: torch.Tensor, rotmats: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
    """World joints (B, 24, 3) of bodies with the given shape, local rotations and translation."""
    return forward_kinematics(body.rest_joints(betas), rotmats, transl, body.parents)


class SMPLBodyLayer:
    """Adapter from ``presstrack_body.model.BodyModel`` to :class:`BodyLayer`."""

    def __init__(self, model_path: str | Path | None = None, device: str | torch.device = "cpu") -> None:
        # Imported here so the network and its tests do not need the body package.
        from presstrack_body import kinematics
        from presstrack_body.model import BodyModel

        try:
            self.model = BodyModel(model_path, device=str(device))
        except (OSError, ValueError) as error:  # missing/unreadable model file
            raise ValueError(f"body model: {error}") from None
        self.parents = np.asarray(kinematics.PARENTS, dtype=np.int64)
        self.device = torch.device(device)
        # Rest joints are linear in betas: J = R v_template + (R shapedirs) betas, R the joint regressor.
        # Precomputing both terms gives joints with gradients w.r.t. betas (BodyModel.rest_joints has none).
        smpl = self.model.smpl
        regressor = smpl.J_regressor.to(torch.float32)
        self._joint_template = regressor @ smpl.v_template.to(torch.float32)  # (24, 3)
        self._joint_shapedirs = torch.einsum("jv,vck->jck", regressor, smpl.shapedirs.to(torch.float32))  # (24, 3, K)

    def rest_joints(self, betas: torch.Tensor) -> torch.Tensor:
        count = self._joint_shapedirs.shape[-1]
        if betas.shape[-1] > count:
            raise ValueError(f"body model has {count} shape coefficients, got betas with {betas.shape[-1]}")
        shapedirs = self._joint_shapedirs[..., : betas.shape[-1]].to(betas.device, betas.dtype)
        return self._joint_template.to(betas.device, betas.dtype) + torch.einsum("jck,bk->bjc", shapedirs, betas)

    def vertices(self, betas: torch.Tensor, rotmats: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
        pose = matrix_to_axis_angle(rotmats).reshape(rotmats.shape[0], 72)
        vertices, _ = self.model.forward(betas, pose, transl)
        return torch.as_tensor(vertices, dtype=betas.dtype, device=betas.device)

    def sole_vertex_ids(self) -> np.ndarray:
        """Vertex ids of both soles, used for the foot-sliding metric."""
        return np.concatenate([self.model.sole_vertex_ids("left"), self.model.sole_vertex_ids("right")])
