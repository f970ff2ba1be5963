"""InterHand2.6M (Moon et al., ECCV 2020) single-hand crops with 3D targets, for evaluating hand
models on a held-out split.

Layout [V] facebookresearch/InterHand2.6M ``data/InterHand2.6M/dataset.py``, README::

    <root>/images/<split>/<file_name>                  Capture<k>/<seq>/cam<c>/image<frame>.jpg
    <root>/annotations/<split>/InterHand2.6M_<split>_data.json          (v1.0 releases)
    <root>/annotations/<split>/InterHand2.6M_<split>_camera.json
    <root>/annotations/<split>/InterHand2.6M_<split>_joint_3d.json
    <root>/annotations/<split>/InterHand2.6M_<split>_MANO_NeuralAnnot.json   (optional)
    (annotations/all/... , the v0.0 layout, is read when annotations/<split>/ is absent)

``_data.json`` is COCO-style: ``images[]`` (``id``, ``file_name``, ``capture``, ``seq_name``,
``camera``, ``frame_idx``) and ``annotations[]`` (``image_id``, ``bbox`` [x, y, w, h],
``joint_valid`` 42, ``hand_type`` right | left | interacting, ``hand_type_valid``). ``_camera.json``:
``{capture: {campos: {cam: [3]}, camrot: {cam: 3x3}, focal: {cam: [fx, fy]}, princpt: {cam:
[cx, cy]}}}`` in mm. ``_joint_3d.json``: ``{capture: {frame_idx: {world_coord: 42x3 mm}}}``; joints
0-20 are the right hand (root 20), 21-41 the left (root 41). ``_MANO_NeuralAnnot.json``:
``{capture: {frame_idx: {right|left: null | {pose: 48, shape: 10, trans: 3}}}}``, world frame, metres.

One sample per annotation with ``hand_type`` right or left, in file order. Targets:

* ``joints3d`` (21, 3) metres, camera frame: ``R (X_world - campos) / 1000`` [V] ``world2cam``.
* ``joints2d`` (21, 3): pinhole projection + validity, where a joint is valid when it and its
  hand's root are annotated (the dataset code's rule).
* ``box``: the annotation ``bbox`` as is (InterHand's own code enlarges it by 1.25 to a fixed
  aspect ratio before cropping; crop code may do the same).
* ``body_params`` when a MANO fit exists: ``global_orient`` (3,) rotated into the camera frame,
  ``hand_pose`` (45,), ``betas`` (10,), ``transl`` (3,) world-frame translation as stored and
  ``world_to_camera`` (4, 4, metres); the camera-frame translation needs the MANO root joint
  (InterHand's ``tool/MANO_world_to_camera/convert.py``), so it is left to an evaluator with MANO.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crocohuman.core.boxes import Box, box_from_xywh
from crocohuman.core.camera import project
from crocohuman.core.images import read_rgb
from crocohuman.core.layout import as_array, load_json, need, require_dir
from crocohuman.core.rotations import rotate_axis_angle

from .sample import BenchmarkSample

LAYOUT = """\
  <root>/images/<split>/<file_name>
  <root>/annotations/<split>/InterHand2.6M_<split>_{data,camera,joint_3d}.json
  <root>/annotations/<split>/InterHand2.6M_<split>_MANO_NeuralAnnot.json   (optional)"""

HAND_JOINTS = {"right": slice(0, 21), "left": slice(21, 42)}
HAND_ROOT = {"right": 20, "left": 41}
MM = 1000.0


@dataclass(frozen=True)
class _Camera:
    rotation: np.ndarray  # (3, 3) world -> camera
    position: np.ndarray  # (3,) camera centre, mm
    intrinsics: np.ndarray  # (3, 3)


@dataclass(frozen=True)
class _Crop:
    file_name: str
    capture: str
    seq_name: str
    camera: str
    frame: str
    hand: str
    box: Box
    valid: np.ndarray  # (21,) bool


def annotation_folder(root: Path, split: str) -> Path:
    """The folder holding ``InterHand2.6M_<split>_data.json``: ``annotations/<split>/``, else ``annotations/all/``."""
    for folder in (root / "annotations" / split, root / "annotations" / "all"):
        if (folder / f"InterHand2.6M_{split}_data.json").is_file():
            return folder
    raise FileNotFoundError(
        f"InterHand2.6M: no InterHand2.6M_{split}_data.json in {root / 'annotations' / split} "
        f"(or annotations/all); expected layout:\n{LAYOUT}"
    )


def _cameras(path: Path) -> dict[tuple[str, str], _Camera]:
    cameras = {}
    for capture, fields in load_json(path, "InterHand2.6M", LAYOUT).items():
        for cam, rotation in need(fields, "camrot", path).items():
            fx, fy = as_array(need(need(fields, "focal", path), cam, path), (2,), path, "focal", np.float64)
            cx, cy = as_array(need(need(fields, "princpt", path), cam, path), (2,), path, "princpt", np.float64)
            cameras[str(capture), str(cam)] = _Camera(
                rotation=as_array(rotation, (3, 3), path, "camrot", np.float64),
                position=as_array(need(need(fields, "campos", path), cam, path), (3,), path, "campos", np.float64),
                intrinsics=np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64),
            )
    return cameras


class InterHandCrops:
    """InterHand2.6M single-hand annotations of one split; see the module docstring."""

    name = "interhand"

    def __init__(self, root: str | Path, split: str = "test") -> None:
        self.root = require_dir(root, "InterHand2.6M", LAYOUT)
        self.split = split
        folder = annotation_folder(self.root, split)
        prefix = folder / f"InterHand2.6M_{split}"
        data_path = Path(f"{prefix}_data.json")
        data = load_json(data_path, "InterHand2.6M", LAYOUT)
        images = {need(image, "id", data_path): image for image in need(data, "images", data_path)}
        self._crops = [
            self._crop(ann, images, data_path)
            for ann in need(data, "annotations", data_path)
            if need(ann, "hand_type", data_path) in HAND_JOINTS
        ]
        self._cameras = _cameras(Path(f"{prefix}_camera.json"))
        self._joints = self._world_joints(Path(f"{prefix}_joint_3d.json"))
        mano_path = Path(f"{prefix}_MANO_NeuralAnnot.json")
        self._mano = self._mano_fits(mano_path) if mano_path.is_file() else {}
        for crop in self._crops:
            if (crop.capture, crop.camera) not in self._cameras:
                raise ValueError(f"{prefix}_camera.json: missing capture {crop.capture} camera {crop.camera}")

    def _crop(self, ann: dict, images: dict, path: Path) -> _Crop:
        image = images.get(need(ann, "image_id", path))
        if image is None:
            raise ValueError(f"{path}: annotation {ann.get('id')} names unknown image {ann['image_id']}")
        hand = ann["hand_type"]
        valid = as_array(need(ann, "joint_valid", path), (42,), path, "joint_valid") > 0
        return _Crop(
            file_name=str(need(image, "file_name", path)),
            capture=str(need(image, "capture", path)),
            seq_name=str(image.get("seq_name", "")),
            camera=str(need(image, "camera", path)),
            frame=str(need(image, "frame_idx", path)),
            hand=hand,
            box=box_from_xywh(need(ann, "bbox", path), path),
            valid=valid[HAND_JOINTS[hand]] & valid[HAND_ROOT[hand]],
        )

    def _world_joints(self, path: Path) -> dict[tuple[str, str], np.ndarray]:
        """The 42 world joints (mm) of every (capture, frame) some crop needs, as compact arrays."""
        joints = load_json(path, "InterHand2.6M", LAYOUT)
        wanted = {(c.capture, c.frame) for c in self._crops}
        out = {}
        for capture, frame in wanted:
            record = need(need(joints, capture, path), frame, path)
            out[capture, frame] = as_array(need(record, "world_coord", path), (42, 3), path, "world_coord")
        return out

    def _mano_fits(self, path: Path) -> dict[tuple[str, str, str], dict[str, np.ndarray]]:
        fits = load_json(path, "InterHand2.6M", LAYOUT)
        out = {}
        for crop in self._crops:
            fit = fits.get(crop.capture, {}).get(crop.frame, {}).get(crop.hand)
            if fit:
                out[crop.capture, crop.frame, crop.hand] = {
                    key: as_array(need(fit, key, path), (size,), path, key)
                    for key, size in (("pose", 48), ("shape", 10), ("trans", 3))
                }
        return out

    def __len__(self) -> int:
        return len(self._crops)

    def __getitem__(self, index: int) -> BenchmarkSample:
        crop = self._crops[index]
        camera = self._cameras[crop.capture, crop.camera]
        world = self._joints[crop.capture, crop.frame][HAND_JOINTS[crop.hand]]
        joints3d = (world - camera.position) @ camera.rotation.T / MM
        uv = project(joints3d, camera.intrinsics)
        body_params = {}
        fit = self._mano.get((crop.capture, crop.frame, crop.hand))
        if fit is not None:
            world_to_camera = np.eye(4)
            world_to_camera[:3, :3] = camera.rotation
            world_to_camera[:3, 3] = -camera.rotation @ camera.position / MM
            body_params = {
                "global_orient": rotate_axis_angle(camera.rotation, fit["pose"][:3]),
                "hand_pose": fit["pose"][3:],
                "betas": fit["shape"],
                "transl": fit["trans"],
                "world_to_camera": world_to_camera.astype(np.float32),
            }
        return BenchmarkSample(
            image=read_rgb(self.root / "images" / self.split / crop.file_name),
            box=crop.box,
            key=f"interhand:{self.split}/{crop.capture}/{crop.seq_name}/cam{crop.camera}/{crop.frame}/{crop.hand}",
            joints3d=joints3d.astype(np.float32),
            joints2d=np.concatenate([uv, crop.valid[:, None]], axis=1).astype(np.float32),
            body_params=body_params,
            intrinsics=camera.intrinsics.astype(np.float32),
            meta={
                "capture": crop.capture,
                "seq_name": crop.seq_name,
                "camera": crop.camera,
                "frame": crop.frame,
                "hand": crop.hand,
            },
        )
