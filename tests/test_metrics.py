"""Metrics against hand-computed values, and the SMPL joint protocol on a fake mesh and regressor.

DensePose geodesics are tested in ``test_metrics_densepose``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import trapezoid
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from crocohuman.eval import metrics as m
from crocohuman.eval.smpl_protocol import H36M_TO_J14, evaluate_smpl_meshes, h36m_j14, load_h36m_regressor

# --------------------------------------------------------------------------- joints and meshes


def similarity(points: np.ndarray, scale: float, seed: int, shift: np.ndarray) -> np.ndarray:
    rotation = Rotation.random(random_state=seed).as_matrix()
    return scale * points @ rotation.T + shift


def test_mpjpe_is_the_mean_joint_distance_per_sample(rng):
    gt = rng.normal(size=(2, 5, 3))
    pred = gt + np.array([3.0, 4.0, 0.0])  # every joint 5 away in sample 0 ...
    pred[1] = gt[1]
    pred[1, 0] += [0.0, 0.0, 10.0]  # ... one of five joints 10 away in sample 1
    np.testing.assert_allclose(m.mpjpe(pred, gt), [5.0, 2.0])
    np.testing.assert_allclose(m.mpvpe(pred, gt), [5.0, 2.0])


def test_pa_mpjpe_undoes_scale_rotation_translation_per_sample(rng):
    gt = rng.normal(size=(3, 14, 3))
    pred = np.stack([similarity(g, s, i, rng.normal(size=3)) for i, (g, s) in enumerate(zip(gt, [0.5, 1.0, 3.0]))])
    pred[2] += rng.normal(scale=0.1, size=(14, 3))  # sample 2 is not an exact similarity
    assert (m.mpjpe(pred, gt) > 0.1).all()
    pa = m.pa_mpjpe(pred, gt)
    np.testing.assert_allclose(pa[:2], 0.0, atol=1e-10)
    assert pa[2] > 0.01
    np.testing.assert_allclose(m.procrustes_align(pred[:2], gt[:2]), gt[:2], atol=1e-10)
    np.testing.assert_allclose(m.pa_mpvpe(pred[:2], gt[:2]), 0.0, atol=1e-10)


def test_a_mirror_image_is_not_aligned_because_rotations_are_proper(rng):
    gt = rng.normal(size=(1, 14, 3))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert m.pa_mpjpe(mirrored, gt)[0] > 0.1
    # FreiHAND's official alignment (orthogonal_procrustes) does allow the reflection.
    np.testing.assert_allclose(m.freihand_align(mirrored, gt), gt, atol=1e-10)


def test_freihand_align_matches_scipy_orthogonal_procrustes(rng):
    gt, pred = rng.normal(size=(21, 3)), rng.normal(size=(21, 3))
    gt_c, pred_c = gt - gt.mean(0), pred - pred.mean(0)
    s1, s2 = np.linalg.norm(gt_c), np.linalg.norm(pred_c)
    rotation, s = orthogonal_procrustes(gt_c / s1, pred_c / s2)
    expected = (pred_c / s2) @ rotation.T * s * s1 + gt.mean(0)
    np.testing.assert_allclose(m.freihand_align(pred[None], gt[None])[0], expected, atol=1e-9)


def test_procrustes_matches_spin_steps_on_a_case_with_a_reflection_fix(rng):
    gt, pred = rng.normal(size=(14, 3)), rng.normal(size=(14, 3))
    x1, x2 = pred - pred.mean(0), gt - gt.mean(0)
    u, _, vh = np.linalg.svd(x1.T @ x2)
    z = np.diag([1.0, 1.0, np.sign(np.linalg.det(vh.T @ u.T))])
    rotation = vh.T @ z @ u.T
    scale = np.trace(rotation @ x1.T @ x2) / (x1**2).sum()
    expected = scale * x1 @ rotation.T + gt.mean(0)
    np.testing.assert_allclose(m.procrustes_align(pred[None], gt[None])[0], expected, atol=1e-12)
    assert np.linalg.det(rotation) > 0


def test_align_by_pelvis_by_index_or_hip_mean():
    joints = np.array([[[1.0, 1, 1], [3, 0, 0], [5, 2, 0]]])
    np.testing.assert_allclose(m.align_by_pelvis(joints, 0)[0, 0], 0.0)
    np.testing.assert_allclose(m.align_by_pelvis(joints, (1, 2))[0], joints[0] - [4.0, 1.0, 0.0])


def test_heading_error_is_the_turn_about_the_vertical_axis():
    rng = np.random.default_rng(4)
    gt = rng.normal(size=(3, 24, 3))

    def turned(points, degrees):  # about the camera's y axis (vertical in the image)
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        return points @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]).T

    np.testing.assert_allclose(m.heading_error(gt, gt), 0, atol=1e-9)
    for degrees in (30, 90, 180, -135):
        np.testing.assert_allclose(m.heading_error(turned(gt, degrees), gt), abs(degrees), atol=1e-6)
    tilted = gt.copy()
    tilted[..., 1] += 5 * tilted[..., 0]  # a lean in the image plane is not a heading
    np.testing.assert_allclose(m.heading_error(tilted, gt), 0, atol=1e-9)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="matching"):
        m.mpjpe(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))


# --------------------------------------------------------------------------- FreiHAND


def test_f_score_on_tiny_point_sets_by_hand():
    gt = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]])
    pred = np.array([[0.0, 0, 0.001], [1, 0, 0.02], [10, 0, 0]])
    # precision: 1 of 3 predictions within 5 mm; recall: 1 of 4 GT points -> F = 2/7
    assert m.f_score(pred, gt, 0.005) == pytest.approx(2 / 7)
    # within 5 cm: precision 2/3, recall 2/4 -> F = 4/7
    assert m.f_score(pred, gt, 0.05) == pytest.approx(4 / 7)
    assert m.f_score(pred + 100, gt, 0.015) == 0.0
    assert m.f_score(gt, gt, 0.005) == 1.0


def test_pck_curve_and_auc(rng):
    errors = np.array([0.5, 1.5])
    pck = m.pck_curve(errors, np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(pck, [0.0, 0.5, 1.0])
    assert m.auc(pck, np.array([0.0, 1.0, 2.0])) == pytest.approx(0.5)  # (0.25 + 0.75) / 2

    per_keypoint = rng.uniform(0, 0.06, size=(50, 21))
    curve = m.pck_curve(per_keypoint, m.FREIHAND_THRESHOLDS)
    assert len(m.FREIHAND_THRESHOLDS) == 100 and m.FREIHAND_THRESHOLDS[-1] == 0.05
    assert (np.diff(curve) >= 0).all()
    columns = [m.pck_curve(per_keypoint[:, k], m.FREIHAND_THRESHOLDS) for k in range(21)]
    np.testing.assert_allclose(curve, np.mean(columns, 0))
    brute = (per_keypoint[None] <= m.FREIHAND_THRESHOLDS[:, None, None]).mean((1, 2))
    np.testing.assert_allclose(curve, brute)
    assert m.pck_curve(np.array([0.0]), m.FREIHAND_THRESHOLDS)[0] == 1.0  # d <= t, as EvalUtil
    assert m.auc(m.pck_curve(np.zeros(5), m.FREIHAND_THRESHOLDS), m.FREIHAND_THRESHOLDS) == pytest.approx(1.0)
    assert m.auc(m.pck_curve(np.full(5, 0.06), m.FREIHAND_THRESHOLDS), m.FREIHAND_THRESHOLDS) == 0.0


# --------------------------------------------------------------------------- classification


def test_accuracy_and_per_class_accuracy_on_an_imbalanced_set():
    gt = np.array([0] * 8 + [1] * 2)
    pred = np.zeros(10, np.int64)
    assert m.accuracy(pred, gt) == pytest.approx(0.8)
    mean, per_class = m.per_class_accuracy(pred, gt, 3)
    assert mean == pytest.approx(0.5)  # (1 + 0) / 2: class 2 has no samples
    np.testing.assert_array_equal(per_class[:2], [1.0, 0.0])
    assert np.isnan(per_class[2])
    with pytest.raises(ValueError, match=r"0\.\.1"):
        m.per_class_accuracy(pred, gt + 1, 2)


def test_mean_std_over_seeds():
    assert m.mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert m.mean_std([1.0, 2.0, 3.0], ddof=0) == pytest.approx((2.0, np.sqrt(2 / 3)))
    assert m.mean_std([4.0]) == (4.0, 0.0)


# --------------------------------------------------------------------------- RCP / AUC


def test_rcp_and_densepose_auc_by_hand():
    d = np.array([0.0, 5.0, 12.0, np.inf])
    np.testing.assert_allclose(m.rcp_curve(d, np.array([0.0, 5.0, 10.0, 30.0])), [0.0, 0.25, 0.5, 0.75])
    assert m.densepose_auc(d, 10) == pytest.approx((10 + 5) / 10 / 4)
    assert m.densepose_auc(d, 30) == pytest.approx((30 + 25 + 18) / 30 / 4)
    assert m.densepose_auc(np.full(3, np.inf), 10) == 0.0
    with pytest.raises(ValueError):
        m.densepose_auc(np.array([-1.0]), 10)


@pytest.mark.parametrize("a", [10.0, 30.0])
def test_densepose_auc_closed_form_matches_a_dense_trapezoid(rng, a):
    d = np.concatenate([rng.exponential(12.0, size=500), [np.inf] * 20, [0.0]])
    t = np.linspace(0.0, a, 200_001)
    dense = trapezoid(m.rcp_curve(d, t), t) / a
    assert m.densepose_auc(d, a) == pytest.approx(dense, abs=1e-4)


# --------------------------------------------------------------------------- SMPL protocol


@pytest.fixture
def smpl_meshes(tmp_path, rng):
    vertices = rng.normal(size=(3, 6890, 3))
    regressor = rng.uniform(size=(17, 6890))
    regressor /= regressor.sum(1, keepdims=True)
    regressor[:, :17] += 20 * np.eye(17)  # joints that move with their own vertices
    regressor /= regressor.sum(1, keepdims=True)
    path = tmp_path / "J_regressor_h36m.npy"
    np.save(path, regressor)
    return vertices, path


def test_smpl_protocol_identity_and_translation_give_zero(smpl_meshes):
    vertices, path = smpl_meshes
    errors = evaluate_smpl_meshes(vertices, vertices, path)
    for per_sample in (errors.mpjpe, errors.pa_mpjpe, errors.mpvpe):
        assert per_sample.shape == (3,)
        np.testing.assert_allclose(per_sample, 0.0, atol=1e-9)
    moved = evaluate_smpl_meshes(vertices + np.array([0.1, -2.0, 5.0]), vertices, path)  # pelvis-relative
    np.testing.assert_allclose(moved.mpjpe, 0.0, atol=1e-9)
    np.testing.assert_allclose(moved.mpvpe, 0.0, atol=1e-9)


def test_smpl_protocol_reports_millimetres_and_procrustes(smpl_meshes):
    vertices, path = smpl_meshes
    errors = evaluate_smpl_meshes(1.2 * vertices, vertices, path, pelvis="mid_hips")
    assert (errors.mpjpe > 1.0).all()
    np.testing.assert_allclose(errors.pa_mpjpe, 0.0, atol=1e-9)
    regressor = load_h36m_regressor(path)
    joints, _ = h36m_j14(vertices, regressor)
    joints17 = np.einsum("jv,nvc->njc", regressor, vertices)
    np.testing.assert_allclose(joints, joints17[:, list(H36M_TO_J14)] - joints17[:, [0]])  # SPIN: pelvis = H36M 0
    shifted = vertices.copy()
    shifted[0] += 0.001 * (np.arange(6890) % 2 == 0)[:, None]  # even vertices 1 mm along x, y, z
    assert evaluate_smpl_meshes(shifted, vertices, regressor).mpvpe[0] == pytest.approx(np.sqrt(3) / 2, rel=0.05)


def test_smpl_protocol_names_a_missing_or_malformed_regressor(tmp_path, smpl_meshes):
    vertices, _ = smpl_meshes
    missing = tmp_path / "nowhere" / "J_regressor_h36m.npy"
    with pytest.raises(FileNotFoundError, match=r"J_regressor_h36m\.npy"):
        evaluate_smpl_meshes(vertices, vertices, missing)
    bad = tmp_path / "bad_regressor.npy"
    np.save(bad, np.zeros((24, 6890)))
    with pytest.raises(ValueError, match=r"bad_regressor\.npy.*\(24, 6890\)"):
        evaluate_smpl_meshes(vertices, vertices, bad)
