"""Metrics against hand-computed values, the SMPL joint protocol on a fake mesh and regressor,
and DensePose geodesics on an analytic sphere and on tiny assets in the official file formats."""

from __future__ import annotations

import pickle
import struct
import warnings

import numpy as np
import pytest
from scipy.integrate import trapezoid
from scipy.io import savemat
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from crocohuman.eval import metrics as m
from crocohuman.eval.densepose_geodesic import (
    MeshChartSurface,
    SmplDensePoseSurface,
    densepose_errors,
    load_condensed_pdist,
)
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


# --------------------------------------------------------------------------- our charts on a sphere


def uv_sphere(rows: int = 48, cols: int = 96):
    """Unit sphere: grid vertices (no poles), quads split into triangles, two charted halves.

    Part 1 covers longitudes [0, pi), part 2 [pi, 2 pi); U runs across each half's longitudes,
    V from the south to the north edge of the band.
    """
    theta = np.linspace(0.15, np.pi - 0.15, rows)  # polar angle; caps left open
    phi = 2 * np.pi * np.arange(cols) / cols
    t, p = np.meshgrid(theta, phi, indexing="ij")
    vertices = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    index = np.arange(rows * cols).reshape(rows, cols)
    a, b = index[:-1], np.roll(index, -1, 1)[:-1]
    c, d = index[1:], np.roll(index, -1, 1)[1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    corner_phi = phi[faces % cols]
    corner_phi = np.where(
        corner_phi - corner_phi.min(1, keepdims=True) > np.pi, corner_phi - 2 * np.pi, corner_phi
    )  # seam
    first = corner_phi.min(1) < np.pi - 1e-9
    face_parts = np.where(first, 1, 2).astype(np.uint8)
    u = np.where(first[:, None], corner_phi, corner_phi - np.pi) / np.pi
    v = 1.0 - theta[faces // cols] / np.pi
    return vertices, faces, face_parts, np.stack([u, v], -1), theta, phi


def great_circle_cm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 100.0 * np.arccos(np.clip((x * y).sum(-1), -1.0, 1.0))


def test_mesh_chart_surface_matches_the_great_circle_on_a_sphere():
    vertices, faces, face_parts, face_iuv, theta, phi = uv_sphere()
    surface = MeshChartSurface(vertices, faces, face_parts, face_iuv, cache_size=4)
    rows = np.array([10, 24, 30, 40, 5, 20])
    cols = np.array([5, 20, 60, 80, 40, 47])  # longitudes in both halves
    iuv = np.stack(
        [
            np.where(phi[cols] < np.pi, 1, 2),
            np.where(phi[cols] < np.pi, phi[cols], phi[cols] - np.pi) / np.pi,
            1.0 - theta[rows] / np.pi,
        ],
        1,
    )
    expected_vertices = rows * len(phi) + cols
    np.testing.assert_array_equal(surface.mesh_vertices(iuv), expected_vertices)

    gt, pred = np.repeat(iuv, len(iuv), 0), np.tile(iuv, (len(iuv), 1))
    distances = surface.distances(pred, gt)
    analytic = great_circle_cm(
        vertices[np.repeat(expected_vertices, len(iuv))], vertices[np.tile(expected_vertices, len(iuv))]
    )
    np.testing.assert_allclose(distances, analytic, rtol=0.05, atol=1.5)
    assert distances[analytic == 0].max() < 1e-3
    assert len(surface._rows) == 4  # bounded LRU

    no_part = pred.copy()
    no_part[::3, 0] = 0
    assert np.isinf(surface.distances(no_part, gt)[::3]).all()
    with pytest.raises(ValueError, match=r"part ids \[7\]"):
        surface.distances(pred[:1], np.array([[7.0, 0.5, 0.5]]))


def test_densepose_errors_sample_the_prediction_at_the_nearest_pixel():
    vertices, faces, face_parts, face_iuv, _theta, _phi = uv_sphere()
    surface = MeshChartSurface(vertices, faces, face_parts, face_iuv)
    image = np.zeros((4, 5, 3), np.uint8)
    image[1, 2] = (1, 64, 128)
    image[3, 4] = (2, 200, 30)
    points = {
        "x": np.array([2.3, 3.6, 0.0, 9.0]),
        "y": np.array([0.8, 2.7, 0.0, 1.0]),
        "i": np.array([1.0, 2.0, 1.0, 1.0]),
        "u": np.array([0.3, 0.7, 0.5, 0.5]),
        "v": np.array([0.4, 0.2, 0.5, 0.5]),
    }
    errors = densepose_errors(surface, image, points)
    gt = np.stack([points["i"], points["u"], points["v"]], 1)
    pred = np.array([[1, 64 / 255, 128 / 255], [2, 200 / 255, 30 / 255]])
    np.testing.assert_allclose(errors[:2], surface.distances(pred, gt[:2]))
    assert np.isinf(errors[2:]).all()  # background pixel, and a point outside the image
    floats = image.astype(np.float32)
    floats[..., 1:] /= 255.0
    np.testing.assert_allclose(densepose_errors(surface, floats, points), errors)


# --------------------------------------------------------------------------- official DensePose assets


def py2_pickle(array: np.ndarray) -> bytes:
    """The bytes Python 2's ``cPickle.dump({'Pdist_matrix': array}, f, 2)`` writes (memo ops left out)."""

    def text(value: bytes) -> bytes:  # SHORT_BINSTRING
        return b"U" + bytes([len(value)]) + value

    def integer(value: int) -> bytes:
        return b"K" + bytes([value]) if 0 <= value < 256 else b"J" + struct.pack("<i", value)

    data = array.tobytes()
    return b"".join(
        [
            b"\x80\x02}",
            text(b"Pdist_matrix"),
            b"cnumpy.core.multiarray\n_reconstruct\n",
            b"cnumpy\nndarray\n",
            integer(0),
            b"\x85",
            text(b"b"),
            b"\x87R",
            b"(",
            integer(1),
            b"(",
            *[integer(n) for n in array.shape],
            b"t",
            b"cnumpy\ndtype\n",
            text(array.dtype.str[1:].encode()),
            integer(0),
            integer(1),
            b"\x87R",
            b"(",
            integer(3),
            text(b"<"),
            b"NNN",
            integer(-1),
            integer(-1),
            integer(0),
            b"tb",
            b"\x89",
            b"T",
            struct.pack("<i", len(data)),
            data,
            b"tb",
            b"s.",
        ]
    )


WRITERS = {
    "python2-protocol2": py2_pickle,
    "python3-protocol4": lambda a: pickle.dumps({"Pdist_matrix": a}, protocol=4),
    "python3-protocol5": lambda a: pickle.dumps({"Pdist_matrix": a}, protocol=5),
    "python3-protocol2-text": lambda a: pickle.dumps({"Pdist_matrix": a}, protocol=2),
}


def test_py2_pickle_helper_is_what_the_standard_loader_reads(rng):
    array = rng.uniform(size=(10, 1)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core is numpy._core now
        loaded = pickle.loads(py2_pickle(array), encoding="latin1")["Pdist_matrix"]
    np.testing.assert_array_equal(loaded, array)


def write_assets(tmp_path, writer: str, rng: np.random.Generator):
    """Subdivided vertices with (part, U, V), a transform onto n = 12 points, their distances."""
    n, n_sub = 12, 40
    points = rng.normal(size=(n, 3))
    square = np.linalg.norm(points[:, None] - points[None], axis=-1)  # stands in for geodesics (m)
    condensed = np.array([square[b, a] for b in range(n) for a in range(b)], np.float32)[:, None]
    parts = np.repeat([1, 2, 3, 24], n_sub // 4)
    uv = rng.uniform(size=(n_sub, 2))
    transform = rng.integers(1, n + 1, size=n_sub)
    transform[:2] = 5  # two subdivided vertices on one Pdist vertex
    savemat(
        tmp_path / "SMPL_subdiv.mat",
        {"U_subdiv": uv[:, :1], "V_subdiv": uv[:, 1:].T, "Part_ID_subdiv": parts[None].astype(np.float64)},
    )
    savemat(tmp_path / "SMPL_SUBDIV_TRANSFORM.mat", {"index": transform[:, None].astype(np.float64)})
    (tmp_path / "Pdist_matrix.pkl").write_bytes(WRITERS[writer](condensed))
    return square.astype(np.float32), parts, uv, transform, condensed


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_smpl_densepose_surface_reads_the_condensed_matrix_right(tmp_path, writer, rng):
    square, parts, uv, transform, condensed = write_assets(tmp_path, writer, rng)
    np.testing.assert_array_equal(load_condensed_pdist(tmp_path / "Pdist_matrix.pkl"), condensed[:, 0])
    if writer != "python3-protocol2-text":
        assert isinstance(load_condensed_pdist(tmp_path / "Pdist_matrix.pkl"), np.memmap)
    surface = SmplDensePoseSurface(tmp_path)
    assert surface.num_vertices == 12

    iuv = np.concatenate([parts[:, None], uv], 1)
    gt, pred = np.repeat(iuv, len(iuv), 0), np.tile(iuv, (len(iuv), 1))
    gt_vertex, pred_vertex = transform[np.repeat(np.arange(40), 40)] - 1, transform[np.tile(np.arange(40), 40)] - 1
    expected = 100.0 * square[gt_vertex, pred_vertex]
    np.testing.assert_allclose(surface.distances(pred, gt), expected, rtol=1e-6)
    assert surface.distances(iuv[1:2], iuv[0:1])[0] == 0.0  # distinct vertices, same Pdist vertex

    near = iuv.copy()
    near[:, 1:] += 1e-4  # nearest vertex of the same part in (U, V)
    np.testing.assert_allclose(surface.distances(near, iuv), 0.0)
    pred[::7, 0] = 0
    assert np.isinf(surface.distances(pred, gt)[::7]).all()


def test_smpl_densepose_surface_errors(tmp_path, rng):
    write_assets(tmp_path, "python3-protocol4", rng)
    (tmp_path / "Pdist_matrix.pkl").unlink()
    with pytest.raises(FileNotFoundError, match=r"Pdist_matrix\.pkl"):
        SmplDensePoseSurface(tmp_path)
    (tmp_path / "Pdist_matrix.pkl").write_bytes(pickle.dumps({"Pdist_matrix": np.zeros(7, np.float32)}, protocol=4))
    with pytest.raises(ValueError, match="n\\(n-1\\)/2"):
        SmplDensePoseSurface(tmp_path)


def test_pdist_unpickler_refuses_anything_but_numpy(tmp_path):
    path = tmp_path / "Pdist_matrix.pkl"
    path.write_bytes(b"\x80\x02}U\x0cPdist_matrixcos\nsystem\nU\x04true\x85Rs.")
    with pytest.raises(pickle.UnpicklingError, match=r"os\.system"):
        load_condensed_pdist(path)
