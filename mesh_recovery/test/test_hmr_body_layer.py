"""The SMPL adapter against the real body layer, and both CLIs end to end with it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mesh_recovery import evaluate, train
from mesh_recovery.hmr.body_layer import SMPLBodyLayer, posed_joints
from mesh_recovery.hmr.rotations import axis_angle_to_matrix
from test_hmr_support import write_recording
from test_train import TINY_FLAGS


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


def test_train_and_eval_clis_with_the_default_body(default_body_path, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_recording(data / "a.npz", frames=40)
    out = tmp_path / "run"
    common = ["--body-model", str(default_body_path), "--device", "auto"]
    assert train.main(["--data", str(data), "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1", *TINY_FLAGS, *common]) == 0
    assert evaluate.main(["--checkpoint", str(out / "best.pt"), "--data", str(data), "--json", str(tmp_path / "m.json"), *common]) == 0
    table = capsys.readouterr().out
    assert "PA-MPJPE" in table and "FootSliding" in table
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["person_frames"] == 8 and np.isfinite(saved["metrics"]["PVE"])
