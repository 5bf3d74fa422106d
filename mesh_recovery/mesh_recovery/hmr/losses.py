"""The paper's training losses.

total = 300 * MSE(world 3-D joints) + 60 * L1(non-root rotation matrices)
      + 300 * L1(root orientation matrix) + 1 * L1(betas) + 60 * L1(transl)

Predicted joints come from the body layer (rest joints of the predicted
shape, posed with the predicted rotations and translation).  The paper uses
25 joints (SMPL's 24 plus a nose vertex); our body layer gives the 24 SMPL
joints, so the joint loss uses those 24.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .body_layer import BodyLayer, posed_joints
from .network import NUM_JOINTS, SMPLOutput
from .rotations import axis_angle_to_matrix


@dataclass(frozen=True)
class LossWeights:
    joints_3d: float = 300.0
    body_rotations: float = 60.0
    root_orientation: float = 300.0
    betas: float = 1.0
    transl: float = 60.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class HMRTargets:
    """Ground truth of each window's target frame.

    joints (B, >=24, 3) world metres (first 24 used); pose (B, 72) axis-angle;
    betas (B, 10); transl (B, 3) world metres.
    """

    joints: torch.Tensor
    pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor

    def to(self, device: torch.device | str) -> HMRTargets:
        return HMRTargets(*(t.to(device) for t in (self.joints, self.pose, self.betas, self.transl)))


class HMRLoss(torch.nn.Module):
    def __init__(self, body: BodyLayer, weights: LossWeights | None = None) -> None:
        super().__init__()
        self.body = body
        self.weights = weights or LossWeights()

    def forward(self, output: SMPLOutput, targets: HMRTargets) -> tuple[torch.Tensor, dict[str, float]]:
        """Returns the weighted total and the unweighted terms plus world MPJPE (metres)."""
        w = self.weights
        predicted_joints = posed_joints(self.body, output.betas, output.rotmats, output.transl)
        target_joints = targets.joints[:, :NUM_JOINTS]
        target_rotmats = axis_angle_to_matrix(targets.pose.reshape(-1, NUM_JOINTS, 3))
        terms = {
            "joints_3d": torch.mean((predicted_joints - target_joints) ** 2),
            "body_rotations": torch.mean(torch.abs(output.rotmats[:, 1:] - target_rotmats[:, 1:])),
            "root_orientation": torch.mean(torch.abs(output.rotmats[:, 0] - target_rotmats[:, 0])),
            "betas": torch.mean(torch.abs(output.betas - targets.betas)),
            "transl": torch.mean(torch.abs(output.transl - targets.transl)),
        }
        total = sum(getattr(w, name) * value for name, value in terms.items())
        report = {name: float(value.detach()) for name, value in terms.items()}
        report["world_mpjpe"] = float(torch.linalg.norm(predicted_joints - target_joints, dim=-1).mean().detach())
        return total, report
