"""Benchmark metrics: numpy arrays in, numpy arrays (or floats) out, in the inputs' own units.

Pose and mesh errors follow the 3DPW protocol of SPIN / HMR (``utils/pose_utils.py``), hand
metrics the official FreiHAND ``eval.py``, dense correspondence errors the DensePose paper's
RCP / AUC; ``reference/datasets-and-metrics.md`` records each source.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import trapezoid
from scipy.spatial import cKDTree

FREIHAND_THRESHOLDS = np.linspace(0.0, 0.05, 100)  # metres: EvalUtil.get_measures(0, 0.05, 100)
FREIHAND_FSCORE_THRESHOLDS = (0.005, 0.015)  # metres: F@5mm and F@15mm


def _points(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 [N, P, 3] after checking that the shapes agree."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"expected matching [N, P, 3] arrays, got {pred.shape} and {gt.shape}")
    return pred, gt


def _mean_l2(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    return np.linalg.norm(pred - gt, axis=-1).mean(-1)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-joint position error per sample: ``e_n = (1/J) sum_j ||pred_nj - gt_nj||``, [N]."""
    return _mean_l2(*_points(pred, gt))


def mpvpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-vertex position error per sample (VIBE's PVE, no alignment), [N]."""
    return _mean_l2(*_points(pred, gt))


def heading_error(pred: np.ndarray, gt: np.ndarray, left: int = 1, right: int = 2) -> np.ndarray:
    """Angle [N] in degrees, 0..180, between the predicted and true left-to-right hip directions
    in the camera's x-z plane: whether the body's heading relative to the camera is right. The same
    pose facing the camera or facing away differs by 180; MPJPE is dominated by this, PA-MPJPE not."""
    pred, gt = _points(pred, gt)

    def direction(points: np.ndarray) -> np.ndarray:
        hips = points[:, left] - points[:, right]
        return np.arctan2(hips[:, 2], hips[:, 0])

    difference = np.degrees(direction(pred) - direction(gt))
    return np.abs((difference + 180.0) % 360.0 - 180.0)


def procrustes_align(pred: np.ndarray, gt: np.ndarray, allow_reflection: bool = False) -> np.ndarray:
    """``pred`` moved by the similarity ``s R x + t`` that best fits ``gt``, per sample.

    With X1, X2 the centred point sets (rows), ``K = X1^T X2 = U S V^T``;
    ``R = V Z U^T`` with ``Z = diag(1, 1, sign det(V U^T))`` so that det R = +1 (SPIN's
    ``compute_similarity_transform``), ``s = tr(R K) / ||X1||^2``, ``t = mu2 - s R mu1``.
    ``allow_reflection=True`` drops the sign fix (Z = I), which is what FreiHAND's official
    ``align_w_scale`` (``scipy.linalg.orthogonal_procrustes``) computes.
    """
    pred, gt = _points(pred, gt)
    mu1, mu2 = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    x1, x2 = pred - mu1, gt - mu2
    k = np.einsum("npi,npj->nij", x1, x2)  # [N, 3, 3]
    u, _, vh = np.linalg.svd(k)
    v = np.swapaxes(vh, 1, 2)
    z = np.tile(np.eye(3), (len(pred), 1, 1))
    if not allow_reflection:
        z[:, 2, 2] = np.sign(np.linalg.det(v @ np.swapaxes(u, 1, 2)))
    r = v @ z @ np.swapaxes(u, 1, 2)
    var1 = (x1**2).sum((1, 2))
    scale = np.einsum("nii->n", r @ k) / np.maximum(var1, np.finfo(np.float64).tiny)
    return scale[:, None, None] * x1 @ np.swapaxes(r, 1, 2) + mu2


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray, allow_reflection: bool = False) -> np.ndarray:
    """MPJPE after per-sample similarity Procrustes (``procrustes_align``), [N]."""
    return _mean_l2(procrustes_align(pred, gt, allow_reflection), np.asarray(gt, np.float64))


def pa_mpvpe(pred: np.ndarray, gt: np.ndarray, allow_reflection: bool = False) -> np.ndarray:
    """MPVPE after per-sample similarity Procrustes of the vertices themselves, [N]."""
    return _mean_l2(procrustes_align(pred, gt, allow_reflection), np.asarray(gt, np.float64))


def freihand_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """FreiHAND's official per-sample alignment: similarity Procrustes, reflections allowed."""
    return procrustes_align(pred, gt, allow_reflection=True)


def align_by_pelvis(joints: np.ndarray, pelvis: int | tuple[int, int]) -> np.ndarray:
    """Joints [..., J, 3] minus their pelvis: joint ``pelvis``, or the mean of two (hip) joints."""
    joints = np.asarray(joints, np.float64)
    index = [pelvis] if isinstance(pelvis, (int, np.integer)) else list(pelvis)
    return joints - joints[..., index, :].mean(-2, keepdims=True)


def pck_curve(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of errors ``<= t`` for each threshold, [T].

    ``errors`` [N] or [N, K] (samples x keypoints); with keypoints, PCK is taken per keypoint
    and averaged over keypoints, as FreiHAND's ``EvalUtil`` does.
    """
    errors = np.asarray(errors, np.float64)
    columns = np.sort(errors if errors.ndim == 2 else errors[:, None], axis=0).T  # [K, N]
    thresholds = np.asarray(thresholds, np.float64)
    return np.mean([np.searchsorted(c, thresholds, side="right") for c in columns], 0) / columns.shape[1]


def auc(pck: np.ndarray, thresholds: np.ndarray) -> float:
    """Normalised area under a PCK curve: ``trapz(pck, t) / (t_max - t_min)`` (FreiHAND)."""
    thresholds = np.asarray(thresholds, np.float64)
    return float(trapezoid(pck, thresholds) / (thresholds[-1] - thresholds[0]))


def f_score(pred_verts: np.ndarray, gt_verts: np.ndarray, threshold: float) -> float:
    """F-score of two point sets [P, 3], [G, 3] at ``threshold`` (FreiHAND's ``calculate_fscore``).

    precision = fraction of predicted points within ``threshold`` (strictly) of their nearest GT
    point, recall = fraction of GT points within it of their nearest prediction,
    ``F = 2 P R / (P + R)`` (0 when both are 0). FreiHAND's code names the two the other way
    round; F is symmetric, so the number is the same.
    """
    pred_verts, gt_verts = np.asarray(pred_verts, np.float64), np.asarray(gt_verts, np.float64)
    if len(pred_verts) == 0 or len(gt_verts) == 0:
        return 0.0
    to_gt, _ = cKDTree(gt_verts).query(pred_verts)
    to_pred, _ = cKDTree(pred_verts).query(gt_verts)
    precision, recall = float(np.mean(to_gt < threshold)), float(np.mean(to_pred < threshold))
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _labels(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, np.int64), np.asarray(gt, np.int64)
    if pred.shape != gt.shape or pred.ndim != 1 or pred.size == 0:
        raise ValueError(f"expected matching non-empty label vectors, got {pred.shape} and {gt.shape}")
    return pred, gt


def accuracy(pred: np.ndarray, gt: np.ndarray) -> float:
    """Top-1 accuracy: fraction of ``pred == gt``."""
    pred, gt = _labels(pred, gt)
    return float(np.mean(pred == gt))


def per_class_accuracy(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> tuple[float, np.ndarray]:
    """Mean per-class recall and the per-class array [C] (NaN for classes absent from ``gt``).

    ``acc_c = #(pred == c and gt == c) / #(gt == c)``; the mean runs over classes present in ``gt``,
    so rare classes weigh as much as frequent ones.
    """
    pred, gt = _labels(pred, gt)
    if gt.min() < 0 or gt.max() >= num_classes:
        raise ValueError(f"ground-truth labels must lie in 0..{num_classes - 1}, got {gt.min()}..{gt.max()}")
    support = np.bincount(gt, minlength=num_classes)
    correct = np.bincount(gt[pred == gt], minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, correct / support, np.nan)
    return float(np.nanmean(per_class)), per_class


def mean_std(values: np.ndarray, ddof: int = 1) -> tuple[float, float]:
    """Mean and standard deviation of results over seeds (sample std by default; 0 for one value)."""
    values = np.asarray(values, np.float64).ravel()
    if values.size == 0:
        raise ValueError("mean_std needs at least one value")
    std = float(np.std(values, ddof=ddof)) if values.size > ddof else 0.0
    return float(values.mean()), std


def _distances(distances_cm: np.ndarray) -> np.ndarray:
    d = np.asarray(distances_cm, np.float64).ravel()
    if d.size == 0 or np.isnan(d).any() or (d < 0).any():
        raise ValueError("geodesic distances must be a non-empty array of values >= 0 (inf allowed)")
    return d


def rcp_curve(distances_cm: np.ndarray, thresholds_cm: np.ndarray) -> np.ndarray:
    """Ratio of correct points ``RCP(t) = #(d < t) / n`` per threshold, [T]; ``inf`` never counts."""
    d = np.sort(_distances(distances_cm))
    return np.searchsorted(d, np.asarray(thresholds_cm, np.float64), side="left") / len(d)


def densepose_auc(distances_cm: np.ndarray, a: float) -> float:
    """``AUC_a = (1/a) int_0^a RCP(t) dt``, exactly.

    ``RCP(t) = (1/n) sum_i 1[d_i < t]`` and ``int_0^a 1[d_i < t] dt = max(0, a - d_i)``, so
    ``AUC_a = (1/n) sum_i max(0, a - d_i) / a``; an unmatched point (``d = inf``) adds 0.
    """
    d = _distances(distances_cm)
    return float(np.mean(np.maximum(0.0, a - d)) / a)
