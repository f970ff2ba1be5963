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

``focus="hands"`` reads hands instead (needs ``hand_joints3d``/``hand_joints2d``, docs/data-format.md):
one sample per (take, t, v, hand) whose hand shows at least ``MIN_VISIBLE_KEYPOINTS`` of its 21
keypoints on its own DensePose hand pixels (``hand_views``), in the order take, t, v, left then
right. Every sample is a right hand, as FreiHAND's: a left hand is mirrored (image, joints,
intrinsics; ``meta['mirrored']``). ``joints3d`` are the hand's 21 keypoints in FreiHAND's order
(``HAND_KEYPOINT_NAMES``) in the camera frame of view v, metres; ``joints2d`` their pixels with
visibility 1 on the hand's pixels, else 0; ``box`` the keypoints' box grown by
``KEYPOINT_BOX_MARGIN`` (the fine-tuning crop then takes 1.2 x its side, as FreiHAND's crops
frame a hand); no dense labels or body parameters.

Decoding is lazy and random-access: the constructor reads tar headers only (``index_shard``; with
``focus="hands"`` also each take's arrays and part images once, to find the visible hands);
``__getitem__`` reads the take's small meta/arrays files and the three images of (t, v), by offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crocohuman.core.boxes import KEYPOINT_BOX_MARGIN, box_from_mask, box_from_points
from crocohuman.core.camera import world_to_camera
from crocohuman.core.conventions import HAND_PART_IDS, HAND_SIDES
from crocohuman.core.layout import require_dir
from crocohuman.core.rotations import rotate_axis_angle
from crocohuman.core.shard_names import parse_image_field
from crocohuman.core.shards import decode_image, decode_record, index_shard, list_shards, read_member

from .hand_views import MIN_VISIBLE_KEYPOINTS, HandView, visible_keypoints
from .sample import BenchmarkSample

LAYOUT = """\
  <root>/shard-%06d.tar      (croco-render output, docs/data-format.md)"""


def _take_grid(fields: dict) -> tuple[int, int]:
    """(frames, views) of a take from its image file names."""
    pairs = [(t, v) for t, v, kind in filter(None, map(parse_image_field, fields)) if kind == "rgb"]
    return (max(t for t, _ in pairs) + 1, max(v for _, v in pairs) + 1) if pairs else (0, 0)


def _pick(selection: str | Sequence[int], count: int) -> list[int]:
    return list(range(count)) if selection == "all" else [i for i in selection if 0 <= i < count]


FOCI = ("body", "hands")
BODY = -1  # the hand column of a body sample's index row


class SyntheticTakes:
    """Rendered takes, one sample per image (``focus="body"``) or per visible hand (``"hands"``);
    see the module docstring."""

    name = "synthetic"

    def __init__(
        self,
        root: str | Path,
        frames: str | Sequence[int] = "all",
        views: str | Sequence[int] = "all",
        focus: str = "body",
    ) -> None:
        if focus not in FOCI:
            raise ValueError(f"synthetic takes: focus must be one of {', '.join(FOCI)}, got {focus!r}")
        self.root = require_dir(root, "synthetic takes", LAYOUT)
        self.shards = list_shards(self.root)
        if not self.shards:
            raise FileNotFoundError(f"synthetic takes: no shard-*.tar in {self.root}; expected layout:\n{LAYOUT}")
        index, self._fields = [], []
        for s, shard in enumerate(self.shards):
            for fields in index_shard(shard).values():
                take = len(self._fields)
                self._fields.append(fields)
                take_frames, take_views = _take_grid(fields)
                grid = [(t, v) for t in _pick(frames, take_frames) for v in _pick(views, take_views)]
                if focus == "body":
                    index += [(s, take, t, v, BODY) for t, v in grid]
                else:
                    index += [(s, take, t, v, hand) for t, v, hand in self._visible_hands(s, take, grid)]
        self._index = np.array(index, dtype=np.int64).reshape(-1, 5)

    def _record(self, shard: int, take: int) -> tuple[dict, dict[str, np.ndarray]]:
        return decode_record(self._read(shard, take, "meta.json"), self._read(shard, take, "arrays.npz"))

    def _visible_hands(self, shard: int, take: int, grid: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
        """The (t, v, hand) of ``grid`` whose hand shows enough keypoints on its own pixels."""
        _, arrays = self._record(shard, take)
        if "hand_joints2d" not in arrays or "hand_joints3d" not in arrays:
            raise ValueError(
                f"{self.root}: {self.shards[shard].name} holds takes rendered before hand labels (no "
                "hand_joints3d/hand_joints2d, or a body model without fingers); re-render them with "
                "croco-render (anny) to read hands (focus=hands)"
            )
        visible = []
        for t, v in grid:
            parts = self._image(shard, take, f"t{t:02d}.v{v:02d}.parts")
            for hand, part_id in enumerate(HAND_PART_IDS):
                seen = visible_keypoints(arrays["hand_joints2d"][t, v, hand], parts, part_id)
                if seen.sum() >= MIN_VISIBLE_KEYPOINTS:
                    visible.append((t, v, hand))
        return visible

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
        shard, take, t, v, hand = (int(x) for x in self._index[index])
        if hand == BODY:
            return self._body_sample(shard, take, t, v)
        return self._hand_sample(shard, take, t, v, hand)

    def _key(self, shard: int, meta: dict, t: int, v: int) -> str:
        return f"synthetic:{self.shards[shard].stem}/{meta['key']}/t{t:02d}/v{v:02d}"

    def _body_sample(self, shard: int, take: int, t: int, v: int) -> BenchmarkSample:
        meta, arrays = self._record(shard, take)
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
            key=self._key(shard, meta, t, v),
            joints3d=world_to_camera(arrays["joints3d"][t], extrinsics).astype(np.float32),
            joints2d=np.concatenate([joints2d, np.ones((len(joints2d), 1), np.float32)], axis=1),
            body_params=body,
            intrinsics=arrays["intrinsics"][v],
            mask=mask,
            parts=parts,
            iuv=iuv,
            meta={"body": meta.get("body"), "take": meta["key"], "motion": meta.get("motion"), "t": t, "v": v},
        )

    def _hand_sample(self, shard: int, take: int, t: int, v: int, hand: int) -> BenchmarkSample:
        meta, arrays = self._record(shard, take)
        stem, side = f"t{t:02d}.v{v:02d}", HAND_SIDES[hand]
        parts = self._image(shard, take, f"{stem}.parts")
        seen = visible_keypoints(arrays["hand_joints2d"][t, v, hand], parts, HAND_PART_IDS[hand])
        view = HandView(
            image=self._image(shard, take, f"{stem}.rgb")[..., :3],
            joints3d=world_to_camera(arrays["hand_joints3d"][t, hand], arrays["extrinsics"][v].astype(np.float64)),
            joints2d=arrays["hand_joints2d"][t, v, hand],
            intrinsics=arrays["intrinsics"][v],
        )
        mirrored = side == "left"  # every sample a right hand, as FreiHAND's
        view = view.mirrored() if mirrored else view
        return BenchmarkSample(
            image=view.image,
            box=box_from_points(view.joints2d, None, KEYPOINT_BOX_MARGIN),
            key=f"{self._key(shard, meta, t, v)}/{side}",
            joints3d=np.asarray(view.joints3d, np.float32),
            joints2d=np.concatenate([view.joints2d, seen[:, None]], axis=1).astype(np.float32),
            intrinsics=np.asarray(view.intrinsics, np.float32),
            meta={
                "body": meta.get("body"),
                "take": meta["key"],
                "motion": meta.get("motion"),
                "t": t,
                "v": v,
                "hand": side,
                "mirrored": mirrored,
            },
        )
