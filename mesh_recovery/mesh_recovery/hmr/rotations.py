"""Differentiable rotation conversions in torch (6-D, matrix, axis-angle).

The numpy conversions used by the rest of the code base live in
``presstrack_body.kinematics``; these are the torch versions the network
and its losses need, written so that gradients stay finite at zero angle.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_EPS = 1e-8


def rot6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """6-D rotation (Zhou et al. 2019) -> rotation matrix.

    Args:
        x: (..., 6), read as a 3x2 matrix whose two columns are Gram-Schmidt
           orthonormalised (as in SPIN/VIBE).
    Returns:
        (..., 3, 3) rotation matrices; columns are b1, b2, b1 x b2.
    """
    pair = x.reshape(*x.shape[:-1], 3, 2)
    b1 = F.normalize(pair[..., 0], dim=-1, eps=1e-6)
    b2 = pair[..., 1] - (b1 * pair[..., 1]).sum(-1, keepdim=True) * b1
    b2 = F.normalize(b2, dim=-1, eps=1e-6)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_rot6d(rotation: torch.Tensor) -> torch.Tensor:
    """Rotation matrix (..., 3, 3) -> 6-D (..., 6), the inverse of rot6d_to_matrix."""
    return rotation[..., :, :2].reshape(*rotation.shape[:-2], 6)


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues formula: axis-angle (..., 3) in radians -> (..., 3, 3)."""
    angle_sq = (axis_angle * axis_angle).sum(-1, keepdim=True)[..., None]  # (...,1,1)
    angle = torch.sqrt(angle_sq + _EPS * _EPS)
    small = angle_sq < 1e-8
    # sin(a)/a and (1-cos(a))/a^2 with their Taylor series near zero.
    sin_term = torch.where(small, 1.0 - angle_sq / 6.0, torch.sin(angle) / angle)
    cos_term = torch.where(small, 0.5 - angle_sq / 24.0, (1.0 - torch.cos(angle)) / (angle * angle))
    x, y, z = axis_angle.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis_angle.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device).expand_as(skew)
    return eye + sin_term * skew + cos_term * (skew @ skew)


def matrix_to_quaternion(rotation: torch.Tensor) -> torch.Tensor:
    """Rotation matrix (..., 3, 3) -> unit quaternion (..., 4) as (w, x, y, z), w >= 0.

    Picks, per matrix, the best-conditioned of the four standard formulas
    (Shepperd's method) so that no branch divides by a value near zero.
    """
    m = rotation
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates_sq = torch.stack(
        [1.0 + m00 + m11 + m22, 1.0 + m00 - m11 - m22, 1.0 - m00 + m11 - m22, 1.0 - m00 - m11 + m22], dim=-1
    )
    # 4*q_i^2 for each component; the largest one is the safe pivot.
    root = torch.sqrt(torch.clamp(candidates_sq, min=1e-12))
    q_from_w = torch.stack([root[..., 0] ** 2, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1)
    q_from_x = torch.stack([m[..., 2, 1] - m[..., 1, 2], root[..., 1] ** 2, m[..., 1, 0] + m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0]], -1)
    q_from_y = torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1], root[..., 2] ** 2, m[..., 2, 1] + m[..., 1, 2]], -1)
    q_from_z = torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 2, 0] + m[..., 0, 2], m[..., 2, 1] + m[..., 1, 2], root[..., 3] ** 2], -1)
    candidates = torch.stack([q_from_w, q_from_x, q_from_y, q_from_z], dim=-2) / (2.0 * root[..., None])
    pivot = candidates_sq.argmax(dim=-1)
    index = pivot[..., None, None].expand(*pivot.shape, 1, 4)
    quaternion = torch.gather(candidates, -2, index).squeeze(-2)
    quaternion = F.normalize(quaternion, dim=-1)
    return torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)


def matrix_to_axis_angle(rotation: torch.Tensor) -> torch.Tensor:
    """Rotation matrix (..., 3, 3) -> axis-angle (..., 3), angle in [0, pi]."""
    quaternion = matrix_to_quaternion(rotation)
    w, xyz = quaternion[..., :1], quaternion[..., 1:]
    sin_half_sq = (xyz * xyz).sum(-1, keepdim=True)
    sin_half = torch.sqrt(sin_half_sq + _EPS * _EPS)
    angle = 2.0 * torch.atan2(sin_half, w)
    small = sin_half_sq < 1e-10
    # angle / sin(angle/2) -> 2 / w as the angle goes to zero.
    factor = torch.where(small, 2.0 / w.clamp(min=_EPS), angle / sin_half)
    return xyz * factor
