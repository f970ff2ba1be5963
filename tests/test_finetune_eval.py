"""Fine-tuning heads on rendered and benchmark-format data, then croco-eval end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.spatial.transform import Rotation

from crocohuman.datasets import open_benchmark
from crocohuman.eval import scoring
from crocohuman.eval.cli import main as eval_cli
from crocohuman.model.finetune import FinetuneTask, finetune, run_model
from crocohuman.model.finetune_data import FinetuneDataset, top_box
from crocohuman.model.rotation6d import matrix_to_rot6d
from crocohuman.model.task_catalog import task_spec
from crocohuman.model.tasks.body_joints import HMR_SPEC, hmr_outputs

from fake_benchmarks import (
    config_for,
    make_3dpw,
    make_hagrid_balanced,
    make_hagrid_v1,
    render_takes,
    write_full_size_fake_smpl,
)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    return render_takes(tmp_path_factory.mktemp("finetune"))


def split_truth(name: str, root) -> tuple[list[str], np.ndarray]:
    """A split's sample ids and root-relative camera-frame joints (metres, float64), in its order."""
    split = open_benchmark(name, root)
    joints = np.stack([split[i].joints3d for i in range(len(split))]).astype(np.float64)
    return [split[i].key for i in range(len(split))], joints - joints[:, :1]


def stored(path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return dict(data)


def mean_error_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    return 1000 * float(np.linalg.norm(np.asarray(pred, np.float64) - gt, axis=-1).mean())


def pa_error_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean joint error after each sample's best similarity with a proper rotation (Umeyama 1991)."""
    errors = []
    for p, g in zip(np.asarray(pred, np.float64), gt):
        p0, g0 = p - p.mean(0), g - g.mean(0)
        u, s, vt = np.linalg.svd(g0.T @ p0)
        d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
        scale = np.trace(np.diag(s) @ d) / (p0**2).sum()
        errors.append(np.linalg.norm(scale * p0 @ (u @ d @ vt).T + g.mean(0) - g, axis=-1).mean())
    return 1000 * float(np.mean(errors))


@pytest.mark.parametrize(
    "task,mode,top_crop",
    [
        ("hmr", "monocular", 0),
        ("hmr-free", "monocular", 0),
        ("densepose", "monocular", 0),
        ("hmr-free", "binocular", 0),
        ("hmr-free", "monocular", 0.35),
    ],
)
def test_loss_decreases_on_rendered_data(takes, tmp_path, task, mode, top_crop):
    torch.manual_seed(0)
    fine = FinetuneTask(config_for(tmp_path, task, "synthetic", takes / "train", mode=mode, top_crop=top_crop))
    model = fine.build_model()
    batch = torch.utils.data.default_collate([fine.dataset()[i] for i in range(4)])
    assert ("img_top" in batch) == bool(top_crop)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4 if task == "densepose" else 1e-3)
    losses = []
    for _ in range(20):
        loss = task_spec(task).loss(run_model(model, fine.spec, batch, CPU), batch, CPU)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_gesture_classifier_learns_on_hagrid_layout(tmp_path):
    make_hagrid_v1(tmp_path / "hagrid")
    fine = FinetuneTask(config_for(tmp_path, "gesture", "hagrid", tmp_path / "hagrid", num_classes=18))
    model = fine.build_model()
    batch = torch.utils.data.default_collate([fine.dataset()[i] for i in range(6)])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = None
    for _ in range(15):
        loss = task_spec("gesture").loss(model(batch["img"]), batch, torch.device("cpu"))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first


def test_hmr_regresses_anny_phenotypes_and_a_weak_perspective_camera(takes, tmp_path):
    fine = FinetuneTask(config_for(tmp_path, "hmr", "synthetic", takes / "train"))
    batch = torch.utils.data.default_collate([fine.dataset()[i] for i in range(2)])
    assert batch["phenotypes"].shape == (2, 6) and ((0 <= batch["phenotypes"]) & (batch["phenotypes"] <= 1)).all()
    assert batch["joints2d"].shape == (2, 24, 3) and batch["joints2d"][..., :2].abs().max() < 1  # inside the crop
    with torch.no_grad():
        output = run_model(fine.build_model().eval(), fine.spec, batch, CPU)
        final = hmr_outputs(output[0])
        assert output[0]["phenotypes"].shape == (2, 6) and final["joints2d"].shape == (2, 24, 2)
        for name, change in (("phenotypes", 0.5), ("joints2d", torch.tensor([0.3, 0.0, 0.0]))):
            shifted = dict(batch, **{name: batch[name] + change})
            assert task_spec("hmr").loss(output, shifted, CPU) > task_spec("hmr").loss(output, batch, CPU), name
    params = {name: torch.zeros(1, size) for name, size in HMR_SPEC.items()}
    params.update(
        global_orient=matrix_to_rot6d(torch.eye(3))[None],
        body_pose=matrix_to_rot6d(torch.eye(3)).repeat(1, 21),
        cam=torch.tensor([[2.0, 0.1, -0.2]]),
    )
    posed = hmr_outputs(params)
    torch.testing.assert_close(posed["joints2d"], 2 * posed["joints"][..., :2] + torch.tensor([0.1, -0.2]))


def test_joints2d_are_crop_coordinates(takes):
    from crocohuman.datasets import open_benchmark

    benchmark = open_benchmark("synthetic", takes / "test")
    sample, item = benchmark[0], FinetuneDataset(benchmark, 64, train=False)[0]
    x0, y0, x1, _y1 = item["crop"].tolist()
    pixels = (item["joints2d"][:, :2] + 1) / 2 * (x1 - x0) + torch.tensor([x0, y0])
    torch.testing.assert_close(pixels, torch.from_numpy(sample.joints2d[:, :2]), atol=1e-3, rtol=0)


def test_top_crop_is_the_top_of_the_box_and_feeds_the_head(takes, tmp_path):
    assert top_box((10, 20, 30, 120), 0.3) == (5.0, 20, 35.0, 50.0)  # side 0.3 x 100 px, centred, at the top
    assert top_box((10, 20, 30, 120), 0.3, shift=0.1) == (8.0, 20, 38.0, 50.0)
    fine = FinetuneTask(config_for(tmp_path, "hmr-free", "synthetic", takes / "train", top_crop=0.35))
    model = fine.build_model().eval()
    batch = torch.utils.data.default_collate([fine.dataset()[i] for i in range(2)])
    assert batch["img_top"].shape == batch["img"].shape
    with torch.no_grad():
        seen = run_model(model, fine.spec, batch, CPU)
        other = run_model(model, fine.spec, dict(batch, img_top=batch["img_top"].flip(0)), CPU)
    assert not torch.allclose(seen, other)
    with pytest.raises(ValueError, match="top_crop"):
        config_for(tmp_path, "densepose", "synthetic", takes / "train", top_crop=0.35)


@pytest.mark.parametrize("top_crop", [0, 0.35])
def test_finetune_then_croco_eval_writes_the_report(takes, tmp_path, monkeypatch, top_crop):
    """hmr-free: the report's rows and per-joint bars recomputed from the predictions file."""
    run, out = tmp_path / "run", tmp_path / "run" / "eval-synthetic"
    finetune(config_for(run, "hmr-free", "synthetic", takes / "train", top_crop=top_crop))
    plotted, plot = {}, scoring.plot_per_joint_errors

    def spy(*args):
        plotted["bars"] = args
        return plot(*args)

    monkeypatch.setattr(scoring, "plot_per_joint_errors", spy)
    result = CliRunner().invoke(
        eval_cli,
        [
            "synthetic",
            "--checkpoint",
            str(run / "checkpoint-last.pt"),
            "--data-root",
            str(takes / "test"),
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "results.json").read_text())
    assert report["samples"] == 2 * 2 * 2
    assert "| model |" in (out / "results.md").read_text()
    predictions = stored(out / "predictions.npz")
    keys, gt = split_truth("synthetic", takes / "test")
    assert predictions["keys"].tolist() == keys
    mean = np.broadcast_to(predictions["baseline_mean_joints"], gt.shape)
    rows = report["results"]
    assert set(rows) == {"model", "mean-pose baseline"}
    assert rows["model"]["MPJPE"] == pytest.approx(mean_error_mm(predictions["joints"], gt), rel=1e-5)
    assert rows["model"]["PA-MPJPE"] == pytest.approx(pa_error_mm(predictions["joints"], gt), rel=1e-5)
    assert rows["mean-pose baseline"]["MPJPE"] == pytest.approx(mean_error_mm(mean, gt), rel=1e-5)
    path, names, bars = plotted["bars"]
    assert path == out / "per_joint_error.png" and len(names) == 24
    np.testing.assert_allclose(
        bars["model"], 1000 * np.linalg.norm(predictions["joints"] - gt, axis=-1).mean(0), rtol=1e-5
    )
    np.testing.assert_allclose(bars["mean-pose baseline"], 1000 * np.linalg.norm(mean - gt, axis=-1).mean(0), rtol=1e-5)
    assert report["files"] == ["per_joint_error.png", "predictions.npz", "results.md"]


def test_densepose_report_of_a_perfect_and_of_the_model_prediction(takes, tmp_path):
    """The model's part accuracy recomputed from its predictions file; the ground truth itself, as a
    predictions file, scores 100 % and AUC 1 (every sampled point at geodesic distance 0)."""
    run, out = tmp_path / "run", tmp_path / "run" / "eval-synthetic"
    finetune(config_for(run, "densepose", "synthetic", takes / "train"))
    common = ["--data-root", str(takes / "test"), "--workers", "0"]
    result = CliRunner().invoke(eval_cli, ["synthetic", "--checkpoint", str(run / "checkpoint-last.pt"), *common])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "results.json").read_text())
    assert report["files"] == ["predictions.npz", "rcp.png", "results.md"]
    predictions = stored(out / "predictions.npz")
    crops = FinetuneDataset(open_benchmark("synthetic", takes / "test"), int(predictions["image_size"]), train=False)
    parts = np.stack([crops[i]["parts"].numpy() for i in range(len(crops))])
    uv = np.stack([crops[i]["uv"].numpy() for i in range(len(crops))])
    labelled = parts >= 0
    model = report["results"]["model"]
    assert model["part accuracy %"] == pytest.approx(100 * (predictions["parts"] == parts)[labelled].mean())

    perfect = dict(
        predictions, parts=np.where(labelled, parts, 0).astype(np.uint8), uv=np.round(255 * uv).astype(np.uint8)
    )
    np.savez(tmp_path / "perfect.npz", **perfect)
    result = CliRunner().invoke(eval_cli, ["synthetic", "--predictions", str(tmp_path / "perfect.npz"), *common])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "perfect-synthetic" / "results.json").read_text())["results"]["model"]
    assert row["part accuracy %"] == 100.0
    assert row["AUC10"] == pytest.approx(1.0, abs=1e-3)
    assert row["AUC30"] == pytest.approx(1.0, abs=1e-3)


def test_eval_dataset_order_is_the_benchmark_order(takes):
    from crocohuman.datasets import open_benchmark

    benchmark = open_benchmark("synthetic", takes / "test")
    dataset = FinetuneDataset(benchmark, 64, train=False)
    assert len(dataset) == len(benchmark) and [dataset[i]["index"] for i in range(3)] == [0, 1, 2]


def test_croco_eval_errors_name_the_culprit(takes, tmp_path):
    run = tmp_path / "run"
    finetune(config_for(run, "hmr-free", "synthetic", takes / "train"))
    missing = CliRunner().invoke(
        eval_cli, ["3dpw", "--checkpoint", str(run / "checkpoint-last.pt"), "--data-root", str(tmp_path / "no3dpw")]
    )
    assert missing.exit_code == 2 and str(tmp_path / "no3dpw") in missing.output and "sequenceFiles" in missing.output
    pretrain_like = tmp_path / "pretrain.pt"
    torch.save({"model": {}, "train_config": {"finetune": None}, "step": 1}, pretrain_like)
    wrong = CliRunner().invoke(
        eval_cli, ["synthetic", "--checkpoint", str(pretrain_like), "--data-root", str(takes / "test")]
    )
    assert wrong.exit_code == 2 and "not a fine-tuning checkpoint" in wrong.output


def test_few_shot_fine_tuning_takes_k_per_class_and_scores(tmp_path):
    make_hagrid_balanced(tmp_path / "hagrid", per_class=3)
    run = tmp_path / "run"
    config = config_for(run, "gesture", "hagrid", tmp_path / "hagrid", num_classes=18, shots=2, shot_seed=1)
    task = FinetuneTask(config)
    assert len(task.benchmark) == 18 * 2
    labels = [task.benchmark[i].label for i in range(len(task.benchmark))]
    assert sorted(labels) == sorted(list(range(18)) * 2)
    finetune(config)
    result = CliRunner().invoke(
        eval_cli,
        [
            "hagrid",
            "--checkpoint",
            str(run / "checkpoint-last.pt"),
            "--data-root",
            str(tmp_path / "hagrid"),
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((run / "eval-hagrid" / "results.json").read_text())
    assert report["samples"] == 18 * 3
    split = open_benchmark("hagrid", tmp_path / "hagrid")
    predictions = stored(run / "eval-hagrid" / "predictions.npz")
    assert predictions["keys"].tolist() == [split[i].key for i in range(len(split))]
    labels = np.array([split[i].label for i in range(len(split))])
    rows = report["results"]
    assert rows["model"]["accuracy %"] == pytest.approx(100 * (predictions["logits"].argmax(-1) == labels).mean())
    assert rows["majority-class baseline"]["accuracy %"] == pytest.approx(100 / 18)  # 3 of the 54 are any one class


def test_croco_eval_3dpw_on_the_native_layout(takes, tmp_path):
    """A model fine-tuned on rendered takes, scored on a 3DPW-format folder (both actors, valid frames)."""
    run = tmp_path / "run"
    finetune(config_for(run, "hmr", "synthetic", takes / "train"))
    make_3dpw(tmp_path / "3dpw")
    result = CliRunner().invoke(
        eval_cli,
        [
            "3dpw",
            "--checkpoint",
            str(run / "checkpoint-last.pt"),
            "--data-root",
            str(tmp_path / "3dpw"),
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((run / "eval-3dpw" / "results.json").read_text())
    assert report["samples"] == 4  # 2 + 2 frames with campose_valid
    keys, gt = split_truth("3dpw", tmp_path / "3dpw")
    predictions = stored(run / "eval-3dpw" / "predictions.npz")
    assert predictions["keys"].tolist() == keys
    assert report["results"]["model"]["MPJPE"] == pytest.approx(mean_error_mm(predictions["joints"], gt), rel=1e-5)


def write_smpl_protocol_inputs(root) -> None:
    """3DPW in its native layout, full-size fake SMPL model files and an H36M regressor, under ``root``."""
    make_3dpw(root / "3dpw")
    write_full_size_fake_smpl(root / "models" / "smpl")
    regressor = np.random.default_rng(0).random((17, 6890))
    regressor[:, 1024:] = 0.0  # only the fake humanoid's own vertices
    np.save(root / "J_regressor_h36m.npy", regressor / regressor.sum(1, keepdims=True))


def eval_3dpw_smpl(root, *source: str):
    """``croco-eval 3dpw`` on the inputs under ``root`` with the SMPL protocol's model files and regressor;
    ``source``: ``--checkpoint`` or ``--predictions`` and its path."""
    return CliRunner().invoke(
        eval_cli,
        [
            "3dpw",
            *source,
            "--data-root",
            str(root / "3dpw"),
            "--workers",
            "0",
            "--smpl-model",
            str(root / "models"),
            "--h36m-regressor",
            str(root / "J_regressor_h36m.npy"),
        ],
    )


def write_perfect_predictions(root, predictions) -> None:
    """``root/perfect.npz``: ``predictions`` with the 3DPW ground truth's own SMPL parameters in place of the
    model's (rotations as float32 matrices, as the hmr head writes them)."""
    split = FinetuneDataset(open_benchmark("3dpw", root / "3dpw"), 64, train=False)
    truth = [split[i] for i in range(len(split))]
    as_matrix = lambda rotvecs: Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_matrix()  # noqa: E731
    perfect = dict(
        stored(predictions),
        global_orient=np.stack([as_matrix(s["global_orient"].numpy()) for s in truth])[:, 0],
        body_pose=np.stack([as_matrix(s["body_pose"].numpy()) for s in truth]),
        betas=np.stack([s["betas"].numpy() for s in truth]),
    )
    np.savez(
        root / "perfect.npz",
        **{
            key: value.astype(np.float32) if key in ("global_orient", "body_pose") else value
            for key, value in perfect.items()
        },
    )


def test_croco_eval_3dpw_smpl_protocol(takes, tmp_path):
    """The SPIN/HMR 2.0 3DPW protocol: SMPL meshes from the hmr head's parameters and the 3DPW
    ground truth (per-actor gender) through the H36M regressor, 14 joints, mm."""
    run = tmp_path / "run"
    finetune(config_for(run, "hmr", "synthetic", takes / "train"))
    write_smpl_protocol_inputs(tmp_path)
    result = eval_3dpw_smpl(tmp_path, "--checkpoint", str(run / "checkpoint-last.pt"))
    assert result.exit_code == 0, result.output
    model = json.loads((run / "eval-3dpw" / "results.json").read_text())["results"]["model"]
    assert {"MPJPE (H36M-14)", "PA-MPJPE (H36M-14)", "MPVPE"} <= set(model)

    # The ground truth's own SMPL parameters as predictions: every mesh lands on its target (the fake
    # model files of all genders are the same), so all three errors are 0.
    write_perfect_predictions(tmp_path, run / "eval-3dpw" / "predictions.npz")
    result = eval_3dpw_smpl(tmp_path, "--predictions", str(tmp_path / "perfect.npz"))
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "perfect-3dpw" / "results.json").read_text())["results"]["model"]
    for name in ("MPJPE (H36M-14)", "PA-MPJPE (H36M-14)", "MPVPE"):
        assert row[name] == pytest.approx(0.0, abs=1e-3), name


def test_resuming_with_another_model_names_the_changed_settings(takes, tmp_path):
    run = tmp_path / "run"
    finetune(config_for(run, "hmr-free", "synthetic", takes / "train"))
    written = (run / "config.json").read_text()
    with pytest.raises(ValueError, match=r"checkpoint-last\.pt: cannot resume.*finetune\.top_crop") as error:
        finetune(config_for(run, "hmr-free", "synthetic", takes / "train", top_crop=0.35))
    assert "optim" not in str(error.value).split("(")[1].split(")")[0]  # only what differs is named
    assert (run / "config.json").read_text() == written  # the run folder is left as it was
