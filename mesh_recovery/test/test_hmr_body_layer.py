"""The SMPL adapter against the real body layer."""
from __future__ import annotations

import pytest
import torch

from mesh_recovery.hmr.body_layer import SMPLBodyLayer, posed_joints
from mesh_recovery.hmr.rotations import axis_angle_to_matrix


@pytest.fixture(scope="module")
def smpl_layer(default_body_path) -> SMPLBodyLayer:
    return SMPLBodyLayer(default_body_path)


def test_torch_kinematics_match_the_body_model(smpl_layer):
    generator = torch.Generator().manual_seed(0)
    betas = torch.randn(4, 10, generator=generator)
    pose = 0.4 * torch.randn(4, 72, generator=generator)
    transl = torch.randn(4, 3, generator=generator)
    vertices, joints = smpl_layer.model.forward(betas, pose, transl)
    ours = posed_joints(smpl_layer, betas, axis_angle_to_matrix(pose.reshape(4, 24, 3)), transl)
    assert torch.allclose(ours, joints, atol=1e-5)
    assert smpl_layer.vertices(betas, axis_angle_to_matrix(pose.reshape(4, 24, 3)), transl).shape == vertices.shape


def test_joint_loss_reaches_betas(smpl_layer):
    betas = torch.zeros(1, 10, requires_grad=True)
    smpl_layer.rest_joints(betas).sum().backward()
    assert betas.grad.abs().sum() > 0
