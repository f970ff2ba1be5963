"""Scores of a task's predictions against a benchmark's targets: the rows of the report.

``score_task`` takes ``results``: the targets as ``FinetuneDataset`` gives them (``joints``,
``vertices``, ``parts``, ...) and the predictions in ``predictions.npz``'s stored form under
``pred_<name>``, all stacked in benchmark order. Whether the predictions came from a checkpoint
just now or from a file, the same arrays reach the same code, so the numbers are the same.
Rows are the model and, when known, a trivial baseline (mean pose or hand, majority class), in the
paper's units (mm for joints and meshes, AUC for DensePose and FreiHAND's PCK, % for accuracy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from crocohuman.core.conventions import FREIHAND_JOINT_NAMES, GENDER_OF_CODE, SMPL_JOINT_NAMES
from crocohuman.eval import metrics
from crocohuman.eval.config import EvalConfig
from crocohuman.eval.report import plot_curves, plot_per_joint_errors
from crocohuman.model.task_catalog import TASK_INFO, TaskInfo

RCP_THRESHOLDS_CM = np.linspace(0, 30, 61)
JOINT_UNITS = {"MPJPE": "[mm]", "PA-MPJPE": "[mm]", "heading error": "[deg]"}
HAND_UNITS = {"PA-MPJPE": "[mm]", "PA-MPVPE": "[mm]", "AUC": "[0-50 mm]"}
SMPL_PROTOCOL_UNITS = {"MPJPE (H36M-14)": "[mm]", "PA-MPJPE (H36M-14)": "[mm]", "MPVPE": "[mm]"}
SMPL_CHUNK = 512  # meshes posed at once: 35k 3DPW samples at once would need tens of GB


def joint_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm) and, for SMPL-order joints, the mean heading error (degrees)."""
    scores = {"MPJPE": float(metrics.mpjpe(pred, gt).mean()), "PA-MPJPE": float(metrics.pa_mpjpe(pred, gt).mean())}
    if gt.shape[1] == len(SMPL_JOINT_NAMES):
        scores["heading error"] = float(metrics.heading_error(pred, gt).mean())
    return scores


@dataclass
class TaskScores:
    """The report's rows (model, baseline: metric -> value), their columns' units, the plots written,
    and the metric (lower is better) on which the report says whether the model beats the baseline."""

    rows: dict[str, dict[str, float]]
    units: dict[str, str] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)
    compared_on: str | None = None


def score_joints(results: dict, baseline: dict, out_dir: Path) -> TaskScores:
    """Joint scores of the model and of the mean-pose baseline, per-joint error plot."""
    gt, pred = results["joints"] * 1000, results["pred_joints"] * 1000
    rows = {"model": joint_scores(pred, gt)}
    per_joint = {"model": np.linalg.norm(pred - gt, axis=-1).mean(0)}
    if "mean_joints" in baseline:
        mean = np.broadcast_to(np.asarray(baseline["mean_joints"]) * 1000, gt.shape)
        rows["mean-pose baseline"] = joint_scores(mean, gt)
        per_joint["mean-pose baseline"] = np.linalg.norm(mean - gt, axis=-1).mean(0)
    plot = plot_per_joint_errors(out_dir / "per_joint_error.png", list(SMPL_JOINT_NAMES[: gt.shape[1]]), per_joint)
    return TaskScores(rows, dict(JOINT_UNITS), [plot], compared_on="PA-MPJPE")


def smpl_vertices(body, gender: str, orient: np.ndarray, body_pose: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """SMPL meshes [N, 6890, 3] (metres, camera axes, no translation) from rotation matrices
    (orient [N, 3, 3], body_pose [N, 21, 3, 3]) or axis-angle (orient [N, 3], body_pose [N, 21, 3]);
    SMPL's two hand joints stay at rest."""
    count, as_matrix = len(orient), orient.ndim == 3
    hands = np.broadcast_to(np.eye(3), (count, 2, 3, 3)) if as_matrix else np.zeros((count, 2, 3))
    pose = np.concatenate([body_pose, hands], 1)  # (N, 23, 3[, 3])
    shape = (count, -1, 3, 3) if as_matrix else (count, -1)  # smplx: joints of 3x3, or flat axis-angle
    with torch.no_grad():
        out = body.model(gender)(
            global_orient=torch.as_tensor(orient, dtype=torch.float32).reshape(shape),
            body_pose=torch.as_tensor(pose, dtype=torch.float32).reshape(shape),
            betas=torch.as_tensor(betas, dtype=torch.float32),
            pose2rot=not as_matrix,
        )
    return out.vertices.numpy()


def _smpl_meshes(body, results: dict, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Predicted (neutral model) and true (each actor's gender) meshes of the samples ``rows``."""
    pred = smpl_vertices(
        body,
        "neutral" if "neutral" in body.genders else body.genders[0],
        results["pred_global_orient"][rows],
        results["pred_body_pose"][rows],
        results["pred_betas"][rows],
    )
    gt, genders = np.zeros_like(pred), results["gender"][rows]
    for code, gender in GENDER_OF_CODE.items():
        mine = genders == code
        if mine.any():
            gt[mine] = smpl_vertices(
                body,
                gender,
                results["global_orient"][rows][mine],
                results["body_pose"][rows][mine],
                results["betas"][rows][mine],
            )
    return pred, gt


def score_smpl_protocol(results: dict, eval_config: EvalConfig) -> dict:
    """The 3DPW protocol of SPIN / HMR 2.0: SMPL meshes (prediction: neutral model; ground truth:
    the actor's gender) through the H36M regressor, 14 joints, pelvis-aligned, mm; plus MPVPE.
    Meshes are posed ``SMPL_CHUNK`` samples at a time, so memory stays flat on the full split."""
    from crocohuman.core.bodymodel.smplx_layer import BodyModelLayers
    from crocohuman.eval.smpl_protocol import evaluate_smpl_meshes, load_h36m_regressor

    body = BodyModelLayers("smpl", eval_config.smpl_model)
    regressor = load_h36m_regressor(eval_config.h36m_regressor)
    errors = [
        evaluate_smpl_meshes(*_smpl_meshes(body, results, slice(start, start + SMPL_CHUNK)), regressor)
        for start in range(0, len(results["pred_betas"]), SMPL_CHUNK)
    ]
    return {
        name: float(np.concatenate([getattr(e, field) for e in errors]).mean())
        for name, field in (("MPJPE (H36M-14)", "mpjpe"), ("PA-MPJPE (H36M-14)", "pa_mpjpe"), ("MPVPE", "mpvpe"))
    }


def class_scores(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> dict[str, float]:
    return {
        "accuracy %": 100 * metrics.accuracy(pred, gt),
        "mean per-class %": 100 * metrics.per_class_accuracy(pred, gt, num_classes)[0],
    }


def score_classes(results: dict, baseline: dict, info: TaskInfo, eval_config: EvalConfig, out_dir: Path) -> TaskScores:
    """Top-1 and mean per-class accuracy of the arg-max of the logits, and of the majority class."""
    logits, gt = results["pred_logits"], results["label"]
    rows = {"model": class_scores(logits.argmax(-1), gt, logits.shape[-1])}
    if "majority_class" in baseline:
        rows["majority-class baseline"] = class_scores(
            np.full_like(gt, baseline["majority_class"]), gt, logits.shape[-1]
        )
    return TaskScores(rows)


def _sampled_points(results: dict, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` labelled ground-truth pixels per image (seeded), as (I, U, V) rows of the
    prediction there and of the ground truth; predicted (U, V) read as ``uint8 / 255``."""
    gt_parts, gt_uv, pred_parts, pred_uv = results["parts"], results["uv"], results["pred_parts"], results["pred_uv"]
    rng = np.random.default_rng(0)
    pred_iuv, gt_iuv = [], []
    for b in range(len(gt_parts)):
        rows, cols = np.nonzero(gt_parts[b] > 0)
        pick = rng.choice(len(rows), min(count, len(rows)), replace=False)
        rows, cols = rows[pick], cols[pick]
        pred_iuv.append(np.column_stack([pred_parts[b, rows, cols], pred_uv[b, :, rows, cols] / 255.0]))
        gt_iuv.append(np.column_stack([gt_parts[b, rows, cols], gt_uv[b, :, rows, cols]]))
    return np.concatenate(pred_iuv), np.concatenate(gt_iuv)


def _smpl_densepose_surface(eval_config: EvalConfig):
    from crocohuman.eval.densepose_geodesic import SmplDensePoseSurface

    return SmplDensePoseSurface(eval_config.options["densepose_assets"])


def _anny_surface(eval_config: EvalConfig):
    from crocohuman.eval.densepose_geodesic import MeshChartSurface

    return MeshChartSurface.from_anny()


# benchmark -> the body surface whose charts its (U, V) are: geodesic distances are measured on it
DENSE_SURFACES: dict[str, Callable[[EvalConfig], object]] = {
    "densepose": _smpl_densepose_surface,
    "synthetic": _anny_surface,
}


def score_densepose(
    results: dict, baseline: dict, info: TaskInfo, eval_config: EvalConfig, out_dir: Path
) -> TaskScores:
    """Part accuracy on labelled pixels, and geodesic AUC10/AUC30 on sampled ground-truth points
    (our anny surface for synthetic data; the SMPL DensePose assets for DensePose-COCO)."""
    gt_parts, pred_parts = results["parts"], results["pred_parts"]
    surface = DENSE_SURFACES[eval_config.benchmark](eval_config)
    distances = surface.distances(*_sampled_points(results, eval_config.densepose_points))
    plot = plot_curves(
        out_dir / "rcp.png",
        RCP_THRESHOLDS_CM,
        {"model": metrics.rcp_curve(distances, RCP_THRESHOLDS_CM)},
        "geodesic threshold [cm]",
        "RCP",
    )
    labelled = gt_parts >= 0
    row = {
        "part accuracy %": 100 * float((pred_parts == gt_parts)[labelled].mean()),
        "AUC10": metrics.densepose_auc(distances, 10),
        "AUC30": metrics.densepose_auc(distances, 30),
    }
    return TaskScores({"model": row}, plots=[plot])


def freihand_joint_scores(joints: np.ndarray, gt_joints: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """FreiHAND's joint scores (its ``eval.py``) of predictions in metres: each sample aligned to the
    ground truth by its own similarity transform (``metrics.freihand_align``: scale, rotation,
    translation, reflections allowed as ``orthogonal_procrustes``); PA-MPJPE in mm and the AUC of the
    aligned 3D PCK over 0-50 mm. Returns the scores, the PCK curve and the per-joint errors (mm)."""
    joint_errors = np.linalg.norm(metrics.freihand_align(joints, gt_joints) - gt_joints, axis=-1)  # (N, 21)
    pck = metrics.pck_curve(joint_errors, metrics.FREIHAND_THRESHOLDS)
    scores = {"PA-MPJPE": 1000 * float(joint_errors.mean()), "AUC": metrics.auc(pck, metrics.FREIHAND_THRESHOLDS)}
    return scores, pck, 1000 * joint_errors.mean(0)


def freihand_scores(
    joints: np.ndarray, vertices: np.ndarray, gt_joints: np.ndarray, gt_vertices: np.ndarray
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """``freihand_joint_scores`` and the mesh's: the vertices aligned by their own similarity
    transform, PA-MPVPE in mm, F@5mm / F@15mm on the aligned vertices."""
    joint, pck, per_joint = freihand_joint_scores(joints, gt_joints)
    aligned = metrics.freihand_align(vertices, gt_vertices)
    scores = {
        "PA-MPJPE": joint["PA-MPJPE"],
        "PA-MPVPE": 1000 * float(np.linalg.norm(aligned - gt_vertices, axis=-1).mean()),
    }
    for t in metrics.FREIHAND_FSCORE_THRESHOLDS:
        fscores = [metrics.f_score(p, g, t) for p, g in zip(aligned, gt_vertices)]
        scores[f"F@{round(1000 * t)}mm"] = float(np.mean(fscores))
    scores["AUC"] = joint["AUC"]
    return scores, pck, per_joint


def hand_report(scored: dict[str, tuple[dict[str, float], np.ndarray, np.ndarray]], out_dir: Path) -> TaskScores:
    """The rows of FreiHAND-protocol scores (model, mean hand), their PCK curves and per-joint bars."""
    rows = {name: scores for name, (scores, _, _) in scored.items()}
    plots = [
        plot_curves(
            out_dir / "pck.png",
            1000 * metrics.FREIHAND_THRESHOLDS,
            {name: pck for name, (_, pck, _) in scored.items()},
            "threshold [mm]",
            "3D PCK (aligned)",
        ),
        plot_per_joint_errors(
            out_dir / "per_joint_error.png",
            list(FREIHAND_JOINT_NAMES),
            {name: per_joint for name, (_, _, per_joint) in scored.items()},
        ),
    ]
    return TaskScores(rows, dict(HAND_UNITS), plots, compared_on="PA-MPJPE")


def score_hand_mesh(
    results: dict, baseline: dict, info: TaskInfo, eval_config: EvalConfig, out_dir: Path
) -> TaskScores:
    """FreiHAND's scores of the model and of the mean-hand baseline; PCK and per-joint error plots."""
    if "vertices" not in results:
        raise ValueError("scoring hand meshes needs the ground-truth meshes: <root>/evaluation_verts.json")
    gt_joints, gt_vertices = results["joints"], results["vertices"]
    predictions = {"model": (results["pred_joints"], results["pred_vertices"])}
    if "mean_joints" in baseline and "mean_vertices" in baseline:
        predictions["mean-hand baseline"] = (
            np.broadcast_to(np.asarray(baseline["mean_joints"]), gt_joints.shape),
            np.broadcast_to(np.asarray(baseline["mean_vertices"]), gt_vertices.shape),
        )
    return hand_report(
        {
            name: freihand_scores(joints, vertices, gt_joints, gt_vertices)
            for name, (joints, vertices) in predictions.items()
        },
        out_dir,
    )


def score_hand_joints(
    results: dict, baseline: dict, info: TaskInfo, eval_config: EvalConfig, out_dir: Path
) -> TaskScores:
    """FreiHAND's joint scores (PA-MPJPE, AUC) of the model and of the training split's mean right
    hand, on FreiHAND or on our renders' hand crops alike; PCK and per-joint error plots."""
    gt = results["joints"]
    predictions = {"model": results["pred_joints"]}
    if "mean_joints" in baseline:
        predictions["mean-hand baseline"] = np.broadcast_to(np.asarray(baseline["mean_joints"]), gt.shape)
    return hand_report({name: freihand_joint_scores(joints, gt) for name, joints in predictions.items()}, out_dir)


def score_body_joints(
    results: dict, baseline: dict, info: TaskInfo, eval_config: EvalConfig, out_dir: Path
) -> TaskScores:
    """Joint scores; with ``--smpl-model``, also the SPIN 3DPW protocol on the predicted SMPL parameters."""
    scores = score_joints(results, baseline, out_dir)
    if eval_config.smpl_model and eval_config.h36m_regressor:
        missing = [
            name for name in ("pred_global_orient", "pred_body_pose", "pred_betas", "betas") if name not in results
        ]
        if not info.smpl_params or missing:
            smpl_tasks = ", ".join(name for name, other in TASK_INFO.items() if other.smpl_params)
            raise ValueError(
                f"the SMPL protocol (--smpl-model) needs the SMPL parameters of task {smpl_tasks} and "
                f"SMPL ground truth (betas, e.g. 3DPW); task {info.name}, missing: {', '.join(missing) or '-'}"
            )
        scores.rows["model"].update(score_smpl_protocol(results, eval_config))
        scores.units.update(SMPL_PROTOCOL_UNITS)
    return scores


# (results, baseline, task, eval config, report folder) -> the report's rows, units and plots
Scorer = Callable[[dict, dict, TaskInfo, EvalConfig, Path], TaskScores]
SCORERS: dict[str, Scorer] = {
    "body_joints": score_body_joints,
    "hand_mesh": score_hand_mesh,
    "hand_joints": score_hand_joints,
    "densepose": score_densepose,
    "classes": score_classes,
}


def score_task(task: str, results: dict, baseline: dict, eval_config: EvalConfig, out_dir: Path) -> TaskScores:
    """The report's rows (model, baseline), their units, and the plots written into ``out_dir``, by
    the scorer of the task's score kind."""
    info = TASK_INFO[task]
    return SCORERS[info.score_kind](results, baseline, info, eval_config, out_dir)
