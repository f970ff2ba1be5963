"""HaGRID (Kapitanov et al., WACV 2024): the few-shot gesture classification benchmark of CroCo-Hand
(18 classes; 16/32/64 shots per class, paper Sec. 4.1 and Table 2).

Layouts (``version`` None auto-detects: ``hagrid_annotations/`` means v2, ``ann_*/`` means v1):

v1 (2022) [V] hukenovs/hagrid README (archives ``ann_train_val``, ``ann_test``, ``ann_subsample``,
``test``, ``subsample``, one per gesture for train), ``classifier/dataset.py`` (image
``<dataset>/<gesture>/<key>.jpg``, annotations ``<annotations>/<gesture>.json``)::

    <root>/ann_{train_val,test,subsample}/<gesture>.json       split train | test | subsample
    <root>/{train_val,test,subsample}/<gesture>/<key>.jpg      (folder names assumed [U]: the
                                                               archive names; override: image_dir)

v2 (HaGRID 2.0 and v2-1M) [V] reference notes on branch ``Hagrid_v2``/master,
``dataset/dataset.py`` (``<dataset>/<target>/<name>.jpg``)::

    <root>/hagrid_annotations/{train,val,test}/<gesture>.json
    <root>/hagrid_dataset/<gesture>/<key>.jpg

Each json maps an image key (file name without ``.jpg``) to ``bboxes`` (normalised
[x, y, w, h]) and ``labels`` (one per box), plus optional ``leading_hand``, ``user_id``,
``landmarks`` (v1) or ``hand_landmarks`` (v2: 21 normalised [x, y] per box, may be empty) and the
v2-1M ``united_*`` keys (ignored). Pixel box = (x W, y H, (x + w) W, (y + h) H) [V]
``classifier/dataset.py``.

Classes: ``GESTURES`` in the order of the official classifier config ([V]
``classifier/config/default.yaml``, ``constants.py``), label = position; ``no_gesture`` is label 18
when ``include_no_gesture`` is set and is left out otherwise. One sample per box whose label is in
the class list (the 15 extra gestures of v2-1M are skipped), gesture files in class order, image
keys sorted, boxes in file order; an image lives in the folder of the json it is listed in.
``<gesture>.json`` must exist for the 18 gestures; ``no_gesture.json`` (v2) is read if present.

``crocohuman.datasets.few_shot.few_shot_indices`` draws the k-shot training subsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crocohuman.core.images import read_rgb
from crocohuman.core.layout import as_array, load_json, need, require_dir, require_file

from .sample import BenchmarkSample

GESTURES = (
    "call",
    "dislike",
    "fist",
    "four",
    "like",
    "mute",
    "ok",
    "one",
    "palm",
    "peace",
    "rock",
    "stop",
    "stop_inverted",
    "three",
    "two_up",
    "two_up_inverted",
    "three2",
    "peace_inverted",
)
NO_GESTURE = "no_gesture"

LAYOUT = """\
  v1: <root>/ann_{train_val,test,subsample}/<gesture>.json
      <root>/{train_val,test,subsample}/<gesture>/<image key>.jpg
  v2: <root>/hagrid_annotations/{train,val,test}/<gesture>.json
      <root>/hagrid_dataset/<gesture>/<image key>.jpg"""

_V1_FOLDERS = {"train": "train_val", "test": "test", "subsample": "subsample"}
_V2_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class _Box:
    folder: str  # gesture folder (= annotation file) holding the image
    image_key: str
    xywh: np.ndarray  # (4,) normalised
    label: int
    landmarks: np.ndarray | None  # (21, 2) normalised
    leading_hand: str | None
    user_id: str | None


def _detect_version(root: Path) -> int:
    if (root / "hagrid_annotations").is_dir():
        return 2
    if any(root.glob("ann_*")):
        return 1
    raise FileNotFoundError(
        f"HaGRID: {root} has neither hagrid_annotations/ (v2) nor ann_*/ (v1); expected layout:\n{LAYOUT}"
    )


def _folders(root: Path, version: int, split: str, image_dir: str | None) -> tuple[Path, Path]:
    """(annotation folder, image folder) of a split."""
    if version == 1:
        if split not in _V1_FOLDERS:
            raise ValueError(f"HaGRID v1 split must be one of {tuple(_V1_FOLDERS)}, not {split!r}")
        name = _V1_FOLDERS[split]
        return require_dir(root / f"ann_{name}", "HaGRID v1", LAYOUT), root / (image_dir or name)
    if split not in _V2_SPLITS:
        raise ValueError(f"HaGRID v2 split must be one of {_V2_SPLITS}, not {split!r}")
    return (
        require_dir(root / "hagrid_annotations" / split, "HaGRID v2", LAYOUT),
        root / (image_dir or "hagrid_dataset"),
    )


def _boxes_of_file(path: Path, folder: str, classes: dict[str, int]) -> list[_Box]:
    data = load_json(path, "HaGRID", LAYOUT)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object keyed by image name, found {type(data).__name__}")
    boxes = []
    for key in sorted(data):
        record = data[key]
        labels = need(record, "labels", path)
        bboxes = as_array(need(record, "bboxes", path), (len(labels), 4), path, "bboxes", np.float64)
        landmarks = record.get("hand_landmarks", record.get("landmarks")) or []
        for j, label in enumerate(labels):
            if label not in classes:
                continue
            points = landmarks[j] if j < len(landmarks) else None
            boxes.append(
                _Box(
                    folder=folder,
                    image_key=key,
                    xywh=bboxes[j],
                    label=classes[label],
                    landmarks=as_array(points, (21, 2), path, "landmarks") if points else None,
                    leading_hand=record.get("leading_hand"),
                    user_id=record.get("user_id"),
                )
            )
    return boxes


class HaGrid:
    """HaGRID gesture hand boxes, one sample per box with a class label; see the module docstring."""

    name = "hagrid"

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        version: int | None = None,
        include_no_gesture: bool = False,
        image_dir: str | None = None,
    ) -> None:
        self.root = require_dir(root, "HaGRID", LAYOUT)
        self.version = version if version is not None else _detect_version(self.root)
        if self.version not in (1, 2):
            raise ValueError(f"HaGRID version must be 1 or 2, not {self.version!r}")
        self.split = split
        annotations, self.image_root = _folders(self.root, self.version, split, image_dir)
        self.classes = list(GESTURES) + ([NO_GESTURE] if include_no_gesture else [])
        class_index = {name: i for i, name in enumerate(self.classes)}
        files = [(g, require_file(annotations / f"{g}.json", "HaGRID", LAYOUT)) for g in GESTURES]
        if (annotations / f"{NO_GESTURE}.json").is_file():
            files.append((NO_GESTURE, annotations / f"{NO_GESTURE}.json"))
        self._boxes = [box for folder, path in files for box in _boxes_of_file(path, folder, class_index)]
        self.labels = np.array([box.label for box in self._boxes], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._boxes)

    def __getitem__(self, index: int) -> BenchmarkSample:
        box = self._boxes[index]
        image = read_rgb(self.image_root / box.folder / f"{box.image_key}.jpg")
        height, width = image.shape[:2]
        x, y, w, h = box.xywh
        joints2d = None
        if box.landmarks is not None:
            joints2d = np.concatenate([box.landmarks * [width, height], np.ones((21, 1))], axis=1).astype(np.float32)
        return BenchmarkSample(
            image=image,
            box=(float(x * width), float(y * height), float((x + w) * width), float((y + h) * height)),
            key=f"hagrid:{self.split}/{box.folder}/{box.image_key}/{index}",
            joints2d=joints2d,
            label=box.label,
            meta={
                "gesture": self.classes[box.label],
                "folder": box.folder,
                "image_key": box.image_key,
                "leading_hand": box.leading_hand,
                "user_id": box.user_id,
            },
        )
