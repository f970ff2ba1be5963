"""InterHand2.6M for CroCo-Hand: cross-view and cross-pose hand pairs in equal number (paper Sec. 3).

Layout [V] facebookresearch/InterHand2.6M ``data/InterHand2.6M/dataset.py`` and README:
    images/<split>/Capture<k>/<seq_name>/cam<camera>/image<frame>.jpg
    annotations/<split>/InterHand2.6M_<split>_data.json      (v1.0, the 5 / 30 fps releases)
    annotations/all/InterHand2.6M_<split>_data.json          (v0.0 layout, read when the first is absent)
``_data.json`` is COCO-style: ``images[]`` with ``id``, ``file_name`` (relative to
``images/<split>/``), ``capture``, ``seq_name``, ``camera``, ``frame_idx``; ``annotations[]`` with
``image_id`` and the hand ``bbox`` [x, y, w, h] (one or two hands, ``hand_type``). Images without a
usable box are left out: a hand pair needs the hand located.

A capture is one (``capture``, ``seq_name``): cross-view = same ``frame_idx``, two cameras;
cross-pose = same camera, two frames (``max_gap`` in ``frame_idx`` units, None = any two of the
sequence). ``len`` is twice the number of captures: even indices give cross-view pairs, odd ones
cross-pose, so any run of indices is balanced exactly; captures lacking either kind are dropped.

The json is large (hundreds of MB); it is parsed once and reduced to numpy arrays (file names
as bytes, boxes, ids), so the per-image cost afterwards is a few dozen bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crocohuman.core.layout import require_dir
from crocohuman.datasets.interhand_crops import annotation_folder

from .captures import CaptureIndex, CaptureReader, ImageRef, View
from .types import PairKind


@dataclass(frozen=True)
class _Images:
    """The annotated images of a split as flat arrays, one row per image."""

    file_names: np.ndarray  # (M,) bytes, relative to images/<split>/
    boxes: np.ndarray  # (M, 4) float32 x0 y0 x1 y1
    capture: np.ndarray  # (M,) int64
    sequence: np.ndarray  # (M,) int64 code into sequence_names
    camera: np.ndarray  # (M,) int64
    frame: np.ndarray  # (M,) int64
    sequence_names: list[str]


@dataclass(frozen=True)
class _Cameras:
    cameras: np.ndarray  # (C,) camera ids of the capture
    rows: list[np.ndarray]  # per camera, rows of _Images aligned with that camera's sorted frames


def _read_images(path: Path) -> _Images:
    data = json.loads(path.read_text())
    images, annotations = data["images"], data["annotations"]
    ids = np.array([image["id"] for image in images], dtype=np.int64)
    by_id = np.argsort(ids, kind="stable")
    wanted = np.array([a["image_id"] for a in annotations], dtype=np.int64)
    xywh = np.array([a.get("bbox") or [0, 0, 0, 0] for a in annotations], dtype=np.float64).reshape(-1, 4)
    position = np.minimum(np.searchsorted(ids[by_id], wanted), max(len(ids) - 1, 0))
    known = ids[by_id][position] == wanted if len(ids) else np.zeros(len(wanted), dtype=bool)
    found = known & (xywh[:, 2] > 0) & (xywh[:, 3] > 0) & np.isfinite(xywh).all(axis=1)
    # one box per image: the first usable annotation
    rows, first = np.unique(by_id[position[found]], return_index=True)
    xywh = xywh[found][first]
    picked = [images[r] for r in rows]
    sequence_names, sequence = np.unique([image["seq_name"] for image in picked], return_inverse=True)
    return _Images(
        file_names=np.array([image["file_name"].encode() for image in picked], dtype=bytes),
        boxes=np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1).astype(np.float32),
        capture=np.array([int(image["capture"]) for image in picked], dtype=np.int64),
        sequence=sequence.astype(np.int64).reshape(-1),
        camera=np.array([int(image["camera"]) for image in picked], dtype=np.int64),
        frame=np.array([int(image["frame_idx"]) for image in picked], dtype=np.int64),
        sequence_names=[str(name) for name in sequence_names],
    )


def _captures(table: _Images, max_gap: int | None) -> list[tuple[CaptureIndex, _Cameras]]:
    """Group rows by (capture, sequence), then by camera, frames ascending; duplicates dropped."""
    if len(table.frame) == 0:
        return []
    order = np.lexsort((table.frame, table.camera, table.sequence, table.capture))
    keys = np.stack([table.capture, table.sequence, table.camera, table.frame], axis=1)[order]
    fresh = np.ones(len(order), dtype=bool)
    fresh[1:] = np.any(keys[1:] != keys[:-1], axis=1)
    order, keys = order[fresh], keys[fresh]
    group_starts = np.flatnonzero(np.r_[True, np.any(keys[1:, :2] != keys[:-1, :2], axis=1)])
    camera_starts = np.flatnonzero(np.r_[True, np.any(keys[1:, :3] != keys[:-1, :3], axis=1)])
    entries = []
    for start, stop in zip(group_starts, np.r_[group_starts[1:], len(order)]):
        cuts = camera_starts[np.searchsorted(camera_starts, start) : np.searchsorted(camera_starts, stop)]
        rows = [order[a:b] for a, b in zip(cuts, np.r_[cuts[1:], stop])]
        capture, sequence = keys[start, 0], table.sequence_names[keys[start, 1]]
        index = CaptureIndex(f"Capture{capture}/{sequence}", [table.frame[r] for r in rows], max_gap)
        entries.append((index, _Cameras(keys[cuts, 2], rows)))
    return entries


class InterHand26M(CaptureReader[_Cameras]):
    """InterHand2.6M hand images of one split, paired across its synchronised cameras and over time."""

    name = "interhand2.6m"
    LAYOUT = (
        "<root>/images/<split>/Capture<k>/<seq>/cam<id>/image<frame>.jpg + "
        "<root>/annotations/<split>/InterHand2.6M_<split>_data.json"
    )

    def __init__(self, root: str | Path, split: str = "train", max_gap: int | None = None) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        self._images_root = require_dir(root / "images" / split, self.name, self.LAYOUT)
        self._table = _read_images(annotation_folder(root, split) / f"InterHand2.6M_{split}_data.json")
        entries = [
            (index, cameras)
            for index, cameras in _captures(self._table, max_gap)
            if index.has_cross_view and index.has_cross_pose
        ]
        super().__init__(entries, 0.5, root, self.LAYOUT)

    def __len__(self) -> int:
        return 2 * len(self._captures)

    def _slot_and_kind(self, index: int, rng: np.random.Generator) -> tuple[int, PairKind]:
        index = range(len(self))[index]  # IndexError out of range, negatives from the end
        return index // 2, "cross_view" if index % 2 == 0 else "cross_pose"

    def _view(self, payload: _Cameras, capture: CaptureIndex, ref: ImageRef) -> View:
        row = int(payload.rows[ref[0]][ref[1]])
        box = tuple(float(v) for v in self._table.boxes[row])
        label = f"c{payload.cameras[ref[0]]}f{self._table.frame[row]}"
        return View(self._images_root / self._table.file_names[row].decode(), label, box)
