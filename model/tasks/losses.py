"""Losses and trivial baselines shared by the regression and classification tasks."""

from __future__ import annotations

import numpy as np
import torch

from crocohuman.core.rotations import axis_angle_to_matrix

POINT_TARGETS = ("joints", "vertices")  # root-relative, metres
ROTATION_TARGETS = ("global_orient", "body_pose", "hand_pose")  # axis-angle in the batch, matrices predicted
SHAPE_WEIGHTS = {"betas": 0.01, "phenotypes": 1.0}  # SMPL betas are ~N(0, 1), phenotypes in [0, 1]


def _present(name: str, pred: dict, batch: dict, targets: tuple[str, ...]) -> bool:
    return name in targets and name in pred and name in batch


def prediction_loss(pred: dict, batch: dict, device: torch.device, targets: tuple[str, ...]) -> torch.Tensor:
    """L1 on root-relative points and on the 2D reprojection, rotation-matrix MSE on rotations and
    shape terms (SMPL betas, anny phenotypes), each of ``targets`` where both the prediction and the
    batch have it."""
    loss = torch.zeros((), device=device)
    for name in POINT_TARGETS:
        if _present(name, pred, batch, targets):
            loss = loss + (pred[name] - batch[name].to(device)).abs().mean()
    for name in ROTATION_TARGETS:
        if _present(name, pred, batch, targets):
            target = axis_angle_to_matrix(batch[name].to(device).float())
            loss = loss + (pred[name] - target.view_as(pred[name])).square().mean()
    if _present("joints2d", pred, batch, targets):  # reprojection, on visible joints
        target = batch["joints2d"].to(device)
        visible = target[..., 2:]
        loss = loss + ((pred["joints2d"] - target[..., :2]).abs() * visible).sum() / (2 * visible.sum()).clamp(min=1)
    for name, weight in SHAPE_WEIGHTS.items():
        if _present(name, pred, batch, targets):
            loss = loss + weight * (pred[name] - batch[name].to(device)).square().mean()
    return loss


def similarity_aligned(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``pred`` [B, J, 3] moved by the similarity (scale, rotation, translation) that best fits it onto
    ``target``, as PA-MPJPE aligns before scoring (``eval.metrics.procrustes_align``). The fit is
    made without gradient: a loss on the result pushes the predicted shape, not its orientation."""
    centred, target_mean = pred - pred.mean(1, keepdim=True).detach(), target.mean(1, keepdim=True)
    with torch.no_grad():
        x, y = centred.double(), (target - target_mean).double()
        u, singular, vh = torch.linalg.svd(x.transpose(1, 2) @ y)
        flip = torch.ones_like(singular)
        flip[:, 2] = torch.sign(torch.linalg.det(vh.transpose(1, 2) @ u.transpose(1, 2)))
        rotation = vh.transpose(1, 2) @ torch.diag_embed(flip) @ u.transpose(1, 2)
        scale = (singular * flip).sum(1) / x.square().sum((1, 2)).clamp(min=1e-12)
        rotation, scale = rotation.to(pred.dtype), scale.to(pred.dtype)
    return scale[:, None, None] * (centred @ rotation.transpose(1, 2)) + target_mean


def deep_supervision(
    steps: list, to_prediction, batch: dict, device: torch.device, targets: tuple[str, ...]
) -> torch.Tensor:
    """The mean ``prediction_loss`` over every refinement of an iterative regressor, as HMR does."""
    return sum(prediction_loss(to_prediction(step), batch, device, targets) for step in steps) / len(steps)


def mean_points(samples: list[dict]) -> dict:
    """The mean root-relative pose (and mesh, when the data has one) of the samples."""
    return {
        f"mean_{key}": torch.stack([s[key] for s in samples]).mean(0).tolist()
        for key in POINT_TARGETS
        if key in samples[0]
    }


def majority_class(samples: list[dict]) -> dict:
    """The most frequent label of the samples."""
    labels = np.array([int(s["label"]) for s in samples])
    return {"majority_class": int(np.bincount(labels).argmax())}
