"""predictions.npz: written next to results.json, scored again through ``croco-eval --predictions``
with the same numbers, checked against the benchmark's sample ids; a finished eval is not redone."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.linalg import orthogonal_procrustes
from test_hand_mesh import freihand_fits, hand_config

from crocohuman.datasets import open_benchmark
from crocohuman.eval.cli import main as eval_cli
from crocohuman.model.finetune import finetune

from fake_benchmarks import (
    config_for,
    make_3dpw,
    make_densepose,
    make_densepose_assets,
    make_freihand,
    render_takes,
    write_full_size_fake_smpl,
)
from fake_smpl import write_fake_mano_npz


def croco_eval(*args):
    return CliRunner().invoke(eval_cli, [str(arg) for arg in args])


def report_of(folder) -> dict:
    return json.loads((folder / "results.json").read_text())


def npz(path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return dict(data)


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    return render_takes(tmp_path_factory.mktemp("takes"))


@pytest.fixture(scope="module")
def hmr_checkpoint(takes, tmp_path_factory):
    run = tmp_path_factory.mktemp("hmr")
    finetune(config_for(run, "hmr", "synthetic", takes / "train"))
    return run / "checkpoint-last.pt"


@pytest.fixture(scope="module")
def synthetic_eval(hmr_checkpoint, takes, tmp_path_factory):
    """The hmr checkpoint scored on the held-out takes (8 images): its report folder."""
    out = tmp_path_factory.mktemp("synthetic-eval")
    result = croco_eval(
        "synthetic", "--checkpoint", hmr_checkpoint, "--data-root", takes / "test", "--workers", 0, "--out", out
    )
    assert result.exit_code == 0, result.output
    return out


def test_body_joint_predictions_reproduce_the_report(hmr_checkpoint, tmp_path):
    """3DPW layout with the SPIN protocol: the written file holds the 3DPW sample ids, joints and
    SMPL parameters; scoring it gives the same results; MPJPE checked from the file directly."""
    make_3dpw(tmp_path / "3dpw")
    write_full_size_fake_smpl(tmp_path / "models" / "smpl")
    regressor = np.random.default_rng(0).random((17, 6890))
    regressor[:, 1024:] = 0.0
    np.save(tmp_path / "J.npy", regressor / regressor.sum(1, keepdims=True))
    common = [
        "--data-root",
        tmp_path / "3dpw",
        "--workers",
        0,
        "--smpl-model",
        tmp_path / "models",
        "--h36m-regressor",
        tmp_path / "J.npy",
    ]
    result = croco_eval("3dpw", "--checkpoint", hmr_checkpoint, "--out", tmp_path / "ran", *common)
    assert result.exit_code == 0, result.output
    report, data = report_of(tmp_path / "ran"), npz(tmp_path / "ran" / "predictions.npz")
    assert str(data["task"]) == "hmr" and str(data["benchmark"]) == "3dpw"
    valid = ((0, 0), (0, 1), (1, 1), (1, 2))  # (actor, frame) with campose_valid, actor by actor
    assert data["keys"].tolist() == [f"3dpw:downtown_test_00/actor{a}/frame{t:05d}" for a, t in valid]
    assert data["joints"].shape == (4, 24, 3) and data["joints"].dtype == np.float32
    assert data["global_orient"].shape == (4, 3, 3) and data["body_pose"].shape == (4, 21, 3, 3)
    assert data["crop"].shape == (4, 4) and int(data["image_size"]) == 64
    assert data["baseline_mean_joints"].shape == (24, 3)
    benchmark = open_benchmark("3dpw", tmp_path / "3dpw")
    truth = np.stack([benchmark[i].joints3d for i in range(4)])
    truth = truth - truth[:, :1]
    expected = 1000 * np.linalg.norm(data["joints"].astype(np.float64) - truth, axis=-1).mean()
    assert report["results"]["model"]["MPJPE"] == pytest.approx(expected, rel=1e-6)
    assert "MPVPE" in report["results"]["model"] and report["files"] == [
        "per_joint_error.png",
        "predictions.npz",
        "results.md",
    ]

    scored = croco_eval(
        "3dpw", "--predictions", tmp_path / "ran" / "predictions.npz", "--out", tmp_path / "scored", *common
    )
    assert scored.exit_code == 0, scored.output
    again = report_of(tmp_path / "scored")
    assert again["results"] == report["results"] and again["samples"] == 4 and again["task"] == "hmr"
    assert again["checkpoint"] is None and not (tmp_path / "scored" / "predictions.npz").exists()


def test_hand_mesh_predictions_reproduce_the_report(tmp_path):
    """FreiHAND: joints and meshes in the file; PA-MPJPE recomputed as FreiHAND's eval.py does
    (scipy's orthogonal_procrustes on Frobenius-normalised points)."""
    mano = write_fake_mano_npz(tmp_path / "mano" / "MANO_RIGHT.npz")
    for split, count, images, seed in (("training", 6, 4 * 6, 0), ("evaluation", 4, 4, 1)):
        make_freihand(tmp_path / "freihand", split, count, images, *freihand_fits(mano, count, seed))
    finetune(hand_config(tmp_path / "run", tmp_path, task="hand-mesh"))
    common = ["--data-root", tmp_path / "freihand", "--workers", 0]
    result = croco_eval("freihand", "--checkpoint", tmp_path / "run" / "checkpoint-last.pt", *common)
    assert result.exit_code == 0, result.output
    out = tmp_path / "run" / "eval-freihand"
    report, data = report_of(out), npz(out / "predictions.npz")
    assert data["joints"].shape == (4, 21, 3) and data["vertices"].shape == (4, 778, 3)
    assert data["keys"].tolist() == [f"freihand:evaluation/{i:08d}" for i in range(4)]
    gt = np.stack([open_benchmark("freihand", tmp_path / "freihand")[i].joints3d for i in range(4)])
    errors = []
    for pred, true in zip(data["joints"].astype(np.float64), gt - gt[:, :1]):
        t1, t2 = true.mean(0), pred.mean(0)
        s1, s2 = np.linalg.norm(true - t1) + 1e-8, np.linalg.norm(pred - t2) + 1e-8
        rotation, scale = orthogonal_procrustes((true - t1) / s1, (pred - t2) / s2)
        aligned = ((pred - t2) / s2) @ rotation.T * scale * s1 + t1
        errors.append(np.linalg.norm(aligned - true, axis=-1).mean())
    assert report["results"]["model"]["PA-MPJPE"] == pytest.approx(1000 * np.mean(errors), rel=1e-5)

    scored = croco_eval("freihand", "--predictions", out / "predictions.npz", *common)
    assert scored.exit_code == 0, scored.output
    again = report_of(out / "predictions-freihand")
    assert again["results"] == report["results"] and set(again["results"]) == {"model", "mean-hand baseline"}


def test_densepose_predictions_reproduce_the_report(takes, tmp_path):
    """DensePose-COCO layout with its evaluation assets: parts and 8-bit (U, V) on the crop grid;
    part accuracy recomputed from the file at the annotated points."""
    finetune(config_for(tmp_path / "run", "densepose", "synthetic", takes / "train"))
    make_densepose(tmp_path / "coco")
    make_densepose_assets(tmp_path / "assets")
    common = ["--data-root", tmp_path / "coco", "--workers", 0, "--option", f"densepose_assets={tmp_path / 'assets'}"]
    result = croco_eval("densepose", "--checkpoint", tmp_path / "run" / "checkpoint-last.pt", *common)
    assert result.exit_code == 0, result.output
    out = tmp_path / "run" / "eval-densepose"
    report, data = report_of(out), npz(out / "predictions.npz")
    assert data["parts"].shape == (2, 64, 64) and data["parts"].dtype == np.uint8
    assert data["uv"].shape == (2, 2, 64, 64) and data["uv"].dtype == np.uint8
    # box (10, 5, 40, 45) -> square crop of side 1.2 x 40 around (25, 25): (1, 1, 49, 49), 64 / 48 px per pixel
    np.testing.assert_allclose(data["crop"], [[1, 1, 49, 49]] * 2)
    cols, rows = np.floor((np.array([10, 40, 25]) - 1) * 64 / 48), np.floor((np.array([5, 45, 13]) - 1) * 64 / 48)
    hits = data["parts"][:, rows.astype(int), cols.astype(int)] == [1, 2, 24]
    assert report["results"]["model"]["part accuracy %"] == pytest.approx(100 * hits.mean())

    scored = croco_eval("densepose", "--predictions", out / "predictions.npz", "--out", tmp_path / "scored", *common)
    assert scored.exit_code == 0, scored.output
    assert report_of(tmp_path / "scored")["results"] == report["results"]


def files_state(folder) -> dict[str, tuple[bytes, int]]:
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(folder.iterdir())}


def test_rerunning_a_finished_eval_changes_no_byte(hmr_checkpoint, takes, tmp_path):
    command = [
        "synthetic",
        "--checkpoint",
        hmr_checkpoint,
        "--data-root",
        takes / "test",
        "--workers",
        0,
        "--out",
        tmp_path / "eval",
    ]
    assert croco_eval(*command).exit_code == 0
    before = files_state(tmp_path / "eval")
    assert set(before) == {"per_joint_error.png", "predictions.npz", "results.json", "results.md"}
    again = croco_eval(*command)
    assert again.exit_code == 0 and "up to date" in again.output and "| model |" in again.output
    assert files_state(tmp_path / "eval") == before

    limited = croco_eval(*command, "--limit", 3)  # another option: scored again
    assert limited.exit_code == 0 and report_of(tmp_path / "eval")["samples"] == 3
    assert npz(tmp_path / "eval" / "predictions.npz")["keys"].shape == (3,)
    stamp = files_state(tmp_path / "eval")["results.json"][1]
    os.utime(hmr_checkpoint, ns=(stamp, stamp + 10**9))  # the checkpoint changed since: scored again
    assert croco_eval(*command, "--limit", 3).exit_code == 0
    assert files_state(tmp_path / "eval")["results.json"][1] != stamp


def write_npz(path, data: dict) -> None:
    np.savez(path, **data)


def drop_last(data):
    return {k: (v[:-1] if v.ndim and len(v) == len(data["keys"]) else v) for k, v in data.items() if k != "crop"}


MISMATCHES = {
    "a subset": (drop_last, "holds 7 samples, the synthetic split at"),
    "another order": (
        lambda d: {k: (v[::-1] if v.ndim and len(v) == 8 else v) for k, v in d.items()},
        "(the same samples in another order)",
    ),
    "another sample": (
        lambda d: {**d, "keys": np.array(["synthetic:other", *d["keys"][1:].tolist()])},
        "sample 0 is 'synthetic:other'",
    ),
    "a hand task": (
        lambda d: {**d, "task": np.array("hand-mesh"), "vertices": np.zeros((8, 778, 3), np.float32)},
        "score it with croco-eval freihand",
    ),
    "no joints": (lambda d: {k: v for k, v in d.items() if k != "joints"}, "task hmr needs joints; missing joints"),
    "short joints": (lambda d: {**d, "joints": d["joints"][:5]}, "'joints' has shape (5, 24, 3), expected (8, *, 3)"),
    "unknown task": (lambda d: {**d, "task": np.array("pose")}, "unknown task 'pose'"),
}


@pytest.mark.parametrize("case", sorted(MISMATCHES))
def test_predictions_that_do_not_match_the_split_are_refused(synthetic_eval, takes, tmp_path, case):
    change, message = MISMATCHES[case]
    path = tmp_path / "theirs.npz"
    write_npz(path, change(npz(synthetic_eval / "predictions.npz")))
    result = croco_eval("synthetic", "--predictions", path, "--data-root", takes / "test", "--workers", 0)
    assert result.exit_code == 2 and str(path) in result.output and message in result.output, result.output
    assert not (tmp_path / "theirs-synthetic").exists()


def test_a_subset_scores_with_the_matching_limit_and_no_baseline_row(synthetic_eval, takes, tmp_path):
    """A file without baseline entries reports the model row only; --limit 7 scores 7 of 8."""
    data = {
        k: v for k, v in drop_last(npz(synthetic_eval / "predictions.npz")).items() if not k.startswith("baseline_")
    }
    write_npz(tmp_path / "theirs.npz", data)
    result = croco_eval(
        "synthetic",
        "--predictions",
        tmp_path / "theirs.npz",
        "--data-root",
        takes / "test",
        "--workers",
        0,
        "--limit",
        7,
    )
    assert result.exit_code == 0, result.output
    report = report_of(tmp_path / "theirs-synthetic")
    assert report["samples"] == 7 and list(report["results"]) == ["model"]
    gt = np.stack([s.joints3d for s in map(open_benchmark("synthetic", takes / "test").__getitem__, range(7))])
    expected = 1000 * np.linalg.norm(data["joints"].astype(np.float64) - (gt - gt[:, :1]), axis=-1).mean()
    assert report["results"]["model"]["MPJPE"] == pytest.approx(expected, rel=1e-6)
