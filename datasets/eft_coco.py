"""EFT pseudo-ground-truth SMPL fits for COCO (Joo et al., 3DV 2021): COCO-Part-EFT and
COCO-All-EFT, the body fine-tuning sets of CroCo-Body (Sec. 4.1).

Layout [V] facebookresearch/eft ``docs/README_dataformat.md`` and ``demo/visEFTFit_coco.py``
(``--img_dir .../coco/train2014``, ``--fit_data eft_fit/COCO2014-Part-ver01.json``)::

    <root>/train2014/COCO_train2014_%012d.jpg      COCO 2014 train images
    <json_path>                                    COCO2014-Part-ver01.json | COCO2014-All-ver01.json
                                                   (absolute, or relative to <root>)

The json is ``{"ver": ..., "data": [fit, ...]}``; one sample per fit, in file order. Fit keys [V]:
``parm_pose`` (24, 3, 3) rotation matrices, ``parm_shape`` (10,), ``parm_cam`` weak-perspective
``[scale, tx, ty]`` of the 224 px crop, ``bbox_center`` [x, y] and ``bbox_scale`` (SPIN convention:
the crop is a square of side ``200 * bbox_scale`` px around the centre), ``imageName`` (only its
base name is used), ``annotId`` (COCO annotation id; optional here); optional
``gt_keypoint_2d`` (49, 3) = 25 OpenPose + 24 SPIN joints, image pixels + validity [V] EFT
``eft/db_processing/eftToNpz.py``, ``joint_validity_openpose18``, ``smpltype``.

Targets: ``body_params`` = ``pose_rotmat`` (24, 3, 3) as stored, ``global_orient`` (3,) and
``body_pose`` (69,) as axis-angle, ``betas`` (10,), ``camera`` (3,) = ``parm_cam``; ``joints2d`` =
``gt_keypoint_2d`` when present; ``box`` = the SPIN crop square. No 3D joints, no intrinsics (the
fits use a weak-perspective camera); ``vertices`` need the SMPL model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crocohuman.core.images import read_rgb
from crocohuman.core.layout import as_array, load_json, need, require_dir
from crocohuman.core.rotations import matrix_to_axis_angle

from .sample import BenchmarkSample

LAYOUT = """\
  <root>/train2014/<imageName>                       (COCO 2014 train images)
  <json_path>: EFT fits, {"ver": ..., "data": [{"parm_pose", "parm_shape", "parm_cam",
               "bbox_center", "bbox_scale", "imageName", ...}, ...]}"""

SPIN_BOX_PIXELS = 200.0
"""SPIN's scale unit: ``bbox_scale`` 1 means a 200 px square."""


def _parse_fit(fit: dict, source: Path) -> tuple:
    """(image name, rotmats, betas, camera, SPIN crop box, 2D keypoints or None) of one fit."""
    cx, cy = as_array(need(fit, "bbox_center", source), (2,), source, "bbox_center", np.float64)
    half = 0.5 * SPIN_BOX_PIXELS * float(as_array(need(fit, "bbox_scale", source), (), source, "bbox_scale"))
    keypoints = fit.get("gt_keypoint_2d")
    return (
        Path(str(need(fit, "imageName", source))).name,
        as_array(need(fit, "parm_pose", source), (24, 3, 3), source, "parm_pose"),
        as_array(need(fit, "parm_shape", source), (10,), source, "parm_shape"),
        as_array(need(fit, "parm_cam", source), (3,), source, "parm_cam"),
        (cx - half, cy - half, cx + half, cy + half),
        None if keypoints is None else as_array(keypoints, (-1, 3), source, "gt_keypoint_2d"),
    )


class EftCoco:
    """EFT fits on COCO 2014 train, one sample per fit; see the module docstring."""

    name = "eft-coco"

    def __init__(self, root: str | Path, json_path: str | Path = "COCO2014-Part-ver01.json") -> None:
        self.root = require_dir(root, "EFT-COCO", LAYOUT)
        self.json_path = self.root / json_path  # an absolute json_path replaces the root
        data = load_json(self.json_path, "EFT-COCO", LAYOUT)
        fits = need(data, "data", self.json_path)
        if not isinstance(fits, list):
            raise ValueError(f"{self.json_path}: 'data' must be a list of fits")
        parsed = [_parse_fit(fit, self.json_path) for fit in fits]
        self._image_names = [p[0] for p in parsed]
        self._rotmats = np.array([p[1] for p in parsed], np.float32).reshape(-1, 24, 3, 3)
        self._betas = np.array([p[2] for p in parsed], np.float32).reshape(-1, 10)
        self._cameras = np.array([p[3] for p in parsed], np.float32).reshape(-1, 3)
        self._boxes = np.array([p[4] for p in parsed], np.float64).reshape(-1, 4)
        self._keypoints = [p[5] for p in parsed]
        self._annot_ids = [fit.get("annotId") for fit in fits]
        self.version = data.get("ver")

    def __len__(self) -> int:
        return len(self._image_names)

    def __getitem__(self, index: int) -> BenchmarkSample:
        rotmats = self._rotmats[index]
        axis_angle = matrix_to_axis_angle(rotmats).astype(np.float32)
        annot_id = self._annot_ids[index]
        name = self._image_names[index]
        return BenchmarkSample(
            image=read_rgb(self.root / "train2014" / name),
            box=tuple(float(v) for v in self._boxes[index]),
            key=f"eft-coco:{annot_id if annot_id is not None else f'{name}#{index}'}",
            joints2d=self._keypoints[index],
            body_params={
                "pose_rotmat": rotmats,
                "global_orient": axis_angle[0],
                "body_pose": axis_angle[1:].reshape(69),
                "betas": self._betas[index],
                "camera": self._cameras[index],
            },
            meta={"image_name": name, "annot_id": annot_id, "fit_index": index},
        )
