"""Hands (FreiHAND, our renders read as hand crops): ``hand-mesh``, MANO parameters posed by the
user's MANO file, ``hand-mesh-free``, the mesh's vertices themselves (heads in ``model/mano_head.py``),
and ``hand-joints``, FreiHAND's 21 keypoints alone, without MANO."""

from __future__ import annotations

import torch

from crocohuman.core.conventions import HAND_KEYPOINT_NAMES
from crocohuman.model.mano_head import HandMeshHead, model_free_hand_head
from crocohuman.model.tasks.body_joints import FreeJoints, PointTask
from crocohuman.model.tasks.losses import deep_supervision, prediction_loss, similarity_aligned


class HandMesh(PointTask):
    """``hand-mesh``: the head poses its own iterates; every iterate is supervised."""

    def make_head(self, finetune, backbone) -> torch.nn.Module:
        return HandMeshHead(self.head_width(finetune, backbone), finetune.model_path)

    def predict(self, output) -> dict[str, torch.Tensor]:
        return output[0]

    def loss(self, output, batch: dict, device: torch.device) -> torch.Tensor:
        return deep_supervision(output[1], lambda step: step, batch, device, self.info.targets)


class HandMeshFree(PointTask):
    """``hand-mesh-free``: joints and vertices relative to the predicted wrist, as the targets are to theirs."""

    def make_head(self, finetune, backbone) -> torch.nn.Module:
        return model_free_hand_head(self.head_width(finetune, backbone), finetune.model_path)

    def predict(self, output) -> dict[str, torch.Tensor]:
        root = output["joints"][:, :1]
        return {"joints": output["joints"] - root, "vertices": output["vertices"] - root}


class HandJoints(FreeJoints):
    """``hand-joints``: the 21 keypoints relative to the wrist, as FreiHAND scores them (root-free)."""

    num_joints = len(HAND_KEYPOINT_NAMES)

    def loss(self, output, batch: dict, device: torch.device) -> torch.Tensor:
        """L1 in the camera frame plus L1 after the Procrustes fit that scoring makes: hands seen from
        every side make the orientation hard and the finger shape, which PA-MPJPE scores, easy to drown."""
        pred = self.predict(output)
        target = batch["joints"].to(device)
        aligned = (similarity_aligned(pred["joints"], target) - target).abs().mean()
        return prediction_loss(pred, batch, device, self.info.targets) + aligned
