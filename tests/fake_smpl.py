"""Tiny fake SMPL-family model files (random numbers in the real files' exact layout) for tests.

The real files are licensed and cannot live in the repository. The fake body is a crude humanoid:
a small icosahedron around every joint of an idealised skeleton and a tube along every bone, each
skinned one-hot to one joint (the parent for a bone, as SMPL's limbs are driven by their proximal
joint). ``J_regressor`` averages each joint's icosahedron, so the joints regress back exactly to
the skeleton. Shape and pose blend shapes are small random numbers.
"""

from __future__ import annotations

import pickle
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse
import trimesh

from crocohuman.core.conventions import SMPL_PARENTS, SMPL_TPOSE_JOINTS

ROOT_PARENT = 4294967295  # how SMPL's kintree_table marks the root (uint32 -1)
FINGERS = ("index", "middle", "pinky", "ring", "thumb")  # MANO / SMPL-H finger order
MANO_VERTICES = 778
FREIHAND_TIPS = {"thumb": 744, "index": 320, "middle": 443, "ring": 555, "pinky": 672}  # FreiHAND toolbox's fingertips


def hand_skeleton(wrist: np.ndarray, side: float, wrist_index: int, first_index: int) -> tuple[np.ndarray, list[int]]:
    """15 finger joints (3 per finger, MANO order) pointing along ``side`` * X from ``wrist``."""
    joints, parents = [], []
    for f, finger in enumerate(FINGERS):
        spread = -0.03 if finger == "thumb" else 0.02 * (f - 1.5)
        for k in range(3):
            joints.append(wrist + np.array([side * (0.06 + 0.03 * k), -0.01, spread]))
            parents.append(wrist_index if k == 0 else first_index + 3 * f + k - 1)
    return np.array(joints), parents


def fake_skeleton(model_type: str) -> tuple[np.ndarray, list[int]]:
    """Rest joints (J, 3) in the SMPL canonical frame and parents (-1 for the root) of a model type."""
    body, body_parents = SMPL_TPOSE_JOINTS, list(SMPL_PARENTS)
    if model_type == "smpl":
        return body.copy(), body_parents
    if model_type == "mano":
        fingers, parents = hand_skeleton(body[21], -1.0, 0, 1)
        return np.concatenate([body[21:22], fingers]), [-1, *parents]
    joints, parents = [body[:22]], body_parents[:22]
    if model_type == "smplx":  # jaw, left eye, right eye
        joints.append(body[15] + [[0.0, -0.05, 0.05], [0.03, 0.03, 0.08], [-0.03, 0.03, 0.08]])
        parents += [15, 15, 15]
    for wrist, side in ((20, 1.0), (21, -1.0)):
        fingers, finger_parents = hand_skeleton(body[wrist], side, wrist, len(parents))
        joints.append(fingers)
        parents += finger_parents
    return np.concatenate(joints), parents


def _tube(start: np.ndarray, end: np.ndarray, rings: int, sides: int = 8, radius: float = 0.03):
    """Vertices and faces of an open tube along a bone, between 20% and 80% of its length."""
    axis = (end - start) / np.linalg.norm(end - start)
    helper = [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0]
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    angles = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    circle = radius * (np.cos(angles)[:, None] * e1 + np.sin(angles)[:, None] * e2)
    centres = start + np.linspace(0.2, 0.8, rings)[:, None] * (end - start)
    vertices = (centres[:, None] + circle[None]).reshape(-1, 3)
    faces = []
    for r in range(rings - 1):
        for s in range(sides):
            a, b = r * sides + s, r * sides + (s + 1) % sides
            faces += [(a, b, a + sides), (b, b + sides, a + sides)]
    return vertices, np.array(faces)


def fake_model_arrays(model_type: str = "smpl", seed: int = 0, rings: int = 4) -> dict[str, np.ndarray]:
    """A fake model's arrays (dense ``J_regressor``) in the layout of the real ``model_type`` files."""
    rng = np.random.default_rng(seed)
    joints, parents = fake_skeleton(model_type)
    sphere = trimesh.creation.icosahedron()
    vertices, faces, owner, regressed_by = [], [], [], []
    count = 0
    for j, centre in enumerate(joints):
        vertices.append(centre + 0.02 * sphere.vertices)
        faces.append(sphere.faces + count)
        owner += [j] * len(sphere.vertices)
        regressed_by += [j] * len(sphere.vertices)
        count += len(sphere.vertices)
    for child, parent in enumerate(parents):
        if parent < 0:
            continue
        tube_vertices, tube_faces = _tube(joints[parent], joints[child], rings)
        vertices.append(tube_vertices)
        faces.append(tube_faces + count)
        owner += [parent] * len(tube_vertices)
        regressed_by += [-1] * len(tube_vertices)
        count += len(tube_vertices)
    num_joints, owner, regressed_by = len(joints), np.array(owner), np.array(regressed_by)
    regressor = (regressed_by[None] == np.arange(num_joints)[:, None]).astype(np.float64)
    num_shape = 20 if model_type == "smplx" else 10  # SMPL-X files also hold expression directions
    arrays = {
        "v_template": np.concatenate(vertices),
        "shapedirs": rng.normal(0.0, 0.01, (count, 3, num_shape)),
        "posedirs": rng.normal(0.0, 0.001, (count, 3, 9 * (num_joints - 1))),
        "J_regressor": regressor / regressor.sum(1, keepdims=True),
        "weights": np.eye(num_joints)[owner],
        "kintree_table": np.array([[ROOT_PARENT if p < 0 else p for p in parents], range(num_joints)], np.int64),
        "f": np.concatenate(faces).astype(np.uint32),
    }
    if model_type == "smplx":
        arrays["lmk_faces_idx"] = rng.integers(0, len(arrays["f"]), 51)
        arrays["lmk_bary_coords"] = rng.dirichlet(np.ones(3), 51)
    return arrays


def write_fake_model_npz(path: str | Path, model_type: str = "smpl", seed: int = 0, rings: int = 4) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **fake_model_arrays(model_type, seed, rings))
    return path


def fake_mano_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """A fake right-hand MANO with the real file's 778 vertices and hand keys: the fake hand padded
    with wrist vertices (joined to the wrist by degenerate faces, so no vertex is isolated), the
    fingertip vertices of smplx and of FreiHAND's toolbox put one phalanx past each finger's last
    joint and skinned to it, and a non-zero ``hands_mean`` (FreiHAND's poses are offsets from it)."""
    from smplx.vertex_ids import vertex_ids

    arrays = fake_model_arrays("mano", seed)
    count = len(arrays["v_template"])
    pad = MANO_VERTICES - count
    for key in ("v_template", "shapedirs", "posedirs", "weights"):
        arrays[key] = np.concatenate([arrays[key], np.repeat(arrays[key][:1], pad, 0)])
    arrays["J_regressor"] = np.concatenate([arrays["J_regressor"], np.zeros((len(arrays["J_regressor"]), pad))], 1)
    padding = np.arange(count, MANO_VERTICES)
    arrays["f"] = np.concatenate([arrays["f"], np.stack([0 * padding, 0 * padding + 1, padding], 1).astype(np.uint32)])
    joints, _ = fake_skeleton("mano")
    for finger, vertex in vertex_ids["mano"].items():  # tubes and padding: no joint is regressed from them
        last = 3 * FINGERS.index(finger) + 3
        for tip in (vertex, FREIHAND_TIPS[finger]):
            arrays["v_template"][tip] = 2 * joints[last] - joints[last - 1]
            arrays["weights"][tip] = np.eye(len(joints))[last]
    rng = np.random.default_rng(seed + 1)
    arrays["hands_mean"] = rng.normal(0.0, 0.2, 45)
    arrays["hands_components"] = np.linalg.qr(rng.normal(size=(45, 45)))[0]
    return arrays


def write_fake_mano_npz(path: str | Path, seed: int = 0) -> Path:
    """A fake ``MANO_RIGHT.npz`` (see ``fake_mano_arrays``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **fake_mano_arrays(seed))
    return path


def write_fake_smpl_npz(path: str | Path, seed: int = 0) -> Path:
    """A fake SMPL .npz (all arrays plain, ``J_regressor`` dense)."""
    return write_fake_model_npz(path, "smpl", seed)


@contextmanager
def _importable_fake_chumpy():
    """A throwaway ``chumpy.ch.Ch`` class, importable while pickling so the file names it as SMPL's do."""
    package, module = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    ch_class = type("Ch", (), {"__module__": "chumpy.ch"})
    module.Ch, package.ch = ch_class, module
    saved = {name: sys.modules.get(name) for name in ("chumpy", "chumpy.ch")}
    sys.modules.update({"chumpy": package, "chumpy.ch": module})
    try:
        yield ch_class
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def write_fake_smpl_pkl(path: str | Path, seed: int = 0) -> Path:
    """A fake legacy SMPL .pkl: ``v_template``/``shapedirs`` wrapped in chumpy ``Ch`` objects (state
    ``{'x': array, ...}`` as chumpy pickles them), ``J_regressor`` a scipy CSC matrix, pickle protocol 2."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = fake_model_arrays("smpl", seed)
    arrays["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    with _importable_fake_chumpy() as ch_class:
        for key in ("v_template", "shapedirs"):
            wrapped = ch_class()
            wrapped.__dict__.update(
                x=arrays[key], _dirty_vars=set(), _itr=None, _depends_on_deps={}, _make_dense=False, _make_sparse=False
            )
            arrays[key] = wrapped
        payload = pickle.dumps({**arrays, "bs_style": "lbs", "bs_type": "lrotmin"}, protocol=2)
    path.write_bytes(payload)
    return path
