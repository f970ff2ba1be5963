"""``hand-joints``: FreiHAND's joint scores by hand, our renders read as right-hand crops, and the task
fine-tuned and scored through the real commands on rendered takes and on a FreiHAND-layout set."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.spatial.transform import Rotation

from crocohuman.core.conventions import HAND_PART_IDS
from crocohuman.datasets import open_benchmark
from crocohuman.datasets.hand_views import HandView, visible_keypoints
from crocohuman.eval import metrics
from crocohuman.eval.cli import main as eval_cli
from crocohuman.eval.report import comparison
from crocohuman.eval.scoring import freihand_joint_scores
from crocohuman.model.cli import main as train_cli
from crocohuman.model.task_catalog import task_reader_options
from crocohuman.model.tasks.losses import similarity_aligned
from crocohuman.model.train_config import load_config

from fake_benchmarks import TINY, make_freihand, render_takes

STEP = 0.05 / 99  # FreiHAND's 100 thresholds over 0-50 mm


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    return render_takes(tmp_path_factory.mktemp("hands"))


# ------------------------------------------------------------------------------ FreiHAND's scores


def test_a_similarity_of_the_truth_scores_zero_and_the_auc_misses_only_the_zero_threshold(rng):
    gt = rng.normal(scale=0.05, size=(3, 21, 3))
    rotation = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix()
    pred = 1.7 * gt @ rotation.T + np.array([0.2, -0.1, 0.9])
    pred[1] = gt[1] * [-1, 1, 1]  # a mirror image: FreiHAND's alignment may reflect, so it is exact too
    scores, pck, per_joint = freihand_joint_scores(pred, gt)
    assert scores["PA-MPJPE"] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(per_joint, 0.0, atol=1e-9)
    # errors of ~1e-17 m exceed only the threshold 0: PCK 0 there, 1 after; trapezoid area 1 - STEP / 2
    assert pck[0] == 0 and (pck[1:] == 1).all()
    assert scores["AUC"] == pytest.approx(1 - 0.5 / 99, abs=1e-12)


def test_the_training_loss_aligns_as_scoring_does_and_pushes_the_shape_only(rng):
    gt = rng.normal(scale=0.05, size=(3, 21, 3))
    rotation = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix()
    moved = torch.tensor(1.7 * gt @ rotation.T + np.array([0.2, -0.1, 0.9]), requires_grad=True)
    target = torch.tensor(gt)
    aligned = similarity_aligned(moved, target)
    np.testing.assert_allclose(aligned.detach().numpy(), gt, atol=1e-9)  # a similarity of the truth: no loss
    other = rng.normal(scale=0.05, size=(3, 21, 3))
    fitted = similarity_aligned(torch.tensor(other), target).numpy()
    np.testing.assert_allclose(fitted, metrics.procrustes_align(other, gt), atol=1e-9)
    # the fit carries no gradient: a step on the aligned L1 moves the shape towards the truth's
    pred = torch.tensor(other, requires_grad=True)
    (similarity_aligned(pred, target) - target).abs().mean().backward()
    stepped = pred.detach() - 0.05 * pred.grad / pred.grad.abs().max()
    assert metrics.pa_mpjpe(stepped.numpy(), gt).mean() < metrics.pa_mpjpe(other, gt).mean()


def test_a_zigzag_off_a_line_leaves_the_pa_mpjpe_worked_out_by_hand():
    """21 joints on the x axis, the prediction zig-zagging off it along y by +-c. By symmetry the best
    similarity keeps the line's direction (K = X1^T X2 = diag(sum x^2, 0, 0)) and scales by
    s = sum x^2 / (sum x^2 + sum y'^2), y' the centred zig-zag; joint i is then off by
    sqrt(x_i^2 (s - 1)^2 + s^2 y'_i^2), whatever the alignment does in the y-z plane."""
    x, c = np.linspace(-0.1, 0.1, 21), 0.02
    gt = np.zeros((1, 21, 3))
    gt[0, :, 0] = x
    pred = gt.copy()
    pred[0, :, 1] = c * (-1.0) ** np.arange(21)
    y = pred[0, :, 1] - pred[0, :, 1].mean()  # 11 of +c and 10 of -c: mean c / 21
    s = (x**2).sum() / ((x**2).sum() + (y**2).sum())
    errors = np.sqrt(x**2 * (s - 1) ** 2 + s**2 * y**2)
    scores, _, per_joint = freihand_joint_scores(pred, gt)
    assert scores["PA-MPJPE"] == pytest.approx(1000 * errors.mean(), rel=1e-9)
    np.testing.assert_allclose(per_joint, 1000 * errors, rtol=1e-9)


def test_a_constant_error_gives_the_auc_of_a_step_at_its_threshold():
    """Every keypoint 20 mm off: PCK is 0 below 20 mm and 1 from the first threshold above it,
    k = 40 (39 x 50/99 = 19.7 mm, 40 x 50/99 = 20.2 mm); the trapezoids give 0.5 + 59 steps of 99."""
    errors = np.full((4, 21), 0.02)
    pck = metrics.pck_curve(errors, metrics.FREIHAND_THRESHOLDS)
    assert (pck[:40] == 0).all() and (pck[40:] == 1).all()
    assert metrics.auc(pck, metrics.FREIHAND_THRESHOLDS) == pytest.approx(59.5 / 99, abs=1e-12)


def test_comparison_names_the_lower_error():
    rows = {"model": {"PA-MPJPE": 9.8}, "mean-hand baseline": {"PA-MPJPE": 11.25}}
    verdict = comparison(rows, "PA-MPJPE", {"PA-MPJPE": "[mm]"})
    assert verdict["best"] == "model"
    assert verdict["sentence"] == "**model** beats mean-hand baseline on PA-MPJPE: 9.8 vs 11.2 [mm]"
    assert comparison({"model": {"PA-MPJPE": 1.0}}, "PA-MPJPE", {}) is None
    assert comparison(rows, None, {}) is None


# ---------------------------------------------------------------------------------- hand views


def test_visible_keypoints_need_the_hand_pixels_within_reach_and_the_image():
    parts = np.zeros((10, 10), np.uint8)
    parts[2:5, 2:5] = 3  # the right hand
    parts[7:9, 7:9] = 4  # the left hand
    points = np.array([[3.0, 3.0], [5.4, 3.0], [6.6, 3.0], [8.0, 8.0], [-0.6, 3.0], [3.2, 2.8]])
    # on, one pixel off (within reach), two off, on the other hand, outside the image, on (rounded)
    np.testing.assert_array_equal(visible_keypoints(points, parts, 3), [True, True, False, False, False, True])


def test_a_mirrored_view_still_projects_and_mirrors_back(rng):
    intrinsics = np.array([[90.0, 0.0, 20.0], [0.0, 95.0, 30.0], [0.0, 0.0, 1.0]])
    joints3d = rng.normal(scale=0.05, size=(21, 3)) + np.array([0.05, 0.0, 0.6])
    uv = joints3d @ intrinsics.T
    view = HandView(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), joints3d, uv[:, :2] / uv[:, 2:], intrinsics)
    mirror = view.mirrored()
    projected = mirror.joints3d @ mirror.intrinsics.T
    np.testing.assert_allclose(projected[:, :2] / projected[:, 2:], mirror.joints2d, atol=1e-3)
    np.testing.assert_allclose(mirror.joints3d[:, 0], -joints3d[:, 0], atol=1e-6)
    np.testing.assert_allclose(mirror.joints2d[:, 0], 63 - view.joints2d[:, 0], atol=1e-4)
    assert mirror.intrinsics[0, 2] == pytest.approx(63 - 20)
    assert (mirror.image == view.image[:, ::-1]).all()
    back = mirror.mirrored()
    np.testing.assert_allclose(back.joints3d, joints3d, atol=1e-6)
    assert (back.image == view.image).all()


# ------------------------------------------------------------------------- rendered hand crops


def test_synthetic_hands_are_visible_right_hands_in_the_camera_frame(takes):
    bodies = open_benchmark("synthetic", takes / "train")
    hands = open_benchmark("synthetic", takes / "train", focus="hands")
    assert 0 < len(hands) <= 2 * len(bodies)
    sides = set()
    for i in range(len(hands)):
        sample = hands[i]
        side = sample.key.rsplit("/", 1)[1]
        sides.add(side)
        assert sample.meta["hand"] == side and sample.meta["mirrored"] == (side == "left")
        assert sample.joints3d.shape == (21, 3) and sample.joints2d.shape == (21, 3)
        assert sample.joints2d[:, 2].sum() >= 11  # most keypoints on the hand's own pixels
        uv = sample.joints3d @ sample.intrinsics.T
        np.testing.assert_allclose(uv[:, :2] / uv[:, 2:], sample.joints2d[:, :2], atol=0.05)
        x0, y0, x1, y1 = sample.box
        assert x0 < sample.joints2d[:, 0].min() and sample.joints2d[:, 0].max() < x1
        assert y0 < sample.joints2d[:, 1].min() and sample.joints2d[:, 1].max() < y1
        assert sample.parts is None and sample.iuv is None and sample.body_params == {}
    # the mirrored left hands are right hands: seen from the same side of the palm as the right ones
    assert sides <= {"left", "right"}


def test_a_left_hand_sample_is_the_mirror_of_the_rendered_view(takes):
    hands = open_benchmark("synthetic", takes / "train", focus="hands")
    left = next((i for i in range(len(hands)) if hands[i].meta["hand"] == "left"), None)
    if left is None:
        pytest.skip("no left hand visible in the tiny renders")
    sample = hands[left]
    body_key = sample.key.rsplit("/", 1)[0]
    bodies = open_benchmark("synthetic", takes / "train")
    image = next(bodies[i].image for i in range(len(bodies)) if bodies[i].key == body_key)
    assert (sample.image == image[:, ::-1]).all()
    parts = next(bodies[i].parts for i in range(len(bodies)) if bodies[i].key == body_key)
    on_hand = visible_keypoints(
        np.column_stack([image.shape[1] - 1 - sample.joints2d[:, 0], sample.joints2d[:, 1]]), parts, HAND_PART_IDS[0]
    )
    np.testing.assert_array_equal(on_hand, sample.joints2d[:, 2] > 0)


def rewrite_without_hands(source, target) -> None:
    """A copy of a shard folder as it was written before hands were labelled (no hand arrays)."""
    target.mkdir()
    for shard in sorted(source.glob("shard-*.tar")):
        with tarfile.open(shard) as old, tarfile.open(target / shard.name, "w") as new:
            for member in old.getmembers():
                data = old.extractfile(member).read()
                if member.name.endswith("arrays.npz"):
                    with np.load(io.BytesIO(data)) as arrays:
                        kept = {k: arrays[k] for k in arrays.files if not k.startswith("hand_joints")}
                    buffer = io.BytesIO()
                    np.savez(buffer, **kept)
                    data = buffer.getvalue()
                    member.size = len(data)
                new.addfile(member, io.BytesIO(data))


def test_old_shards_and_bad_focus_are_clear_errors(takes, tmp_path):
    old = tmp_path / "old"
    rewrite_without_hands(takes / "train", old)
    assert len(open_benchmark("synthetic", old)) == 8  # bodies still read
    with pytest.raises(ValueError, match=rf"{old}: .*rendered before hand labels.*re-render"):
        open_benchmark("synthetic", old, focus="hands")
    with pytest.raises(ValueError, match="focus must be one of body, hands, got 'hand'"):
        open_benchmark("synthetic", takes / "train", focus="hand")


def test_a_task_reads_synthetic_takes_its_own_way():
    assert task_reader_options("hand-joints", "synthetic", {"frames": [0]}) == {"frames": [0], "focus": "hands"}
    assert task_reader_options("hand-joints", "freihand", {}) == {}
    assert task_reader_options("hmr-free", "synthetic", {}) == {"focus": "body"}
    with pytest.raises(ValueError, match="task hmr-free reads synthetic with focus=body, got the reader option focus"):
        task_reader_options("hmr-free", "synthetic", {"focus": "hands"})
    with pytest.raises(ValueError, match=r"finetune\.options: task hand-joints reads synthetic with focus=hands"):
        load_config("finetune-hand-joints-cpu", ["finetune.root=x", "finetune.options.focus=body"])
    config = load_config("finetune-hand-joints-cpu", ["finetune.root=x", "finetune.options.focus=hands"])
    assert config.finetune.options == {"focus": "hands"} and config.finetune.task == "hand-joints"


# ------------------------------------------------------------------- fine-tune and score, by the commands


def tiny_run(out, data: str, steps: int = 3) -> list[str]:
    """``croco-train finetune`` arguments: the hand-joints preset on the tests' tiny backbone."""
    return [
        "finetune",
        "--config",
        "finetune-hand-joints-cpu",
        "--task",
        "hand-joints",
        "--data",
        data,
        "--out",
        str(out),
        "model_overrides=" + json.dumps(TINY),
        "image_size=64",
        "batch_size=4",
        "num_workers=0",
        f"optim.max_steps={steps}",
        "optim.warmup_steps=1",
        f"optim.schedule_steps={steps}",
        "ckpt_every=5",
    ]


def pa_error_mm(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint errors (mm) after each sample's best similarity, reflections allowed (FreiHAND's
    ``align_w_scale``: Frobenius-normalised sets, scipy's orthogonal Procrustes)."""
    from scipy.linalg import orthogonal_procrustes

    errors = []
    for p, g in zip(np.asarray(pred, np.float64), np.asarray(gt, np.float64)):
        gc, pc = g - g.mean(0), p - p.mean(0)
        s1, s2 = np.linalg.norm(gc) + 1e-8, np.linalg.norm(pc) + 1e-8
        r, s = orthogonal_procrustes(gc / s1, pc / s2)
        errors.append(np.linalg.norm((pc / s2) @ r.T * s * s1 + g.mean(0) - g, axis=-1))
    return 1000 * np.array(errors)


def check_report(out, gt: np.ndarray) -> dict:
    """The report's rows recomputed from predictions.npz with FreiHAND's own alignment."""
    report = json.loads((out / "results.json").read_text())
    with np.load(out / "predictions.npz") as stored:
        pred, mean = stored["joints"], stored["baseline_mean_joints"]
    rows = report["results"]
    assert set(rows) == {"model", "mean-hand baseline"}
    for name, joints in (("model", pred), ("mean-hand baseline", np.broadcast_to(mean, gt.shape))):
        errors = pa_error_mm(joints, gt)
        assert rows[name]["PA-MPJPE"] == pytest.approx(errors.mean(), rel=1e-4)
        pck = np.array([(errors <= t).mean(0) for t in np.linspace(0, 50, 100)])  # (T, 21)
        auc = np.mean([np.trapezoid(pck[:, j], dx=STEP) / 0.05 for j in range(21)])
        assert rows[name]["AUC"] == pytest.approx(auc, abs=2e-3)  # a PCK step may fall either side of 1e-6
    best = min(rows, key=lambda name: rows[name]["PA-MPJPE"])
    assert report["comparison"]["best"] == best
    assert f"**{best}** beats" in (out / "results.md").read_text()
    assert {"pck.png", "per_joint_error.png", "predictions.npz"} <= set(report["files"])
    return report


def test_hand_joints_fine_tuned_and_scored_on_rendered_hands(takes, tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(train_cli, tiny_run(run, f"synthetic:{takes / 'train'}"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "eval"
    args = ["synthetic", "--checkpoint", str(run / "checkpoint-last.pt"), "--data-root", str(takes / "test")]
    result = CliRunner().invoke(eval_cli, [*args, "--option", "focus=hands", "--workers", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    hands = open_benchmark("synthetic", takes / "test", focus="hands")
    gt = np.stack([hands[i].joints3d - hands[i].joints3d[:1] for i in range(len(hands))])
    report = check_report(out, gt)
    assert report["samples"] == len(hands)
    with np.load(out / "predictions.npz") as stored:
        assert stored["keys"].tolist() == [hands[i].key for i in range(len(hands))]
        np.testing.assert_allclose(stored["joints"][:, 0], 0.0, atol=1e-7)  # wrist-relative
    # the task reads hands without the option too; a body focus contradicts it
    plain = tmp_path / "plain"
    result = CliRunner().invoke(eval_cli, [*args, "--workers", "0", "--out", str(plain)])
    assert result.exit_code == 0, result.output
    assert json.loads((plain / "results.json").read_text())["results"] == report["results"]
    result = CliRunner().invoke(eval_cli, [*args, "--option", "focus=body", "--workers", "0", "--out", str(out)])
    assert result.exit_code == 2 and "task hand-joints reads synthetic with focus=hands" in result.output


def test_hand_joints_fine_tuned_and_scored_on_a_freihand_layout(tmp_path):
    root = tmp_path / "FreiHAND"
    make_freihand(root, "training", 6, 24)
    make_freihand(root, "evaluation", 5, 5)
    run = tmp_path / "run"
    result = CliRunner().invoke(train_cli, tiny_run(run, f"freihand:{root}", steps=2))
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        eval_cli,
        ["freihand", "--checkpoint", str(run / "checkpoint-last.pt"), "--data-root", str(root), "--workers", "0"],
    )
    assert result.exit_code == 0, result.output
    with open(root / "evaluation_xyz.json") as handle:
        xyz = np.array(json.load(handle))
    check_report(run / "eval-freihand", xyz - xyz[:, :1])
