"""Our rendered takes (``croco-render`` shards, docs/data-format.md) as a benchmark: held-out takes
scored like a real dataset, with exact dense labels.

Layout: ``<root>/shard-%06d.tar`` (WebDataset tars of takes; ``manifest.json`` is not needed).
One sample per (take, t, v) image: shards sorted, takes in shard order, then t, then v; ``frames``
and ``views`` select time steps and cameras ('all' or a list of indices; indices a take lacks are
skipped). Targets, all exact:

* ``joints3d``: the take's world joints at t in the camera frame of view v, ``R X + t`` (24, 3)
  metres, SMPL joint order; ``joints2d``: the stored projection (24, 2) + visibility 1.
* ``mask`` = parts > 0, ``parts`` (H, W) DensePose part ids, ``iuv`` (H, W, 3) (I, U*255, V*255)
  in our own per-part charts (not the SMPL DensePose charts); ``intrinsics`` of view v.
* ``box``: the mask's extent grown by ``KEYPOINT_BOX_MARGIN`` per side (the joints' box if the person is
  out of view).
* ``body_params``: the take's ``body.*`` arrays; per-frame ones (two or more dimensions, leading
  size T) are taken at t, per-take ones (betas, phenotypes, gender, ground_offset) kept whole;
  ``global_orient`` is rotated into the camera frame of view v (as the 3DPW reader does).
* ``meta``: body model, take key, motion, t, v.

Decoding is lazy and random-access: the constructor reads tar headers only (``index_shard``);
``__getitem__`` reads the take's small meta/arrays files and the three images of (t, v), by offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crocohuman.core.boxes import KEYPOINT_BOX_MARGIN, box_from_mask, box_from_points
from crocohuman.core.camera import world_to_camera
from crocohuman.core.layout import require_dir
from crocohuman.core.rotations import rotate_axis_angle
from crocohuman.core.shard_names import parse_image_field
from crocohuman.core.shards import decode_image, decode_record, index_shard, list_shards, read_member

from .sample import BenchmarkSample

LAYOUT = """\
  <root>/shard-%06d.tar      (croco-render output, docs/data-format.md)"""


def _take_grid(fields: dict) -> tuple[int, int]:
    """(frames, views) of a take from its image file names."""
    pairs = [(t, v) for t, v, kind in filter(None, map(parse_image_field, fields)) if kind == "rgb"]
    return (max(t for t, _ in pairs) + 1, max(v for _, v in pairs) + 1) if pairs else (0, 0)


def _pick(selection: str | Sequence[int], count: int) -> list[int]:
    return list(range(count)) if selection == "all" else [i for i in selection if 0 <= i < count]


class SyntheticTakes:
    """Rendered takes, one sample per image; see the module docstring."""

    name = "synthetic"

    def __init__(
        self, root: str | Path, frames: str | Sequence[int] = "all", views: str | Sequence[int] = "all"
    ) -> None:
        self.root = require_dir(root, "synthetic takes", LAYOUT)
        self.shards = list_shards(self.root)
        if not self.shards:
            raise FileNotFoundError(f"synthetic takes: no shard-*.tar in {self.root}; expected layout:\n{LAYOUT}")
        index, self._fields = [], []
        for s, shard in enumerate(self.shards):
            for fields in index_shard(shard).values():
                take_frames, take_views = _take_grid(fields)
                index += [
                    (s, len(self._fields), t, v) for t in _pick(frames, take_frames) for v in _pick(views, take_views)
                ]
                self._fields.append(fields)
        self._index = np.array(index, dtype=np.int64).reshape(-1, 4)

    def _read(self, shard: int, take: int, field: str) -> bytes:
        try:
            offset, size = self._fields[take][field]
        except KeyError:
            raise ValueError(f"{self.shards[shard]}: a take lacks its {field} file") from None
        return read_member(self.shards[shard], offset, size)

    def _image(self, shard: int, take: int, field: str) -> np.ndarray:
        name = next((f for f in (field + ".jpg", field + ".png") if f in self._fields[take]), field + ".png")
        try:
            return decode_image(self._read(shard, take, name))
        except OSError as error:
            raise ValueError(f"{self.shards[shard]}: unreadable {name} ({error})") from error

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> BenchmarkSample:
        shard, take, t, v = (int(x) for x in self._index[index])
        meta, arrays = decode_record(self._read(shard, take, "meta.json"), self._read(shard, take, "arrays.npz"))
        stem = f"t{t:02d}.v{v:02d}"
        rgb = self._image(shard, take, f"{stem}.rgb")[..., :3]
        parts = self._image(shard, take, f"{stem}.parts")
        iuv = self._image(shard, take, f"{stem}.iuv")
        extrinsics = arrays["extrinsics"][v].astype(np.float64)
        joints2d = arrays["joints2d"][t, v]
        mask = parts > 0
        height, width = mask.shape
        box = (
            box_from_mask(mask, KEYPOINT_BOX_MARGIN)
            or box_from_points(joints2d, None, KEYPOINT_BOX_MARGIN)
            or (0.0, 0.0, float(width), float(height))
        )
        frames = arrays["joints3d"].shape[0]
        body = {
            name[5:]: value[t] if value.ndim >= 2 and value.shape[0] == frames else value
            for name, value in arrays.items()
            if name.startswith("body.")
        }
        if "global_orient" in body:  # into the camera frame, as for 3DPW
            body["global_orient"] = rotate_axis_angle(extrinsics[:, :3], body["global_orient"])
        return BenchmarkSample(
            image=rgb,
            box=box,
            key=f"synthetic:{self.shards[shard].stem}/{meta['key']}/t{t:02d}/v{v:02d}",
            joints3d=world_to_camera(arrays["joints3d"][t], extrinsics).astype(np.float32),
            joints2d=np.concatenate([joints2d, np.ones((len(joints2d), 1), np.float32)], axis=1),
            body_params=body,
            intrinsics=arrays["intrinsics"][v],
            mask=mask,
            parts=parts,
            iuv=iuv,
            meta={"body": meta.get("body"), "take": meta["key"], "motion": meta.get("motion"), "t": t, "v": v},
        )
