"""3DPW (von Marcard et al., ECCV 2018), the body mesh recovery benchmark of CroCo-Body (Sec. 4.1).

Layout [V] SPIN ``datasets/preprocess/pw3d.py``, VIBE ``lib/data_utils/threedpw_utils.py``::

    <root>/sequenceFiles/{train,validation,test}/<seq>.pkl    Python 2 pickles, read with latin1
    <root>/imageFiles/<seq>/image_%05d.jpg                     image of frame t, t = 0..T-1

Pickle keys used (per-actor keys are lists with one entry per actor) [V] 3DPW readme, SPIN, VIBE:
``sequence`` (str), ``genders`` (list of 'm'/'f'), ``poses`` [A](T,72) SMPL axis-angle, world frame,
``betas`` [A](10+,) (the first 10 are used, as SPIN/VIBE do), ``trans`` [A](T,3),
``jointPositions`` [A](T,72) = 24 SMPL joints x xyz, world frame, metres, ``poses2d`` [A](T,3,18)
= OpenPose-COCO-18 rows (x, y, confidence), ``cam_poses`` (T,4,4) world->camera,
``cam_intrinsics`` (3,3), ``campose_valid`` [A](T,). Other keys (``v_template_clothed``,
``texture_maps``, 60 Hz data, ...) are ignored and not kept in memory.

Protocol [V] SPIN ``pw3d.py``: one sample per (sequence, actor, frame) with
``campose_valid[actor][frame]``, sequences sorted by file name, then actors, then frames (the
commonly quoted test count is 35,515 [U]). Targets:

* ``body_params``: ``global_orient`` (3,) rotated into the camera frame
  (``R_cam @ R(poses[:3])``, as SPIN and VIBE do), ``body_pose`` (69,), ``betas`` (10,),
  ``transl`` (3,) world-frame translation as stored, ``gender`` ('male'/'female', for the gendered
  GT mesh of the SPIN protocol) and ``world_to_camera`` (4, 4), so an evaluator with the SMPL
  files can build the camera-frame mesh.
* ``joints3d``: ``jointPositions`` moved to the camera frame, ``R X + t`` (24, 3) metres.
* ``joints2d``: ``poses2d`` transposed to (18, 3) pixels + confidence.
* ``box``: the joints with confidence > 0, grown by ``KEYPOINT_BOX_MARGIN`` per side (SPIN's
  ``1.2 * max(w, h)`` extent); if fewer than two are confident (SPIN would fail there), the
  projected 3D joints instead. ``vertices`` is None (needs the SMPL model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crocohuman.core.boxes import KEYPOINT_BOX_MARGIN, box_from_points
from crocohuman.core.camera import project, world_to_camera
from crocohuman.core.images import read_rgb
from crocohuman.core.layout import as_array, need, require_dir
from crocohuman.core.pickles import load_pickle
from crocohuman.core.rotations import rotate_axis_angle

from .sample import BenchmarkSample

LAYOUT = """\
  <root>/sequenceFiles/<split>/<seq>.pkl   (split: train | validation | test)
  <root>/imageFiles/<seq>/image_%05d.jpg"""

SPLITS = ("train", "validation", "test")
_GENDERS = {"m": "male", "f": "female", "male": "male", "female": "female"}


@dataclass(frozen=True)
class _Sequence:
    """The arrays of one sequence file that evaluation needs, validated once."""

    name: str
    genders: list[str]
    poses: np.ndarray  # (A, T, 72)
    betas: np.ndarray  # (A, 10)
    trans: np.ndarray  # (A, T, 3)
    joints: np.ndarray  # (A, T, 24, 3) world
    poses2d: np.ndarray  # (A, T, 18, 3)
    cam_poses: np.ndarray  # (T, 4, 4)
    intrinsics: np.ndarray  # (3, 3)
    valid: np.ndarray  # (A, T) bool


def _per_actor(data: dict, key: str, shape: tuple[int, ...], path: Path, actors: int) -> np.ndarray:
    entries = need(data, key, path)
    if len(entries) != actors:
        raise ValueError(f"{path}: {key!r} has {len(entries)} entries for {actors} actors")
    return np.stack([as_array(entry, shape, path, key) for entry in entries])


def _read_sequence(path: Path) -> _Sequence:
    data = load_pickle(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict of 3DPW fields, found {type(data).__name__}")
    genders_raw = [str(g) for g in need(data, "genders", path)]
    actors = len(genders_raw)
    cam_poses = as_array(need(data, "cam_poses", path), (-1, 4, 4), path, "cam_poses", np.float64)
    frames = len(cam_poses)
    if any(g not in _GENDERS for g in genders_raw):
        raise ValueError(f"{path}: 'genders' {genders_raw} must be 'm' or 'f'")
    betas = [as_array(b, (-1,), path, "betas") for b in need(data, "betas", path)]
    if len(betas) != actors or any(b.size < 10 for b in betas):
        raise ValueError(f"{path}: 'betas' needs {actors} entries of at least 10 values")
    return _Sequence(
        name=str(need(data, "sequence", path)),
        genders=[_GENDERS[g] for g in genders_raw],
        poses=_per_actor(data, "poses", (frames, 72), path, actors),
        betas=np.stack([b[:10] for b in betas]),
        trans=_per_actor(data, "trans", (frames, 3), path, actors),
        joints=_per_actor(data, "jointPositions", (frames, 24, 3), path, actors),
        poses2d=_per_actor(data, "poses2d", (frames, 3, 18), path, actors).transpose(0, 1, 3, 2),
        cam_poses=cam_poses,
        intrinsics=as_array(need(data, "cam_intrinsics", path), (3, 3), path, "cam_intrinsics"),
        valid=_per_actor(data, "campose_valid", (frames,), path, actors).astype(bool),
    )


class ThreeDPW:
    """3DPW split as (sequence, actor, valid frame) samples; see the module docstring."""

    name = "3dpw"

    def __init__(self, root: str | Path, split: str = "test") -> None:
        if split not in SPLITS:
            raise ValueError(f"3DPW split must be one of {SPLITS}, not {split!r}")
        self.root = require_dir(root, "3DPW", LAYOUT)
        folder = require_dir(self.root / "sequenceFiles" / split, "3DPW", LAYOUT)
        files = sorted(folder.glob("*.pkl"))
        if not files:
            raise FileNotFoundError(f"3DPW: no .pkl files in {folder}; expected layout:\n{LAYOUT}")
        self.sequences = [_read_sequence(path) for path in files]
        index = [(s, a, t) for s, seq in enumerate(self.sequences) for a, t in zip(*np.nonzero(seq.valid))]
        self._index = np.array(index, dtype=np.int64).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> BenchmarkSample:
        s, a, t = (int(v) for v in self._index[index])
        seq = self.sequences[s]
        extrinsics = seq.cam_poses[t]
        rotation = extrinsics[:3, :3]
        joints2d = seq.poses2d[a, t]
        pose = seq.poses[a, t]
        joints3d = world_to_camera(seq.joints[a, t], extrinsics[:3])
        box = box_from_points(joints2d, joints2d[:, 2] > 0, KEYPOINT_BOX_MARGIN) or box_from_points(
            project(joints3d, seq.intrinsics), None, KEYPOINT_BOX_MARGIN
        )
        return BenchmarkSample(
            image=read_rgb(self.root / "imageFiles" / seq.name / f"image_{t:05d}.jpg"),
            box=box,
            key=f"3dpw:{seq.name}/actor{a}/frame{t:05d}",
            joints3d=joints3d.astype(np.float32),
            joints2d=joints2d.astype(np.float32),
            body_params={
                "global_orient": rotate_axis_angle(rotation, pose[:3]),
                "body_pose": pose[3:].astype(np.float32),
                "betas": seq.betas[a].astype(np.float32),
                "transl": seq.trans[a, t].astype(np.float32),
                "gender": np.array(seq.genders[a]),
                "world_to_camera": extrinsics.astype(np.float32),
            },
            intrinsics=seq.intrinsics.astype(np.float32),
            meta={"sequence": seq.name, "actor": a, "frame": t},
        )
