"""Score a fine-tuned checkpoint on a benchmark split: predictions, metrics, report files.

The checkpoint (``croco-train finetune``) holds the task, the backbone shape and the trivial
baseline measured on its training split (mean pose or hand, majority class); the report puts the
model next to that baseline, in the paper's units (mm for joints and meshes, AUC for DensePose and
FreiHAND's PCK, % for accuracy).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from crocohuman.eval import metrics
from crocohuman.eval.datasets import open_benchmark
from crocohuman.eval.report import markdown_table, plot_curves, plot_per_joint_errors, write_json
from crocohuman.model.checkpointing import load_training_checkpoint
from crocohuman.model.croco import CroCoConfig
from crocohuman.model.finetune import HAND_MESH_TASKS, FinetuneTask, predict, run_model
from crocohuman.model.finetune_data import FinetuneDataset
from crocohuman.model.hand_mesh import FREIHAND_JOINT_NAMES
from crocohuman.model.train_config import TrainConfig
from crocohuman.render.conventions import SMPL_JOINT_NAMES

log = logging.getLogger("crocohuman.eval")
RCP_THRESHOLDS_CM = np.linspace(0, 30, 61)
JOINT_UNITS = {"MPJPE": "[mm]", "PA-MPJPE": "[mm]", "heading error": "[deg]"}


@dataclass
class EvalConfig:
    checkpoint: Path
    benchmark: str
    root: str
    out_dir: Path
    options: dict = field(default_factory=dict)  # reader options (split, ...)
    batch_size: int = 32
    num_workers: int = 2
    limit: int | None = None  # score only the first N samples (quick looks)
    densepose_points: int = 200  # ground-truth points sampled per image for geodesic errors
    smpl_model: str | None = None  # folder of your SMPL files: enables the SPIN/HMR 2.0 3DPW protocol
    h36m_regressor: str | None = None  # your J_regressor_h36m.npy, for that protocol
    model_path: str | None = None  # your MANO folder/file, if not where the checkpoint was fine-tuned


def load_finetuned(path: Path, model_path: str | None = None) -> tuple[torch.nn.Module, TrainConfig, dict]:
    """The model of a fine-tuning checkpoint, its training config and its stored baseline;
    ``model_path`` replaces the body-model files the run used (hand-mesh poses MANO from them)."""
    state = load_training_checkpoint(path)
    if state.get("train_config", {}).get("finetune") is None:
        raise ValueError(f"{path}: not a fine-tuning checkpoint (croco-train finetune writes those)")
    config = TrainConfig(**state["train_config"])
    if model_path:
        config.finetune.model_path = model_path
    model = FinetuneTask(config).build_model(CroCoConfig(**state["croco_config"]))
    model.load_state_dict(state["model"])
    return model.eval(), config, state.get("baseline", {})


@torch.no_grad()
def collect(model, config: TrainConfig, dataset: FinetuneDataset, eval_config: EvalConfig) -> dict[str, np.ndarray]:
    """Predictions and targets over the split, as numpy arrays stacked in dataset order."""
    indices = range(len(dataset) if eval_config.limit is None else min(eval_config.limit, len(dataset)))
    loader = DataLoader(torch.utils.data.Subset(dataset, list(indices)), batch_size=eval_config.batch_size,
                        num_workers=eval_config.num_workers)
    task = config.finetune.task
    out: dict[str, list] = {}
    for batch in tqdm(loader, desc=f"eval {task}", unit="batch"):
        output = run_model(model, config.finetune, batch, next(model.parameters()).device)
        values = {f"pred_{k}": v for k, v in predict(task, output).items()}
        values.update({k: v for k, v in batch.items() if k not in ("img", "img_top", "crop")})
        for key, value in values.items():
            out.setdefault(key, []).append(value.float().numpy() if value.is_floating_point() else value.numpy())
    return {key: np.concatenate(value) for key, value in out.items()}


def joint_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm) and, for SMPL-order joints, the mean heading error (degrees)."""
    scores = {"MPJPE": float(metrics.mpjpe(pred, gt).mean()), "PA-MPJPE": float(metrics.pa_mpjpe(pred, gt).mean())}
    if gt.shape[1] == len(SMPL_JOINT_NAMES):
        scores["heading error"] = float(metrics.heading_error(pred, gt).mean())
    return scores


def score_joints(results: dict, baseline: dict, out_dir: Path) -> dict:
    """Joint scores of the model and of the mean-pose baseline, per-joint error plot."""
    gt, pred = results["joints"] * 1000, results["pred_joints"] * 1000
    rows = {"model": joint_scores(pred, gt)}
    per_joint = {"model": np.linalg.norm(pred - gt, axis=-1).mean(0)}
    if "mean_joints" in baseline:
        mean = np.broadcast_to(np.asarray(baseline["mean_joints"]) * 1000, gt.shape)
        rows["mean-pose baseline"] = joint_scores(mean, gt)
        per_joint["mean-pose baseline"] = np.linalg.norm(mean - gt, axis=-1).mean(0)
    plot_per_joint_errors(out_dir / "per_joint_error.png", list(SMPL_JOINT_NAMES[: gt.shape[1]]), per_joint)
    return rows


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
            betas=torch.as_tensor(betas, dtype=torch.float32), pose2rot=not as_matrix)
    return out.vertices.numpy()


def score_smpl_protocol(results: dict, eval_config: EvalConfig) -> dict:
    """The 3DPW protocol of SPIN / HMR 2.0: SMPL meshes (prediction: neutral model; ground truth:
    the actor's gender) through the H36M regressor, 14 joints, pelvis-aligned, mm; plus MPVPE."""
    from crocohuman.eval.smpl_protocol import evaluate_smpl_meshes
    from crocohuman.render.body.smpl_family import SmplFamilyBody

    body = SmplFamilyBody("smpl", eval_config.smpl_model)
    pred = smpl_vertices(body, "neutral" if "neutral" in body.genders else body.genders[0],
                         results["pred_global_orient"], results["pred_body_pose"], results["pred_betas"])
    gt = np.zeros_like(pred)
    for code, gender in ((0, "neutral"), (1, "male"), (2, "female")):
        rows = results["gender"] == code
        if rows.any():
            gt[rows] = smpl_vertices(body, gender, results["global_orient"][rows], results["body_pose"][rows],
                                     results["betas"][rows])
    errors = evaluate_smpl_meshes(pred, gt, eval_config.h36m_regressor)
    return {"MPJPE (H36M-14)": float(errors.mpjpe.mean()), "PA-MPJPE (H36M-14)": float(errors.pa_mpjpe.mean()),
            "MPVPE": float(errors.mpvpe.mean())}


def score_classes(results: dict, baseline: dict, num_classes: int) -> dict:
    pred, gt = results["pred_logits"].argmax(-1), results["label"]
    rows = {"model": {"accuracy %": 100 * metrics.accuracy(pred, gt),
                      "mean per-class %": 100 * metrics.per_class_accuracy(pred, gt, num_classes)[0]}}
    if "majority_class" in baseline:
        majority = np.full_like(gt, baseline["majority_class"])
        rows["majority-class baseline"] = {"accuracy %": 100 * metrics.accuracy(majority, gt),
                                           "mean per-class %": 100 * metrics.per_class_accuracy(majority, gt, num_classes)[0]}
    return rows


def score_densepose(results: dict, eval_config: EvalConfig, out_dir: Path) -> dict:
    """Part accuracy on labelled pixels, and geodesic AUC10/AUC30 on sampled ground-truth points
    (our anny surface for synthetic data; the SMPL DensePose assets for DensePose-COCO)."""
    from crocohuman.eval.densepose_geodesic import MeshChartSurface, SmplDensePoseSurface

    gt_parts, gt_uv = results["parts"], results["uv"]
    pred_parts = results["pred_parts"]
    labelled = gt_parts >= 0
    surface = (SmplDensePoseSurface(eval_config.options["densepose_assets"]) if eval_config.benchmark == "densepose"
               else MeshChartSurface.from_anny())
    rng = np.random.default_rng(0)
    pred_iuv, gt_iuv = [], []
    for b in range(len(gt_parts)):
        rows, cols = np.nonzero(gt_parts[b] > 0)
        pick = rng.choice(len(rows), min(eval_config.densepose_points, len(rows)), replace=False)
        rows, cols = rows[pick], cols[pick]
        pred_iuv.append(np.column_stack([pred_parts[b, rows, cols], results["pred_uv"][b, :, rows, cols]]))
        gt_iuv.append(np.column_stack([gt_parts[b, rows, cols], gt_uv[b, :, rows, cols]]))
    distances = surface.distances(np.concatenate(pred_iuv), np.concatenate(gt_iuv))
    plot_curves(out_dir / "rcp.png", RCP_THRESHOLDS_CM, {"model": metrics.rcp_curve(distances, RCP_THRESHOLDS_CM)},
                "geodesic threshold [cm]", "RCP")
    return {"model": {"part accuracy %": 100 * float((pred_parts == gt_parts)[labelled].mean()),
                      "AUC10": metrics.densepose_auc(distances, 10), "AUC30": metrics.densepose_auc(distances, 30)}}


def freihand_scores(joints: np.ndarray, vertices: np.ndarray, gt_joints: np.ndarray,
                    gt_vertices: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """FreiHAND's official scores (its ``eval.py``) of predictions in metres: joints and vertices
    each aligned to the ground truth by their own similarity transform (``metrics.freihand_align``,
    reflections allowed as ``orthogonal_procrustes``); PA-MPJPE and PA-MPVPE in mm, F@5mm / F@15mm
    on the aligned vertices, AUC of the aligned 3D PCK over 0-50 mm. Returns the scores, the PCK
    curve and the per-joint errors (mm)."""
    joint_errors = np.linalg.norm(metrics.freihand_align(joints, gt_joints) - gt_joints, axis=-1)  # (N, 21)
    aligned = metrics.freihand_align(vertices, gt_vertices)
    pck = metrics.pck_curve(joint_errors, metrics.FREIHAND_THRESHOLDS)
    scores = {"PA-MPJPE": 1000 * float(joint_errors.mean()),
              "PA-MPVPE": 1000 * float(np.linalg.norm(aligned - gt_vertices, axis=-1).mean())}
    for t in metrics.FREIHAND_FSCORE_THRESHOLDS:
        fscores = [metrics.f_score(p, g, t) for p, g in zip(aligned, gt_vertices)]
        scores[f"F@{round(1000 * t)}mm"] = float(np.mean(fscores))
    scores["AUC"] = metrics.auc(pck, metrics.FREIHAND_THRESHOLDS)
    return scores, pck, 1000 * joint_errors.mean(0)


def score_hand_mesh(results: dict, baseline: dict, out_dir: Path) -> dict:
    """FreiHAND's scores of the model and of the mean-hand baseline; PCK and per-joint error plots."""
    if "vertices" not in results:
        raise ValueError("scoring hand meshes needs the ground-truth meshes: <root>/evaluation_verts.json")
    gt_joints, gt_vertices = results["joints"], results["vertices"]
    predictions = {"model": (results["pred_joints"], results["pred_vertices"])}
    if "mean_joints" in baseline and "mean_vertices" in baseline:
        predictions["mean-hand baseline"] = (np.broadcast_to(np.asarray(baseline["mean_joints"]), gt_joints.shape),
                                             np.broadcast_to(np.asarray(baseline["mean_vertices"]), gt_vertices.shape))
    rows, curves, per_joint = {}, {}, {}
    for name, (joints, vertices) in predictions.items():
        rows[name], curves[name], per_joint[name] = freihand_scores(joints, vertices, gt_joints, gt_vertices)
    plot_curves(out_dir / "pck.png", 1000 * metrics.FREIHAND_THRESHOLDS, curves, "threshold [mm]", "3D PCK (aligned)")
    plot_per_joint_errors(out_dir / "per_joint_error.png", list(FREIHAND_JOINT_NAMES), per_joint)
    return rows


def check_task_fits(benchmark: str, task: str, checkpoint: Path) -> None:
    """FreiHAND scores hand meshes and hand meshes are scored on FreiHAND (21 joints in its order)."""
    if benchmark == "freihand" and task not in HAND_MESH_TASKS:
        raise ValueError(f"croco-eval freihand scores hand meshes (MANO), but {checkpoint} was fine-tuned for task "
                         f"{task!r}: fine-tune with croco-train finetune --task hand-mesh (config finetune-hand-mesh)")
    if task in HAND_MESH_TASKS and benchmark != "freihand":
        raise ValueError(f"{checkpoint} is a {task} checkpoint: score it with croco-eval freihand, not {benchmark}")


def evaluate(eval_config: EvalConfig) -> dict:
    """Write ``results.json`` and ``results.md`` (and plots) into ``out_dir``; return the results."""
    model, config, baseline = load_finetuned(eval_config.checkpoint, eval_config.model_path)
    task = config.finetune.task
    check_task_fits(eval_config.benchmark, task, eval_config.checkpoint)
    benchmark = open_benchmark(eval_config.benchmark, eval_config.root, **eval_config.options)
    dataset = FinetuneDataset(benchmark, config.image_size, train=False, top_crop=config.finetune.top_crop)
    out_dir = Path(eval_config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = collect(model, config, dataset, eval_config)
    if task in HAND_MESH_TASKS:
        rows = score_hand_mesh(results, baseline, out_dir)
        units = {"PA-MPJPE": "[mm]", "PA-MPVPE": "[mm]", "AUC": "[0-50 mm]"}
    elif task in ("hmr", "hmr-free"):
        rows = score_joints(results, baseline, out_dir)
        units = dict(JOINT_UNITS)
        if eval_config.smpl_model and eval_config.h36m_regressor:
            if task != "hmr" or "betas" not in results:
                raise ValueError("the SMPL protocol needs the hmr task and SMPL ground truth (betas, e.g. 3DPW)")
            rows["model"].update(score_smpl_protocol(results, eval_config))
            units.update({"MPJPE (H36M-14)": "[mm]", "PA-MPJPE (H36M-14)": "[mm]", "MPVPE": "[mm]"})
    elif task in ("gesture", "grasp"):
        rows, units = score_classes(results, baseline, config.finetune.num_classes), {}
    else:
        rows, units = score_densepose(results, eval_config, out_dir), {}
    summary = {"benchmark": eval_config.benchmark, "task": task, "checkpoint": str(eval_config.checkpoint),
               "samples": int(len(next(iter(results.values())))), "results": rows}
    write_json(out_dir / "results.json", summary)
    title = f"{eval_config.benchmark} / {task} ({summary['samples']} samples)"
    (out_dir / "results.md").write_text(markdown_table(title, list(rows.items()), units))
    return summary
