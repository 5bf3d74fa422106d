from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mesh_recovery.hmr.body_layer import forward_kinematics
from mesh_recovery.hmr.network import (HMRConfig, HMRNet, encoder_in_bfloat16, fold_batch_norms, parameter_count,
                                      standing_root_rotation)
from mesh_recovery.hmr.rotations import (
    axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix,
)
from hmr_fakes import SMPL_PARENTS, TINY


def tiny_net(**changes) -> HMRNet:
    torch.manual_seed(0)
    return HMRNet(HMRConfig(**{**TINY.to_dict(), **changes})).eval()


def test_forward_shapes_and_valid_rotations():
    net = tiny_net()
    out = net(torch.rand(3, 4, 1, 32, 32), torch.rand(3, 4, 10))
    assert out.rotmats.shape == (3, 24, 3, 3) and out.pose.shape == (3, 72)
    assert out.betas.shape == (3, 10) and out.transl.shape == (3, 3)
    eye = torch.eye(3).expand(3, 24, 3, 3)
    assert torch.allclose(out.rotmats @ out.rotmats.transpose(-1, -2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(out.rotmats), torch.ones(3, 24), atol=1e-5)
    assert torch.allclose(axis_angle_to_matrix(out.pose.reshape(3, 24, 3)), out.rotmats, atol=1e-5)


def test_untrained_output_starts_upright_at_origin():
    out = tiny_net()(torch.zeros(1, 4, 1, 32, 32), torch.zeros(1, 4, 10))
    assert torch.allclose(out.rotmats[0, 0], standing_root_rotation(), atol=0.05)
    assert out.transl.abs().max() < 0.05


def test_encode_is_per_frame_and_head_matches_forward():
    net = tiny_net()
    crops, numbers = torch.rand(2, 4, 1, 32, 32), torch.rand(2, 4, 10)
    features = net.encode(crops, numbers)
    assert features.shape == (2, 4, 64)
    single = net.encode(crops[1:, 2:3], numbers[1:, 2:3])
    assert torch.allclose(single[0, 0], features[1, 2], atol=1e-5)
    assert torch.allclose(net.head(features).transl, net(crops, numbers).transl)


def test_folded_batch_norms_give_the_same_features():
    torch.manual_seed(2)
    net = HMRNet(TINY).eval()
    for module in net.modules():  # non-trivial batch-norm statistics, so folding them is tested
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    crops = torch.rand(2, 5, 1, TINY.crop_size, TINY.crop_size)
    numbers = torch.rand(2, 5, 10)
    with torch.inference_mode():
        expected = net.encode(crops, numbers)
    folded = fold_batch_norms(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.inference_mode():
        assert torch.allclose(folded.encode(crops, numbers), expected, atol=1e-4)


def test_bfloat16_encoder_gives_float32_features_close_to_float32():
    net = tiny_net()
    crops, numbers = torch.rand(2, TINY.window, 1, TINY.crop_size, TINY.crop_size), torch.rand(2, TINY.window, 10)
    with torch.inference_mode():
        expected = net.encode(crops, numbers)
        features = encoder_in_bfloat16(net).encode(crops, numbers)
        out = net.head(features)
    assert net.encoder.fc.weight.dtype == torch.bfloat16 and net.frame_projection[0].weight.dtype == torch.float32
    assert features.dtype == torch.float32 and out.transl.dtype == torch.float32
    # bf16 keeps 8 bits of mantissa: a few parts in a thousand per value, well under 5 % of the norm.
    assert float((features - expected).norm() / expected.norm()) < 0.05


def test_modes_choose_target_frame():
    assert HMRConfig().target_index == 7 and HMRConfig().lag == 8
    online = HMRConfig(mode="online")
    assert online.target_index == 15 and online.lag == 0
    assert HMRConfig(window=4).target_index == 1


@pytest.mark.parametrize("bad", [dict(mode="sideways"), dict(width=30, heads=8), dict(window=0), dict(crop_size=4)])
def test_bad_config_is_rejected(bad):
    with pytest.raises(ValueError):
        HMRConfig(**bad)


def test_wrong_input_shapes_raise():
    net = tiny_net()
    with pytest.raises(ValueError, match="crops"):
        net.encode(torch.rand(1, 4, 1, 16, 16), torch.rand(1, 4, 10))
    with pytest.raises(ValueError, match="numbers"):
        net.encode(torch.rand(1, 4, 1, 32, 32), torch.rand(1, 4, 9))
    with pytest.raises(ValueError, match="features"):
        net.head(torch.rand(1, 3, 64))


def test_config_round_trip_and_unknown_fields():
    assert HMRConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ValueError, match="unknown"):
        HMRConfig.from_dict({**TINY.to_dict(), "colour": 1})


def test_paper_size_parameter_count():
    # ResNet-18 trunk (~11.2 M) + transformer width 1024 + regressor: about 25 M parameters.
    assert 24e6 < parameter_count(HMRNet()) < 27e6


def test_rotation_round_trips():
    torch.manual_seed(1)
    axis_angle = torch.randn(500, 3)
    axis_angle = axis_angle / axis_angle.norm(dim=-1, keepdim=True) * torch.rand(500, 1) * (math.pi - 1e-3)
    matrices = axis_angle_to_matrix(axis_angle)
    assert torch.allclose(matrix_to_axis_angle(matrices), axis_angle, atol=1e-4)
    assert torch.allclose(rot6d_to_matrix(matrix_to_rot6d(matrices)), matrices, atol=1e-5)
    quarter = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2]))
    assert torch.allclose(quarter, torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), atol=1e-6)


def test_rotation_gradients_finite_at_identity_and_half_turn():
    for matrix in (torch.eye(3), axis_angle_to_matrix(torch.tensor([math.pi, 0.0, 0.0]))):
        m = matrix.clone().requires_grad_(True)
        matrix_to_axis_angle(m).sum().backward()
        assert torch.isfinite(m.grad).all()
    zero = torch.zeros(3, requires_grad=True)
    axis_angle_to_matrix(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_forward_kinematics_root_rotation_about_pelvis():
    rest = torch.zeros(1, 24, 3)
    rest[0, 1:] = torch.tensor([0.0, 1.0, 0.0])  # every other joint 1 m above the pelvis
    rest[0, 0] = torch.tensor([0.5, 0.0, 0.0])
    for joint, parent in enumerate(SMPL_PARENTS[1:], start=1):
        rest[0, joint] = rest[0, parent] + torch.tensor([0.0, 0.1, 0.0])
    rotmats = torch.eye(3).repeat(1, 24, 1, 1)
    rotmats[0, 0] = standing_root_rotation()
    joints = forward_kinematics(rest, rotmats, torch.tensor([[1.0, 2.0, 3.0]]), SMPL_PARENTS)
    assert torch.allclose(joints[0, 0], torch.tensor([1.5, 2.0, 3.0]))
    # SMPL +y becomes world +z under the standing rotation.
    assert torch.allclose(joints[0, 3] - joints[0, 0], torch.tensor([0.0, 0.0, 0.1]), atol=1e-6)
    assert np.isclose(float(joints[0, 9, 2] - joints[0, 0, 2]), 0.3, atol=1e-6)
