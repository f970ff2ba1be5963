"""Rotation formats for pose regression heads, in torch: batched and differentiable.

Heads regress rotations in the continuous 6D form of Zhou et al. (CVPR 2019) and turn them into
matrices by Gram-Schmidt; losses and the SMPL tree use matrices; data and metrics use axis-angle.

6D layout, written once: the first two COLUMNS of R, flattened row by row,
    x = (R00, R01, R10, R11, R20, R21) = R[..., :, :2].flatten(-2),
so the identity is (1, 0, 0, 1, 0, 0). This is SPIN's `rot6d_to_rotmat` (nkolot/SPIN,
utils/geometry.py: `x.view(-1, 3, 2)`, columns a1 = x[:, :, 0], a2 = x[:, :, 1]) and the layout of
its smpl_mean_params.npz. HMR 2.0 / ProHMR (and Zhou et al.'s own code) use the same two columns
concatenated instead, (R00, R10, R20, R01, R11, R21) (`x.reshape(-1, 2, 3).transpose(1, 2)`): to
read one of their vectors here, `v.unflatten(-1, (2, 3)).transpose(-1, -2).flatten(-2)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from crocohuman.core.conventions import NUM_BODY_JOINTS, SMPL_PARENTS
from crocohuman.core.kinematics import forward_kinematics


def rot6d_to_matrix(x: Tensor) -> Tensor:
    """[..., 6] -> [..., 3, 3]: Gram-Schmidt on the two columns, third column by cross product.

    Any 6-vector with independent columns maps to a proper rotation, which is why heads output it.
    """
    cols = x.unflatten(-1, (3, 2))  # (..., 3, 2), column j = cols[..., j]
    a1, a2 = cols[..., 0], cols[..., 1]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)  # columns


def matrix_to_rot6d(rot: Tensor) -> Tensor:
    """[..., 3, 3] -> [..., 6], the inverse of `rot6d_to_matrix` on rotation matrices."""
    return rot[..., :, :2].flatten(-2)


def matrix_to_quaternion(rot: Tensor) -> Tensor:
    """[..., 3, 3] -> [..., 4] unit quaternions (w, x, y, z) with w >= 0.

    Each of w^2, x^2, y^2, z^2 can be read off the diagonal; the other three components follow
    from off-diagonal sums and differences divided by it. Dividing by the largest keeps this
    accurate at every angle, including near pi where the trace-only formula loses the axis, and
    never takes a square root at zero (finite gradients at the identity).
    """
    m = rot.flatten(-2)  # (..., 9), row-major
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.unbind(-1)
    four_sq = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1
    )  # 4w^2, 4x^2, 4y^2, 4z^2
    # row i holds 4 q_i q, so q = +-row / (2 sqrt(4 q_i^2))
    rows = torch.stack(
        [
            torch.stack([four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, four_sq[..., 1], m10 + m01, m02 + m20], -1),
            torch.stack([m02 - m20, m10 + m01, four_sq[..., 2], m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, four_sq[..., 3]], -1),
        ],
        dim=-2,
    )  # (..., 4, 4)
    best = four_sq.argmax(dim=-1, keepdim=True)  # (..., 1); the four sum to 4, so the largest is >= 1
    row = rows.gather(-2, best[..., None].expand(*rot.shape[:-2], 1, 4)).squeeze(-2)  # (..., 4)
    q = F.normalize(row / (2 * four_sq.gather(-1, best).clamp(min=1e-8).sqrt()), dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def matrix_to_axis_angle(rot: Tensor) -> Tensor:
    """[..., 3, 3] -> [..., 3] axis-angle with angle in [0, pi], through quaternions."""
    q = matrix_to_quaternion(rot)
    w, v = q[..., :1], q[..., 1:]
    s = torch.linalg.vector_norm(v, dim=-1, keepdim=True)  # sin(angle / 2)
    angle = 2 * torch.atan2(s, w)
    # angle / s -> 2 / w as s -> 0 (w -> 1); the double where keeps gradients finite
    small = s < 1e-6
    scale = torch.where(small, 2 / w, angle / torch.where(small, torch.ones_like(s), s))
    return v * scale


def smpl_kinematics(global_rotmat: Tensor, body_rotmats: Tensor, rest_joints: Tensor) -> Tensor:
    """Joint positions [B, 24, 3] of the posed SMPL tree, root at its rest position.

    global_rotmat [B, 3, 3]; body_rotmats [B, 21, 3, 3] (AMASS body joints, hands 22/23 get the
    identity) or [B, 23, 3, 3] (all SMPL joints); rest_joints [24, 3] or [B, 24, 3] in the SMPL
    canonical frame. The tree walk is core's ``forward_kinematics``, the renderer's too.
    """
    B = global_rotmat.size(0)
    if body_rotmats.size(1) not in (NUM_BODY_JOINTS, len(SMPL_PARENTS) - 1):
        raise ValueError(f"body_rotmats must hold 21 or 23 joints, got {body_rotmats.size(1)}")
    eye = torch.eye(3, dtype=global_rotmat.dtype, device=global_rotmat.device)
    hands = eye.expand(B, len(SMPL_PARENTS) - 1 - body_rotmats.size(1), 3, 3)
    local = torch.cat([global_rotmat[:, None], body_rotmats, hands], dim=1)  # (B, 24, 3, 3)
    joints, _ = forward_kinematics(local, rest_joints.expand(B, len(SMPL_PARENTS), 3))
    return joints  # (B, 24, 3)
