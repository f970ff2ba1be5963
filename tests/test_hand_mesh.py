"""hand-mesh (MANO's iterative regressor) and hand-mesh-free (METRO-style vertices) fine-tuned and
scored on FreiHAND-format folders.

The fake FreiHAND annotations are random MANO fits posed by smplx itself the way FreiHAND's
toolbox poses them (full axis-angle, ``flat_hand_mean=False``), with a fake MANO file in the real
layout, so joints, mesh and parameters agree as in the real data.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import smplx
import torch
from click.testing import CliRunner
from PIL import Image
from scipy.linalg import orthogonal_procrustes

from crocohuman.core.conventions import FREIHAND_JOINT_NAMES, MANO_JOINT_NAMES, MANO_TO_FREIHAND
from crocohuman.core.rotations import axis_angle_to_matrix
from crocohuman.datasets import open_benchmark
from crocohuman.eval import scoring
from crocohuman.eval.cli import main as eval_cli
from crocohuman.model.cli import main as train_cli
from crocohuman.model.finetune import FinetuneTask, finetune
from crocohuman.model.finetune_data import FinetuneDataset
from crocohuman.model.mano_head import HandMeshHead, freihand_joint_regressor, load_mano, model_free_hand_head
from crocohuman.model.rotation6d import matrix_to_rot6d
from crocohuman.model.task_catalog import task_spec
from crocohuman.model.train_config import TrainConfig, load_config

from fake_benchmarks import config_for, make_freihand, make_hagrid_v1
from fake_smpl import write_fake_mano_npz

TIP_VERTICES = [744, 320, 443, 555, 672]  # FreiHAND toolbox's fingertips: thumb, index, middle, ring, pinky
# FreiHAND (wrist; thumb, index, middle, ring, pinky: 3 joints and the tip) from MANO's 16 joints + tips
FREIHAND_FROM_MANO = [0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20]
CPU = torch.device("cpu")


def freihand_fits(mano_file, count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xyz [N, 21, 3], verts [N, 778, 3] and mano [N, 61] of random fits, wrist 0.4 m before the camera."""
    layer = smplx.create(str(mano_file), "mano", ext="npz", use_pca=False, flat_hand_mean=False)
    rng = np.random.default_rng(seed)
    orient = np.array([0.0, 0.0, -math.pi / 2]) + rng.normal(0.0, 0.3, (count, 3))
    hand_pose, betas = rng.normal(0.0, 0.3, (count, 45)), rng.normal(0.0, 1.0, (count, 10))
    inputs = {"global_orient": orient, "hand_pose": hand_pose, "betas": betas}
    with torch.no_grad():
        out = layer(**{name: torch.tensor(value, dtype=torch.float32) for name, value in inputs.items()})
    joints = torch.cat([out.joints[:, :16], out.vertices[:, TIP_VERTICES]], 1).numpy()[:, FREIHAND_FROM_MANO]
    offset = np.array([0.0, 0.0, 0.4]) - joints[:, :1]
    mano = np.concatenate([orient, hand_pose, betas, np.zeros((count, 2)), np.ones((count, 1))], 1)
    return joints + offset, out.vertices.numpy() + offset, mano


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("hand_mesh")
    mano = write_fake_mano_npz(root / "mano" / "MANO_RIGHT.npz")
    for split, count, images, seed in (("training", 6, 4 * 6, 0), ("evaluation", 4, 4, 1)):
        xyz, verts, fits = freihand_fits(mano, count, seed)
        make_freihand(root / "freihand", split, count, images, xyz, verts, fits)
    return root


def hand_config(out_dir, data, **finetune) -> TrainConfig:
    """``config_for``'s tiny run, fine-tuning hand-mesh on the FreiHAND fixture unless told otherwise."""
    spec = {"task": "hand-mesh", "benchmark": "freihand", "root": data / "freihand", **finetune}
    options = {"options": {"split": "training"}, "model_path": str(data / "mano")}
    rest = {key: value for key, value in spec.items() if key not in ("task", "benchmark", "root")}
    return config_for(out_dir, spec["task"], spec["benchmark"], spec["root"], **{**options, **rest})


def test_mano_joints_are_taken_in_freihand_order():
    assert FREIHAND_JOINT_NAMES[:5] == (
        "right_wrist",
        "right_thumb1",
        "right_thumb2",
        "right_thumb3",
        "right_thumb_tip",
    )
    assert FREIHAND_JOINT_NAMES[-4:] == ("right_pinky1", "right_pinky2", "right_pinky3", "right_pinky_tip")
    assert MANO_TO_FREIHAND == FREIHAND_FROM_MANO
    assert [MANO_JOINT_NAMES[i] for i in MANO_TO_FREIHAND] == list(FREIHAND_JOINT_NAMES)


def test_freihand_fits_pose_to_their_own_joints_and_mesh(data):
    """The head, given FreiHAND's parameters (offsets from MANO's mean hand), poses FreiHAND's targets."""
    dataset = FinetuneDataset(open_benchmark("freihand", data / "freihand", split="training"), 64, train=False)
    batch = torch.utils.data.default_collate([dataset[i] for i in range(4)])
    assert batch["vertices"].shape == (4, 778, 3) and batch["hand_pose"].shape == (4, 15, 3)
    head = HandMeshHead(8, str(data / "mano"))
    params = {
        "global_orient": matrix_to_rot6d(axis_angle_to_matrix(batch["global_orient"])),
        "hand_pose": matrix_to_rot6d(axis_angle_to_matrix(batch["hand_pose"])).flatten(1),
        "betas": batch["betas"],
    }
    posed = head.pose(params)
    torch.testing.assert_close(posed["joints"], batch["joints"], atol=1e-5, rtol=0)
    torch.testing.assert_close(posed["vertices"], batch["vertices"], atol=1e-5, rtol=0)
    assert task_spec("hand-mesh").loss((posed, [posed]), batch, CPU) < 1e-5
    head.hands_mean.zero_()  # posed as a flat hand mean, the same numbers are another hand
    assert (head.pose(params)["joints"] - batch["joints"]).abs().max() > 5e-3


def test_freihand_joint_regressor_rows_are_the_heads_joints(data):
    """At MANO's rest pose the regressor applied to the mesh gives the head's joints, in FreiHAND order."""
    head = HandMeshHead(8, str(data / "mano"))
    head.hands_mean.zero_()
    identity = matrix_to_rot6d(torch.eye(3))
    rest = head.pose(
        {"global_orient": identity[None], "hand_pose": identity.repeat(1, 15), "betas": torch.zeros(1, 10)}
    )
    layer, _ = load_mano(str(data / "mano"))
    joints = freihand_joint_regressor(layer) @ layer.v_template
    torch.testing.assert_close(rest["joints"][0], joints - joints[:1], atol=1e-5, rtol=0)
    free = model_free_hand_head(8, str(data / "mano"), num_coarse=64)
    out = free(torch.randn(2, 5, 8))
    assert out["vertices"].shape == (2, 778, 3) and out["joints"].shape == (2, 21, 3)
    assert not {name for name, _ in free.named_buffers()} & set(free.state_dict())  # fixed maps stay out


@pytest.mark.parametrize("task", ["hand-mesh", "hand-mesh-free"])
def test_loss_decreases_on_freihand_layout(data, tmp_path, task):
    torch.manual_seed(0)
    fine = FinetuneTask(hand_config(tmp_path, data, task=task))
    model = fine.build_model()
    batch = torch.utils.data.default_collate([fine.dataset()[i] for i in range(4)])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss = task_spec(task).loss(model(batch["img"]), batch, CPU)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.fixture(scope="module", params=["hand-mesh", "hand-mesh-free"])
def freihand_run(request, data, tmp_path_factory):
    """A run fine-tuned on the fake FreiHAND training split and scored on its evaluation split, once
    per task; what the report's two plots were drawn from is recorded on the way."""
    run = tmp_path_factory.mktemp(request.param) / "run"
    finetune(hand_config(run, data, task=request.param))
    plotted = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("plot_curves", "plot_per_joint_errors"):

            def spy(*args, _name=name, _plot=getattr(scoring, name), **kwargs):  # noqa: B008 - binds this iteration's original
                plotted[_name] = args
                return _plot(*args, **kwargs)

            patch.setattr(scoring, name, spy)
        result = CliRunner().invoke(
            eval_cli,
            [
                "freihand",
                "--checkpoint",
                str(run / "checkpoint-last.pt"),
                "--data-root",
                str(data / "freihand"),
                "--workers",
                "0",
            ],
        )
    assert result.exit_code == 0, result.output
    return request.param, run, plotted


def align_like_freihand(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """FreiHAND eval.py's ``align_w_scale``: centre, unit Frobenius norm, orthogonal_procrustes (reflections
    allowed), then the ground truth's norm and centre."""
    pred_c, gt_c = pred - pred.mean(0), gt - gt.mean(0)
    pred_s, gt_s = np.linalg.norm(pred_c) + 1e-8, np.linalg.norm(gt_c) + 1e-8
    rotation, scale = orthogonal_procrustes(gt_c / gt_s, pred_c / pred_s)
    return (pred_c / pred_s) @ rotation.T * scale * gt_s + gt.mean(0)


def freihand_by_hand(joints: np.ndarray, vertices: np.ndarray, gt_joints: np.ndarray, gt_vertices: np.ndarray):
    """FreiHAND's scores computed here from its definitions: (scores, PCK curve, per-joint error mm)."""
    joint_errors = np.stack([np.linalg.norm(align_like_freihand(p, g) - g, axis=-1) for p, g in zip(joints, gt_joints)])
    aligned = np.stack([align_like_freihand(p, g) for p, g in zip(vertices, gt_vertices)])
    thresholds = np.linspace(0.0, 0.05, 100)
    pck = np.array([(joint_errors <= t).mean() for t in thresholds])
    scores = {
        "PA-MPJPE": 1000 * joint_errors.mean(),
        "PA-MPVPE": 1000 * np.linalg.norm(aligned - gt_vertices, axis=-1).mean(),
        "AUC": np.sum((pck[1:] + pck[:-1]) / 2 * np.diff(thresholds)) / 0.05,
    }
    for millimetres in (5, 15):
        fscores = []
        for p, g in zip(aligned, gt_vertices):
            distances = np.linalg.norm(p[:, None] - g[None], axis=-1)  # (P, G)
            precision = (distances.min(1) < millimetres / 1000).mean()
            recall = (distances.min(0) < millimetres / 1000).mean()
            fscores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        scores[f"F@{millimetres}mm"] = np.mean(fscores)
    return scores, pck, 1000 * joint_errors.mean(0)


def freihand_truth(data) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation split's joints and vertices (metres), wrist-relative, read from its JSON files."""
    xyz = np.array(json.loads((data / "freihand" / "evaluation_xyz.json").read_text()))
    verts = np.array(json.loads((data / "freihand" / "evaluation_verts.json").read_text()))
    return xyz - xyz[:, :1], verts - xyz[:, :1]


def test_checkpoint_holds_no_mano_arrays(freihand_run):
    _, run, _ = freihand_run
    state = torch.load(run / "checkpoint-last.pt", weights_only=True)
    mano = ("v_template", "shapedirs", "upsample", "joint_regressor")  # MANO and maps made from it are not ours to ship
    assert not [key for key in state["model"] if key.split(".")[-1] in mano]


def test_stored_baseline_is_a_wrist_relative_mean_hand(freihand_run):
    """Joints and mesh averaged over the same (augmented) training samples: FreiHAND's five tip joints
    are MANO vertices, so the mean tips are the mean mesh's tip vertices, and the wrist is the origin."""
    _, run, _ = freihand_run
    baseline = torch.load(run / "checkpoint-last.pt", weights_only=True)["baseline"]
    joints, vertices = np.array(baseline["mean_joints"]), np.array(baseline["mean_vertices"])
    assert (joints.shape, vertices.shape) == ((21, 3), (778, 3))
    np.testing.assert_array_equal(joints[0], 0.0)
    np.testing.assert_allclose(joints[[4, 8, 12, 16, 20]], vertices[TIP_VERTICES], atol=1e-6)


def test_freihand_report_rows_are_the_predictions_scored_by_hand(freihand_run, data):
    task, run, _ = freihand_run
    report = json.loads((run / "eval-freihand" / "results.json").read_text())
    assert (report["samples"], report["task"]) == (4, task)
    gt_joints, gt_vertices = freihand_truth(data)
    with np.load(run / "eval-freihand" / "predictions.npz") as stored:
        rows = {
            "model": (stored["joints"], stored["vertices"]),
            "mean-hand baseline": (
                np.broadcast_to(stored["baseline_mean_joints"], gt_joints.shape),
                np.broadcast_to(stored["baseline_mean_vertices"], gt_vertices.shape),
            ),
        }
    assert set(report["results"]) == set(rows)
    for row, (joints, vertices) in rows.items():
        expected, _, _ = freihand_by_hand(joints, vertices, gt_joints, gt_vertices)
        assert report["results"][row] == pytest.approx(expected, rel=1e-6, abs=1e-9), row


def test_freihand_report_files_show_those_numbers(freihand_run, data):
    _, run, plotted = freihand_run
    out = run / "eval-freihand"
    report = json.loads((out / "results.json").read_text())
    assert report["files"] == ["pck.png", "per_joint_error.png", "predictions.npz", "results.md"]
    table = (out / "results.md").read_text()
    assert "PA-MPVPE [mm]" in table
    pa_mpjpe = report["results"]["model"]["PA-MPJPE"]
    assert f"| model | {pa_mpjpe:.3f} |" in table if abs(pa_mpjpe) < 10 else f"| model | {pa_mpjpe:.1f} |" in table
    for name in ("pck.png", "per_joint_error.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and min(image.size) > 100, name
    gt_joints, gt_vertices = freihand_truth(data)
    with np.load(out / "predictions.npz") as stored:
        _, pck, per_joint = freihand_by_hand(stored["joints"], stored["vertices"], gt_joints, gt_vertices)
    path, thresholds, curves, *_ = plotted["plot_curves"]
    assert path == out / "pck.png"
    np.testing.assert_allclose(thresholds, np.linspace(0, 50, 100))
    np.testing.assert_allclose(curves["model"], pck, atol=1e-9)
    path, names, errors = plotted["plot_per_joint_errors"]
    assert path == out / "per_joint_error.png" and list(names) == list(FREIHAND_JOINT_NAMES)
    np.testing.assert_allclose(errors["model"], per_joint, rtol=1e-6)


def test_a_hand_checkpoint_is_refused_elsewhere(freihand_run, tmp_path):
    _, run, _ = freihand_run
    elsewhere = CliRunner().invoke(
        eval_cli,
        ["hagrid", "--checkpoint", str(run / "checkpoint-last.pt"), "--data-root", str(tmp_path), "--workers", "0"],
    )
    assert elsewhere.exit_code == 2
    assert "croco-eval freihand" in elsewhere.output


def test_a_moved_mano_folder_is_named(freihand_run, data, tmp_path):
    _, run, _ = freihand_run
    moved = CliRunner().invoke(
        eval_cli,
        [
            "freihand",
            "--checkpoint",
            str(run / "checkpoint-last.pt"),
            "--data-root",
            str(data / "freihand"),
            "--workers",
            "0",
            "--model-path",
            str(tmp_path / "no"),
            "--out",
            str(tmp_path / "eval"),
        ],
    )
    assert moved.exit_code == 2
    assert str(tmp_path / "no") in moved.output and "MANO" in moved.output


def test_croco_eval_freihand_refuses_a_checkpoint_of_another_task(data, tmp_path):
    make_hagrid_v1(tmp_path / "hagrid")
    run = tmp_path / "run"
    config = hand_config(
        run, data, task="gesture", benchmark="hagrid", root=str(tmp_path / "hagrid"), options={}, num_classes=18
    )
    config.optim.max_steps = 1
    finetune(config)
    result = CliRunner().invoke(
        eval_cli,
        [
            "freihand",
            "--checkpoint",
            str(run / "checkpoint-last.pt"),
            "--data-root",
            str(data / "freihand"),
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 2 and "'gesture'" in result.output and "--task hand-mesh" in result.output


def test_hand_mesh_without_a_mano_file_says_what_to_get(data, tmp_path):
    with pytest.raises(ValueError, match=r"MANO_RIGHT\.pkl") as error:
        FinetuneTask(hand_config(tmp_path, data, model_path="")).build_model()
    assert "mano.is.tue.mpg.de" in str(error.value) and "--model-path" in str(error.value)
    with pytest.raises(FileNotFoundError, match=r"mano_right\.npz") as error:
        FinetuneTask(hand_config(tmp_path, data, model_path=str(tmp_path))).build_model()
    assert "mano.is.tue.mpg.de" in str(error.value)
    command = [
        "finetune",
        "--task",
        "hand-mesh",
        "--data",
        f"freihand:{data / 'freihand'}",
        "--out",
        str(tmp_path / "run"),
    ]
    result = CliRunner().invoke(train_cli, command)
    assert result.exit_code == 2 and "MANO_RIGHT.pkl" in result.output


def test_hand_mesh_preset():
    config = load_config("finetune-hand-mesh", ["finetune.model_path=/mano"])
    spec = config.finetune
    assert (spec.task, spec.benchmark, spec.options, spec.model_path) == (
        "hand-mesh",
        "freihand",
        {"split": "training"},
        "/mano",
    )
    assert config.image_size == 224 and config.model.startswith("croco-v2-base")
