"""DensePose geodesics on an analytic sphere and on tiny assets in the official file formats."""

from __future__ import annotations

import pickle
import struct
import warnings

import numpy as np
import pytest
from scipy.io import savemat

from crocohuman.eval.densepose_geodesic import (
    MeshChartSurface,
    SmplDensePoseSurface,
    densepose_errors,
    load_condensed_pdist,
)

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
