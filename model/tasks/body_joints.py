"""Body joints (3DPW, EFT-COCO, our renders): ``hmr``, HMR's iterative regressor of the SMPL
kinematic tree's rotations, and ``hmr-free``, the 24 joints regressed directly.

Joints are root-relative, camera frame, metres, in SMPL order (``finetune_data``).
"""

from __future__ import annotations

import torch

from crocohuman.core.conventions import ANNY_PHENOTYPES, SMPL_TPOSE_JOINTS
from crocohuman.model.heads import IterativeRegressor, PooledMLP
from crocohuman.model.rotation6d import rot6d_to_matrix, smpl_kinematics
from crocohuman.model.tasks.losses import deep_supervision, mean_points
from crocohuman.model.tasks.spec import TaskSpec

# betas: SMPL shape, phenotypes: anny's (our renders); each supervised when the data has it
# cam: HMR's weak-perspective camera (s, tx, ty), crop coordinates in [-1, 1]
HMR_SPEC = {
    "global_orient": 6,
    "body_pose": 21 * 6,
    "betas": 10,
    "phenotypes": len(ANNY_PHENOTYPES),
    "log_scale": 1,
    "cam": 3,
}
NUM_JOINTS = 24
TEMPLATE = torch.tensor(SMPL_TPOSE_JOINTS, dtype=torch.float32)


def hmr_outputs(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One iterate of the hmr head as predictions: the root-relative joints [B, 24, 3] of the SMPL
    tree posed by the regressed rotations and scale, their weak-perspective projection into the
    crop ``s * (x, y) + (tx, ty)``, the rotation matrices, the shape parameters."""
    orient = rot6d_to_matrix(params["global_orient"])  # (B, 3, 3)
    body = rot6d_to_matrix(params["body_pose"].view(-1, 21, 6))  # (B, 21, 3, 3)
    joints = smpl_kinematics(orient, body, TEMPLATE.to(orient))
    joints = (joints - joints[:, :1]) * params["log_scale"].exp()[:, :, None]
    scale, shift = params["cam"][:, None, :1], params["cam"][:, None, 1:]
    return {
        "joints": joints,
        "joints2d": scale * joints[..., :2] + shift,
        "global_orient": orient,
        "body_pose": body,
        "betas": params["betas"],
        "phenotypes": params["phenotypes"],
    }


class PointTask(TaskSpec):
    """A task regressing 3D points: its baseline is the training split's mean pose (and mesh)."""

    def baseline(self, samples: list[dict]) -> dict:
        return mean_points(samples)


class HMR(PointTask):
    """``hmr``: every refinement posed by forward kinematics and supervised (deep supervision)."""

    def make_head(self, finetune, backbone) -> torch.nn.Module:
        return IterativeRegressor(self.head_width(finetune, backbone), HMR_SPEC)

    def predict(self, output) -> dict[str, torch.Tensor]:
        return hmr_outputs(output[0])

    def loss(self, output, batch: dict, device: torch.device) -> torch.Tensor:
        return deep_supervision(output[1], hmr_outputs, batch, device, self.info.targets)


class FreeJoints(PointTask):
    """Model-free joints: a pooled MLP regresses ``num_joints`` points, made relative to joint 0 (the
    root: a body's pelvis, a hand's wrist), as the targets are."""

    num_joints: int

    def make_head(self, finetune, backbone) -> torch.nn.Module:
        return PooledMLP(self.head_width(finetune, backbone), self.num_joints * 3)

    def predict(self, output) -> dict[str, torch.Tensor]:
        joints = output.view(-1, self.num_joints, 3)
        return {"joints": joints - joints[:, :1]}


class HMRFree(FreeJoints):
    """``hmr-free``: the 24 SMPL-order joints."""

    num_joints = NUM_JOINTS
