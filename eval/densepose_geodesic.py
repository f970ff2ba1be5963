"""Geodesic errors of DensePose (I, U, V) predictions, in centimetres, on two kinds of surface.

``SmplDensePoseSurface`` reproduces the official DensePose-COCO evaluation on the assets the user
downloaded (SMPL-derived, CC BY-NC; never shipped): a point goes to the nearest subdivided-SMPL
vertex of its part in (U, V), through ``SMPL_SUBDIV_TRANSFORM`` to one of 27554 vertices, and the
pair's distance is read from the condensed ``Pdist_matrix``. ``MeshChartSurface`` does the same for
our own charts (``crocohuman.render.body.parts``) on any labelled mesh, with heat-method geodesics.
Both give ``inf`` where the prediction has no part (I = 0), which RCP counts as incorrect.
"""

from __future__ import annotations

import io
import math
import pickletools
import struct
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.io import loadmat
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from crocohuman.core.conventions import NUM_PARTS
from crocohuman.core.pickles import FROMBUFFER, RECONSTRUCT, RestrictedUnpickler


class GeodesicSurface(Protocol):
    """Anything that turns (I, U, V) point pairs into geodesic distances in centimetres."""

    def distances(self, pred_iuv: np.ndarray, gt_iuv: np.ndarray) -> np.ndarray:
        """``pred_iuv``, ``gt_iuv`` [P, 3] (I in 0..24, U, V in [0, 1]) -> [P] cm, inf where pred I == 0."""
        ...


def _split_iuv(iuv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    iuv = np.asarray(iuv, np.float64)
    if iuv.ndim != 2 or iuv.shape[1] != 3:
        raise ValueError(f"expected (I, U, V) points [P, 3], got {iuv.shape}")
    return np.rint(iuv[:, 0]).astype(np.int64), iuv[:, 1:]


def _check_gt_parts(parts: np.ndarray, available: set[int]) -> None:
    missing = sorted(set(np.unique(parts).tolist()) - available)
    if missing:
        raise ValueError(f"ground-truth points carry part ids {missing}, which the surface does not have")


def densepose_errors(
    surface: GeodesicSurface, pred_iuv_image: np.ndarray, gt_points: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Geodesic error [P] (cm) of a dense IUV prediction at each annotated point.

    ``pred_iuv_image`` [H, W, 3] is in the same pixel frame as the points' ``x``, ``y`` (pixel
    centres at integers, ``conventions``); it is read at the nearest pixel. uint8 images hold U, V
    as ``round(255 u)`` (DensePose's format), float images hold them in [0, 1]. Points outside
    the image get I = 0, hence inf. ``gt_points`` has ``x, y, i, u, v`` (``BenchmarkSample.densepose``).
    """
    image = np.asarray(pred_iuv_image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an IUV image [H, W, 3], got {image.shape}")
    col = np.rint(np.asarray(gt_points["x"], np.float64)).astype(np.int64)
    row = np.rint(np.asarray(gt_points["y"], np.float64)).astype(np.int64)
    inside = (col >= 0) & (col < image.shape[1]) & (row >= 0) & (row < image.shape[0])
    pred = np.zeros((len(col), 3))
    pred[inside] = image[row[inside], col[inside]]
    if image.dtype == np.uint8:
        pred[:, 1:] /= 255.0
    gt = np.stack([np.asarray(gt_points[key], np.float64) for key in ("i", "u", "v")], 1)
    return surface.distances(pred, gt)


# --------------------------------------------------------------------------- official SMPL assets

SMPL_SUBDIV_FILE = "SMPL_subdiv.mat"
SUBDIV_TRANSFORM_FILE = "SMPL_SUBDIV_TRANSFORM.mat"
PDIST_FILE = "Pdist_matrix.pkl"
_MARKER = b"\x00croco-pdist-blob\x00"


class _ArrayStub:
    """Stands in for the big ndarray while its pickle is read without its data (dtype, shape, order)."""

    def __init__(self, data: object = None, dtype: object = None, shape: tuple = (), fortran: bool = False):
        self.data, self.dtype, self.shape, self.fortran = data, dtype, shape, fortran

    def __setstate__(self, state: tuple) -> None:  # ndarray.__reduce__ state, with or without version
        self.shape, self.dtype, self.fortran, self.data = state[-4:]


_PDIST_PURPOSE = f"{PDIST_FILE} may only hold numpy arrays"
_STUBS = {  # with these, the arrays of a pickle become _ArrayStubs (dtype, shape, order; no data)
    RECONSTRUCT: lambda _cls, _shape, _code: _ArrayStub(),
    FROMBUFFER: lambda buf, dtype, shape, order: _ArrayStub(buf, dtype, shape, order == "F"),
}


def _unpickle_pdist(file: io.BufferedIOBase, stub: bool) -> dict:
    """Numpy arrays and plain containers only; with ``stub`` the arrays become _ArrayStubs."""
    return RestrictedUnpickler(file, purpose=_PDIST_PURPOSE, substitutes=_STUBS if stub else None).load()


_OPS = {op.code.encode("latin1"): op for op in pickletools.opcodes}
_LENGTH_PREFIX = {-3: "<i", -4: "<I", -5: "<Q"}  # pickletools' TAKEN_FROM_ARGUMENT4/4U/8U
_RAW_BYTES = {"BINSTRING", "BINBYTES", "BINBYTES8", "BYTEARRAY8"}


def _scan_pickle(f: io.BufferedIOBase) -> list[tuple[str, int, int, int, int]]:
    """Every opcode as (name, start, end, data_offset, data_length), skipping long payloads unread."""
    ops = []
    while True:
        start = f.tell()
        code = f.read(1)
        if code not in _OPS:
            raise ValueError(f"{PDIST_FILE}: not a pickle stream (byte {code!r} at offset {start})")
        op, data_offset, length = _OPS[code], -1, 0
        if op.arg is not None and op.arg.n in _LENGTH_PREFIX:
            fmt = _LENGTH_PREFIX[op.arg.n]
            (length,) = struct.unpack(fmt, f.read(struct.calcsize(fmt)))
            data_offset = f.tell()
            f.seek(length, io.SEEK_CUR)
        elif op.arg is not None:
            op.arg.reader(f)
        ops.append((op.name, start, f.tell(), data_offset, length))
        if op.name == "STOP":
            return ops


def load_condensed_pdist(path: str | Path) -> np.ndarray:
    """The ``Pdist_matrix`` array of ``Pdist_matrix.pkl``, flat, without loading it into memory.

    The official file (a Python 2 latin1 pickle of ``{'Pdist_matrix': array}``, ~1.5 GB) stores
    the array's bytes as one raw string. We locate that payload by walking the opcodes, read the
    rest of the pickle (dtype, shape) with a restricted unpickler that sees a short marker in its
    place, and memory-map the payload: only the pages that queries touch are read, and they live
    in the OS page cache rather than in this process. A pickle that stores the data as text
    (protocol 0, or Python 3 at protocol <= 2) cannot be mapped; it is loaded whole (peak about
    three times the file size) and kept as float32.
    """
    path = Path(path)
    with open(path, "rb") as f:
        ops = _scan_pickle(f)
        longest = max(ops, key=lambda op: op[4])
        if longest[0] not in _RAW_BYTES:
            f.seek(0)
            array = _unpickle_pdist(f, stub=False)["Pdist_matrix"]
            return np.asarray(array, np.float32).reshape(-1)
        skeleton = bytearray()
        for name, start, end, _, _ in ops:
            if name == "FRAME":  # framing only batches reads; without it the stream stays valid
                continue
            if (name, start) == longest[:2]:
                skeleton += b"C" + bytes([len(_MARKER)]) + _MARKER  # SHORT_BINBYTES marker
                continue
            f.seek(start)
            skeleton += f.read(end - start)
    stub = _unpickle_pdist(io.BytesIO(bytes(skeleton)), stub=True)["Pdist_matrix"]
    if not isinstance(stub, _ArrayStub) or stub.data != _MARKER:
        raise ValueError(f"{path}: 'Pdist_matrix' is not the pickle's largest raw payload")
    dtype, shape = np.dtype(stub.dtype), tuple(stub.shape)
    if int(np.prod(shape)) * dtype.itemsize != longest[4]:
        raise ValueError(f"{path}: payload of {longest[4]} bytes does not hold a {dtype} array of shape {shape}")
    order = "F" if stub.fortran else "C"
    return np.memmap(path, dtype, mode="r", offset=longest[3], shape=shape, order=order).reshape(-1, order=order)


def _mat_vector(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"DensePose evaluation asset not found: {path}")
    data = loadmat(path)
    if key not in data:
        raise ValueError(f"{path}: no '{key}' variable (found {sorted(k for k in data if not k.startswith('__'))})")
    return np.asarray(data[key]).reshape(-1)


class SmplDensePoseSurface:
    """The official DensePose-COCO geodesic distances, from ``assets_dir`` as downloaded.

    Needs ``SMPL_subdiv.mat``, ``SMPL_SUBDIV_TRANSFORM.mat`` and ``Pdist_matrix.pkl`` (detectron2
    fetches them from ``dl.fbaipublicfiles.com/densepose/data/``). Distances in the matrix are in
    metres; we return centimetres. The matrix is memory-mapped (``load_condensed_pdist``).
    """

    def __init__(self, assets_dir: str | Path):
        assets_dir = Path(assets_dir)
        u = _mat_vector(assets_dir / SMPL_SUBDIV_FILE, "U_subdiv").astype(np.float64)
        v = _mat_vector(assets_dir / SMPL_SUBDIV_FILE, "V_subdiv").astype(np.float64)
        self.part_of_vertex = np.rint(_mat_vector(assets_dir / SMPL_SUBDIV_FILE, "Part_ID_subdiv")).astype(np.int64)
        # 1-based subdivided vertex -> 1-based Pdist vertex
        self.transform = np.rint(_mat_vector(assets_dir / SUBDIV_TRANSFORM_FILE, "index")).astype(np.int64)
        pdist_path = assets_dir / PDIST_FILE
        if not pdist_path.is_file():
            raise FileNotFoundError(f"DensePose evaluation asset not found: {pdist_path}")
        self.pdist = load_condensed_pdist(pdist_path)
        n = round((1 + math.sqrt(1 + 8 * len(self.pdist))) / 2)  # a Python int whatever the numpy version
        if n * (n - 1) // 2 != len(self.pdist):
            raise ValueError(f"{pdist_path}: {len(self.pdist)} entries is not n(n-1)/2 for any n")
        if not (len(u) == len(v) == len(self.part_of_vertex) == len(self.transform)):
            raise ValueError(f"{assets_dir}: subdivided-SMPL arrays and the transform disagree in length")
        if self.transform.min() < 1 or self.transform.max() > n:
            raise ValueError(f"{assets_dir / SUBDIV_TRANSFORM_FILE}: indices outside 1..{n}")
        self.num_vertices = n
        self.uv = np.stack([u, v], 1)
        self.part_vertices = {p: np.flatnonzero(self.part_of_vertex == p) for p in range(1, NUM_PARTS + 1)}

    def pdist_vertices(self, iuv: np.ndarray) -> np.ndarray:
        """0-based Pdist vertex of each point [P], -1 where I is not a part 1..24.

        Nearest subdivided vertex of the same part in (U, V) by Euclidean distance, first one on
        ties (``cdist`` + ``argmin`` as the official code), then ``index[vertex] - 1``.
        """
        parts, uv = _split_iuv(iuv)
        out = np.full(len(parts), -1, np.int64)
        for part, vertices in self.part_vertices.items():
            sel = np.flatnonzero(parts == part)
            for chunk in np.array_split(sel, max(1, len(sel) // 4096)):
                if len(chunk) and len(vertices):
                    nearest = vertices[cdist(uv[chunk], self.uv[vertices]).argmin(1)]
                    out[chunk] = self.transform[nearest] - 1
        return out

    def distances(self, pred_iuv: np.ndarray, gt_iuv: np.ndarray) -> np.ndarray:
        _check_gt_parts(_split_iuv(gt_iuv)[0], {p for p, vs in self.part_vertices.items() if len(vs)})
        i, j = self.pdist_vertices(gt_iuv), self.pdist_vertices(pred_iuv)
        a, b = np.minimum(i, j), np.maximum(i, j)
        out = np.full(len(i), np.inf)
        pair = (j >= 0) & (a != b)
        out[(j >= 0) & (a == b)] = 0.0
        # Condensed index of (a < b), 0-based: the official getDistancesUV formula reduces to this.
        k = b[pair] * (b[pair] - 1) // 2 + a[pair]
        out[pair] = 100.0 * np.asarray(self.pdist[k], np.float64)
        return out


# --------------------------------------------------------------------------- our charts, any mesh


class MeshChartSurface:
    """Geodesics on a mesh labelled with our 24-part charts (``parts.label_faces``), in cm.

    A point (I, U, V) goes to the mesh vertex of the face corner of part I nearest in (U, V);
    distances between vertices come from the heat method (potpourri3d), one solve per source
    vertex, cached (LRU) because the same vertices recur across an evaluation set.
    """

    def __init__(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        face_parts: np.ndarray,
        face_iuv: np.ndarray,
        cache_size: int = 1024,
    ):
        import potpourri3d

        self.vertices = np.asarray(vertices, np.float64)
        faces = np.asarray(faces, np.int64)
        face_parts, face_iuv = np.asarray(face_parts), np.asarray(face_iuv, np.float64)
        if face_parts.shape != (len(faces),) or face_iuv.shape != (len(faces), 3, 2):
            raise ValueError(
                f"face_parts {face_parts.shape} / face_iuv {face_iuv.shape} do not match {len(faces)} faces"
            )
        self.solver = potpourri3d.MeshHeatMethodDistanceSolver(self.vertices, faces)
        self.charts: dict[int, tuple[cKDTree, np.ndarray]] = {}
        for part in np.unique(face_parts[face_parts > 0]).tolist():
            sel = face_parts == part
            self.charts[part] = (cKDTree(face_iuv[sel].reshape(-1, 2)), faces[sel].reshape(-1))
        self.cache_size = cache_size
        self._rows: OrderedDict[int, np.ndarray] = OrderedDict()

    @classmethod
    def from_anny(cls, cache_size: int = 1024) -> MeshChartSurface:
        """anny's rest mesh with the labels our renderer draws (builds anny: slow the first time)."""
        from crocohuman.render.body.anny_body import AnnyBody

        body = AnnyBody()
        topology = body.topology
        return cls(body.rest_vertices, topology.faces, topology.face_parts, topology.face_iuv, cache_size)

    def mesh_vertices(self, iuv: np.ndarray) -> np.ndarray:
        """Mesh vertex of each point [P], -1 where the mesh has no face of part I."""
        parts, uv = _split_iuv(iuv)
        out = np.full(len(parts), -1, np.int64)
        for part, (tree, corner_vertices) in self.charts.items():
            sel = np.flatnonzero(parts == part)
            if len(sel):
                out[sel] = corner_vertices[tree.query(uv[sel])[1]]
        return out

    def geodesic_row(self, source: int) -> np.ndarray:
        """Heat-method distances (metres, float32) from vertex ``source`` to every vertex."""
        row = self._rows.get(source)
        if row is None:
            row = self.solver.compute_distance(int(source)).astype(np.float32)
            self._rows[source] = row
            if len(self._rows) > self.cache_size:
                self._rows.popitem(last=False)
        else:
            self._rows.move_to_end(source)
        return row

    def distances(self, pred_iuv: np.ndarray, gt_iuv: np.ndarray) -> np.ndarray:
        _check_gt_parts(_split_iuv(gt_iuv)[0], set(self.charts))
        gt, pred = self.mesh_vertices(gt_iuv), self.mesh_vertices(pred_iuv)
        out = np.full(len(gt), np.inf)
        for source in np.unique(gt[pred >= 0]).tolist():
            sel = np.flatnonzero((gt == source) & (pred >= 0))
            out[sel] = 100.0 * self.geodesic_row(source)[pred[sel]]
        return out
