"""FreiHAND v2 (Zimmermann et al., ICCV 2019), the hand mesh recovery benchmark of CroCo-Hand.

Layout [V] lmb-freiburg/freihand ``utils/fh_utils.py`` (``load_db_annotation``, ``read_img``,
``sample_version``), ``eval.py``::

    <root>/<split>/rgb/%08d.jpg          split: training | evaluation
    <root>/<split>_K.json                list of 3x3 intrinsics                      (required)
    <root>/<split>_xyz.json              list of 21x3 joints, metres, camera frame  (required)
    <root>/<split>_verts.json            list of 778x3 MANO vertices, metres        (optional)
    <root>/<split>_mano.json             list of [1 x 61] MANO fits                 (optional)
    <root>/<split>_scale.json            list of floats, metric length of bone 9-10 (optional)

The evaluation split has one image per annotation (3960). The training split holds each of its
32560 annotations in four colour versions ``gs, hom, sample, auto``: image id
``idx + 32560 * version_index``, annotation ``image_id % 32560`` [V] ``sample_version.map_id``;
here 32560 is the length of ``<split>_K.json``. ``versions`` picks which (default: all four for
training, ``gs`` only, the sole valid choice, for evaluation). Samples are version-major, i.e.
in image-id order.

The 61 MANO values split as pose[0:48] (axis-angle global 3 + 45, not PCA; the toolbox builds
MANO with ``flat_hand_mean=False``), shape[48:58], ``uv_root``[58:60], ``scale``[60] [V] toolbox
``split_theta`` / ``recover_root`` (some third-party loaders read [58:61] as a translation; the
official toolbox does not). They go to ``body_params`` as ``global_orient`` (3,),
``hand_pose`` (45,), ``betas`` (10,), ``uv_root`` (2,), ``scale`` (1,).

Targets: ``joints3d`` = xyz (21, 3) metres camera frame, joint order wrist, thumb 1-4, index,
middle, ring, pinky (tips last); ``joints2d`` = ``K``-projection of xyz + visibility 1;
``vertices`` (778, 3); ``intrinsics`` = K; ``box`` = projected joints grown by ``KEYPOINT_BOX_MARGIN``;
``meta['bone_scale']`` from ``<split>_scale.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crocohuman.core.boxes import KEYPOINT_BOX_MARGIN, box_from_points
from crocohuman.core.camera import project
from crocohuman.core.images import read_rgb
from crocohuman.core.layout import as_array, load_json, require_dir

from .sample import BenchmarkSample

LAYOUT = """\
  <root>/<split>/rgb/%08d.jpg                        (split: training | evaluation)
  <root>/<split>_K.json, <root>/<split>_xyz.json     (required)
  <root>/<split>_verts.json, _mano.json, _scale.json (optional)"""

SPLITS = ("training", "evaluation")
VERSIONS = ("gs", "hom", "sample", "auto")


class FreiHand:
    """FreiHAND v2 split, one sample per image; see the module docstring."""

    name = "freihand"

    def __init__(self, root: str | Path, split: str = "evaluation", versions: tuple[str, ...] | None = None) -> None:
        if split not in SPLITS:
            raise ValueError(f"FreiHAND split must be one of {SPLITS}, not {split!r}")
        versions = versions or (VERSIONS if split == "training" else ("gs",))
        unknown = [v for v in versions if v not in VERSIONS]
        if unknown or (split == "evaluation" and tuple(versions) != ("gs",)):
            raise ValueError(
                f"FreiHAND {split} versions must be among {VERSIONS} ('gs' only for evaluation), not {versions}"
            )
        self.root = require_dir(root, "FreiHAND", LAYOUT)
        self.split = split
        self.version_ids = [VERSIONS.index(v) for v in versions]
        self.intrinsics = self._annotation("K", (3, 3))
        count = len(self.intrinsics)
        self.xyz = self._annotation("xyz", (21, 3), count)
        self.verts = self._annotation("verts", (778, 3), count, optional=True)
        self.mano = self._annotation("mano", (61,), count, optional=True)
        self.bone_scale = self._annotation("scale", (), count, optional=True)

    def _annotation(
        self, field: str, shape: tuple[int, ...], count: int | None = None, optional: bool = False
    ) -> np.ndarray | None:
        path = self.root / f"{self.split}_{field}.json"
        if optional and not path.is_file():
            return None
        values = load_json(path, "FreiHAND", LAYOUT)
        if not isinstance(values, list) or (count is not None and len(values) != count):
            raise ValueError(
                f"{path}: expected a list of {count if count is not None else 'N'} entries, "
                f"found {len(values) if isinstance(values, list) else type(values).__name__}"
            )
        return as_array(values, (len(values), *shape), path, field)

    def __len__(self) -> int:
        return len(self.version_ids) * len(self.intrinsics)

    def __getitem__(self, index: int) -> BenchmarkSample:
        count = len(self.intrinsics)
        if not 0 <= index < len(self):
            raise IndexError(f"FreiHAND {self.split}: index {index} outside [0, {len(self)})")
        version, idx = self.version_ids[index // count], index % count
        image_id = idx + count * version
        intrinsics = self.intrinsics[idx]
        xyz = self.xyz[idx]
        uv = project(xyz, intrinsics)
        body_params = {}
        if self.mano is not None:
            theta = self.mano[idx]
            body_params = {
                "global_orient": theta[:3],
                "hand_pose": theta[3:48],
                "betas": theta[48:58],
                "uv_root": theta[58:60],
                "scale": theta[60:61],
            }
        return BenchmarkSample(
            image=read_rgb(self.root / self.split / "rgb" / f"{image_id:08d}.jpg"),
            box=box_from_points(uv, None, KEYPOINT_BOX_MARGIN),
            key=f"freihand:{self.split}/{image_id:08d}",
            joints3d=xyz,
            joints2d=np.concatenate([uv, np.ones((len(uv), 1))], axis=1).astype(np.float32),
            vertices=None if self.verts is None else self.verts[idx],
            body_params=body_params,
            intrinsics=intrinsics,
            meta={
                "version": VERSIONS[version],
                "annotation_index": idx,
                "image_id": image_id,
                **({} if self.bone_scale is None else {"bone_scale": float(self.bone_scale[idx])}),
            },
        )
