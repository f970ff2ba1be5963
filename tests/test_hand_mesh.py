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
from fake_benchmarks import make_freihand, make_hagrid_v1
from fake_smpl import write_fake_mano_npz

from crocohuman.eval.cli import main as eval_cli
from crocohuman.eval.datasets import open_benchmark
from crocohuman.model.cli import main as train_cli
from crocohuman.model.finetune import FinetuneTask, finetune
from crocohuman.model.finetune_data import FinetuneDataset
from crocohuman.model.hand_mesh import FREIHAND_JOINT_NAMES, MANO_TO_FREIHAND, HandMeshHead, load_mano
from crocohuman.model.hand_mesh import freihand_joint_regressor, model_free_hand_head
from crocohuman.model.rotation6d import axis_angle_to_matrix, matrix_to_rot6d
from crocohuman.model.task_catalog import task_spec
from crocohuman.model.train_config import TrainConfig, load_config
from crocohuman.render.body.smpl_family import MANO_JOINT_NAMES

TINY = {"img_size": 64, "patch_size": 8, "enc_embed_dim": 64, "enc_depth": 2, "enc_num_heads": 2,
        "dec_embed_dim": 32, "dec_depth": 1, "dec_num_heads": 2}
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
    spec = {"task": "hand-mesh", "benchmark": "freihand", "root": str(data / "freihand"),
            "options": {"split": "training"}, "model_path": str(data / "mano"), **finetune}
    return TrainConfig(out_dir=str(out_dir), model="croco-v2-base-small", model_overrides=TINY, image_size=64,
                       batch_size=4, num_workers=0, device="cpu", grid_every=0, ckpt_every=5, log_every=1,
                       optim={"base_lr": 2e-2, "warmup_steps": 1, "schedule_steps": 6, "max_steps": 6},
                       finetune=spec)


def test_mano_joints_are_taken_in_freihand_order():
    assert FREIHAND_JOINT_NAMES[:5] == ("right_wrist", "right_thumb1", "right_thumb2", "right_thumb3",
                                        "right_thumb_tip")
    assert FREIHAND_JOINT_NAMES[-4:] == ("right_pinky1", "right_pinky2", "right_pinky3", "right_pinky_tip")
    assert MANO_TO_FREIHAND == FREIHAND_FROM_MANO
    assert [MANO_JOINT_NAMES[i] for i in MANO_TO_FREIHAND] == list(FREIHAND_JOINT_NAMES)


def test_freihand_fits_pose_to_their_own_joints_and_mesh(data):
    """The head, given FreiHAND's parameters (offsets from MANO's mean hand), poses FreiHAND's targets."""
    dataset = FinetuneDataset(open_benchmark("freihand", data / "freihand", split="training"), 64, train=False)
    batch = torch.utils.data.default_collate([dataset[i] for i in range(4)])
    assert batch["vertices"].shape == (4, 778, 3) and batch["hand_pose"].shape == (4, 15, 3)
    head = HandMeshHead(8, str(data / "mano"))
    params = {"global_orient": matrix_to_rot6d(axis_angle_to_matrix(batch["global_orient"])),
              "hand_pose": matrix_to_rot6d(axis_angle_to_matrix(batch["hand_pose"])).flatten(1),
              "betas": batch["betas"]}
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
    rest = head.pose({"global_orient": identity[None], "hand_pose": identity.repeat(1, 15), "betas": torch.zeros(1, 10)})
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


@pytest.mark.parametrize("task", ["hand-mesh", "hand-mesh-free"])
def test_finetune_then_croco_eval_freihand(data, tmp_path, task):
    run = tmp_path / "run"
    finetune(hand_config(run, data, task=task))
    state = torch.load(run / "checkpoint-last.pt", weights_only=True)
    mano = ("v_template", "shapedirs", "upsample", "joint_regressor")  # MANO and maps made from it are not ours to ship
    assert not [key for key in state["model"] if key.split(".")[-1] in mano]
    assert np.shape(state["baseline"]["mean_vertices"]) == (778, 3)
    result = CliRunner().invoke(eval_cli, ["freihand", "--checkpoint", str(run / "checkpoint-last.pt"),
                                           "--data-root", str(data / "freihand"), "--workers", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads((run / "eval-freihand" / "results.json").read_text())
    assert report["samples"] == 4 and report["task"] == task
    for row in ("model", "mean-hand baseline"):
        scores = report["results"][row]
        assert all(math.isfinite(value) for value in scores.values())
        assert 0 < scores["PA-MPJPE"] < 100 and 0 < scores["PA-MPVPE"] < 100
        assert 0 <= scores["F@5mm"] <= scores["F@15mm"] <= 1 and 0 <= scores["AUC"] <= 1
    assert "PA-MPVPE [mm]" in (run / "eval-freihand" / "results.md").read_text()
    assert (run / "eval-freihand" / "pck.png").stat().st_size > 1000
    assert (run / "eval-freihand" / "per_joint_error.png").exists()
    elsewhere = CliRunner().invoke(eval_cli, ["hagrid", "--checkpoint", str(run / "checkpoint-last.pt"),
                                              "--data-root", str(tmp_path), "--workers", "0"])
    assert elsewhere.exit_code == 2 and "croco-eval freihand" in elsewhere.output
    moved = CliRunner().invoke(eval_cli, ["freihand", "--checkpoint", str(run / "checkpoint-last.pt"), "--data-root",
                                          str(data / "freihand"), "--workers", "0", "--model-path", str(tmp_path / "no")])
    assert moved.exit_code == 2 and str(tmp_path / "no") in moved.output and "MANO" in moved.output


def test_croco_eval_freihand_refuses_a_checkpoint_of_another_task(data, tmp_path):
    make_hagrid_v1(tmp_path / "hagrid")
    run = tmp_path / "run"
    config = hand_config(run, data, task="gesture", benchmark="hagrid", root=str(tmp_path / "hagrid"), options={},
                         num_classes=18)
    config.optim.max_steps = 1
    finetune(config)
    result = CliRunner().invoke(eval_cli, ["freihand", "--checkpoint", str(run / "checkpoint-last.pt"),
                                           "--data-root", str(data / "freihand"), "--workers", "0"])
    assert result.exit_code == 2 and "'gesture'" in result.output and "--task hand-mesh" in result.output


def test_hand_mesh_without_a_mano_file_says_what_to_get(data, tmp_path):
    with pytest.raises(ValueError, match=r"MANO_RIGHT\.pkl") as error:
        FinetuneTask(hand_config(tmp_path, data, model_path="")).build_model()
    assert "mano.is.tue.mpg.de" in str(error.value) and "--model-path" in str(error.value)
    with pytest.raises(FileNotFoundError, match="mano_right.npz") as error:
        FinetuneTask(hand_config(tmp_path, data, model_path=str(tmp_path))).build_model()
    assert "mano.is.tue.mpg.de" in str(error.value)
    command = ["finetune", "--task", "hand-mesh", "--data", f"freihand:{data / 'freihand'}", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(train_cli, command)
    assert result.exit_code == 2 and "MANO_RIGHT.pkl" in result.output


def test_hand_mesh_preset():
    config = load_config("finetune-hand-mesh", ["finetune.model_path=/mano"])
    spec = config.finetune
    assert (spec.task, spec.benchmark, spec.options, spec.model_path) == ("hand-mesh", "freihand",
                                                                          {"split": "training"}, "/mano")
    assert config.image_size == 224 and config.model.startswith("croco-v2-base")
