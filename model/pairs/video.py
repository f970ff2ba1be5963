"""Video-frame folders: cross-pose pairs, one person at two times t != t' with |t - t'| <= ``max_gap``
(default 30 frames), drawn uniformly as the paper does (Sec. 3.3: "a simple random sampling").

``len`` is the number of person tracks (a 3DPW actor in one sequence, a PoseTrack track id, a
PennAction video, a JRDB pedestrian, a MARS tracklet, a folder video). Frame numbers, and so
``max_gap``, are those of the file names.

Layouts (checked against public code where marked [V]; [A] = our choice):

3DPW, ``ThreeDPWVideos(root, split)``:                           [V] SPIN pw3d.py, VIBE
    imageFiles/<seq>/image_%05d.jpg                                  threedpw_utils.py
    sequenceFiles/{train,validation,test}/<seq>.pkl
  Python-2 pickles read with ``encoding='latin1'`` through a numpy-only unpickler. Per actor:
  ``poses2d`` (N, 3, 18) rows x, y, confidence and ``campose_valid`` (N,). One track per
  (sequence, actor), frames where that actor is valid; box = joints with confidence > 0.

PoseTrack 2018, ``PoseTrackVideos(root, split)``:                [V] mmhuman3d posetrack.py
    images/{train,val}/<seq>/%06d.jpg
    posetrack_data/annotations/{train,val}/<seq>.json  (or annotations/{train,val}/<seq>.json)
  COCO-style: ``images[]`` (``id``, ``file_name`` relative to root), ``annotations[]``
  (``image_id``, ``track_id``, ``bbox`` [x, y, w, h], ``keypoints`` 17 x 3). A track is one
  ``track_id`` of one sequence; the box is ``bbox``, else the visible keypoints.

PennAction, ``PennActionVideos(root)``:                          [V] Penn Action README,
    frames/<vid 4 digits>/%06d.jpg (from 000001)                     mmhuman3d penn_action.py
    labels/<vid>.mat: ``nframes``, ``bbox`` (T, 4) x0 y0 x1 y1, ``x``, ``y``, ``visibility`` (T, 13)
  Some videos have fewer ``bbox`` rows than frames; those frames fall back to the visible joints.

JRDB 2019, ``JrdbVideos(root)`` with root the ``train_dataset`` folder:
    images/image_stitched/<seq>/<frame>.jpg              [V] JRDB convert_to_kitti script
    labels/labels_2d_stitched/<seq>.json: {"labels": {"000000.jpg": [{"label_id": "pedestrian:3",
        "box": [x, y, w, h], "attributes": {"occlusion": "Fully_visible" | ... | "Fully_occluded"}}]}}
  A track is one ``label_id`` of one sequence; fully occluded boxes are skipped. Only the stitched
  panorama is read: the per-camera ``image_<k>`` folders and their labels are [U] and not used.

MARS, ``MarsVideos(root, split)``:                     [V] torchreid-style loaders (file names)
    bbox_{train,test}/<pid 4 digits>/<pid>C<cam>T<tracklet 4 digits>F<frame 3 digits>.jpg
  A track is one tracklet (pid, camera, tracklet); the crops are the person, so the box is the
  whole image. Distractor (``0000``) and junk (``00-1``) identities are skipped; ``info/`` unused.

Generic, ``VideoFolder(root)``:
    <video>/<frame>.jpg|png, optional <video>/<frame>.mask.png person mask        [A]
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from crocohuman.core.boxes import KEYPOINT_BOX_MARGIN, Box, box_from_points, box_from_xywh
from crocohuman.core.layout import require_dir
from crocohuman.core.pickles import load_pickle

from .captures import CaptureIndex, CaptureReader, ImageRef, View
from .frame_files import NumberedImages, frame_number, sibling_mask

DEFAULT_MAX_GAP = 30
_NO_BOX = (math.nan,) * 4
_WHOLE_IMAGE = (0.0, 0.0, math.inf, math.inf)  # clipped to the image when read: "the crop is the person"
_MARS_NAME = re.compile(r"^(?P<track>(?P<pid>\d{4}|00-1)C\d+T\d{4}F)\d+\.jpg$")


@dataclass(frozen=True)
class _Track:
    """One person through a video: the frames' image pattern and that person's box per frame."""

    images: NumberedImages  # numbers = the track's frames, in order
    boxes: np.ndarray  # (len(frames), 4) float32, NaN rows = location unknown


def _track(
    name: str, images: NumberedImages, boxes: dict[int, Box | None] | np.ndarray, max_gap: int
) -> tuple[CaptureIndex, _Track]:
    """Index a track; ``boxes`` maps frame -> box (any order) or is already aligned with the frames."""
    if isinstance(boxes, dict):
        frames = np.array(sorted(boxes), dtype=np.int64)
        images = dataclasses.replace(images, numbers=frames)
        boxes = np.array([boxes[f] or _NO_BOX for f in frames], dtype=np.float32).reshape(-1, 4)
    return CaptureIndex(name, [images.numbers], max_gap), _Track(images, np.asarray(boxes, dtype=np.float32))


def _same_box(box: Box, count: int) -> np.ndarray:
    """One box for every frame, as a read-only broadcast: no memory per frame."""
    return np.broadcast_to(np.array(box, dtype=np.float32), (count, 4))


class _TrackReader(CaptureReader[_Track]):
    """Shared ``_view`` of the video readers: frame -> file, stored box -> ``View``."""

    def __init__(self, entries: list[tuple[CaptureIndex, _Track]], root: Path, layout: str) -> None:
        super().__init__(entries, 0.0, root, layout)

    def _view(self, payload: _Track, capture: CaptureIndex, ref: ImageRef) -> View:
        frame = capture.frame(ref)
        row = payload.boxes[ref[1]]
        box = None if np.isnan(row).any() else tuple(float(v) for v in row)
        return View(payload.images.path(frame), f"f{frame}", box)


class VideoFolder(_TrackReader):
    """Any video stored as ``<root>/<video>/<frame>.jpg|png`` (+ optional ``<frame>.mask.png``)."""

    LAYOUT = "<root>/<video>/<frame>.jpg|png (+ optional <frame>.mask.png)"

    def __init__(self, root: str | Path, max_gap: int = DEFAULT_MAX_GAP, name: str = "video") -> None:
        self.name = name
        root = require_dir(root, name, self.LAYOUT)
        entries = []
        for video in sorted(p for p in root.iterdir() if p.is_dir()):
            images = NumberedImages.scan(video)
            entries.append(_track(video.name, images, _same_box(_NO_BOX, len(images.numbers)), max_gap))
        super().__init__(entries, root, self.LAYOUT)

    def _view(self, payload: _Track, capture: CaptureIndex, ref: ImageRef) -> View:
        view = super()._view(payload, capture, ref)
        return dataclasses.replace(view, mask_path=sibling_mask(view.path))


class ThreeDPWVideos(_TrackReader):
    """3DPW sequences of one split, one track per actor (the paper uses the 34 train sequences)."""

    name = "3dpw"
    LAYOUT = "<root>/imageFiles/<seq>/image_%05d.jpg + <root>/sequenceFiles/<split>/<seq>.pkl"

    def __init__(self, root: str | Path, split: str = "train", max_gap: int = DEFAULT_MAX_GAP) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        image_root = require_dir(root / "imageFiles", self.name, self.LAYOUT)
        entries = []
        for pkl in sorted(require_dir(root / "sequenceFiles" / split, self.name, self.LAYOUT).glob("*.pkl")):
            folder = require_dir(image_root / pkl.stem, self.name, self.LAYOUT)
            for actor, (poses2d, valid) in enumerate(_pw_actors(pkl)):
                frames = np.flatnonzero(valid)
                boxes = {
                    int(t): box_from_points(poses2d[t, :2].T, poses2d[t, 2] > 0, KEYPOINT_BOX_MARGIN) for t in frames
                }
                images = NumberedImages(folder, frames, "image_", 5, ".jpg")
                entries.append(_track(f"{pkl.stem}#{actor}", images, boxes, max_gap))
        super().__init__(entries, root, self.LAYOUT)


def _pw_actors(pkl: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per actor ``poses2d`` (N, 3, 18) and ``campose_valid`` (N,) bool, shapes checked."""
    data = load_pickle(pkl)
    if not isinstance(data, dict) or "poses2d" not in data or "campose_valid" not in data:
        raise ValueError(f"{pkl}: not a 3DPW sequence file (needs 'poses2d' and 'campose_valid')")
    actors = []
    for poses2d, valid in zip(data["poses2d"], data["campose_valid"], strict=True):
        poses2d, valid = np.asarray(poses2d, dtype=np.float64), np.asarray(valid).astype(bool).reshape(-1)
        if poses2d.ndim != 3 or poses2d.shape[1:] != (3, 18) or len(poses2d) != len(valid):
            raise ValueError(
                f"{pkl}: poses2d {poses2d.shape} / campose_valid {valid.shape}, expected (N, 3, 18) / (N,)"
            )
        actors.append((poses2d, valid))
    return actors


class PoseTrackVideos(_TrackReader):
    """PoseTrack 2018 person tracks of one split."""

    name = "posetrack"
    LAYOUT = (
        "<root>/images/<split>/<seq>/%06d.jpg + "
        "<root>/posetrack_data/annotations/<split>/<seq>.json (or <root>/annotations/<split>/)"
    )

    def __init__(
        self, root: str | Path, split: str = "train", max_gap: int = DEFAULT_MAX_GAP, min_box_height: float = 64.0
    ) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        candidates = [root / "posetrack_data" / "annotations" / split, root / "annotations" / split]
        annotations = next((c for c in candidates if c.is_dir()), candidates[-1])
        entries = []
        for path in sorted(require_dir(annotations, self.name, self.LAYOUT).glob("*.json")):
            entries += _posetrack_tracks(root, path, max_gap, min_box_height)
        super().__init__(entries, root, self.LAYOUT)


def _posetrack_tracks(root: Path, path: Path, max_gap: int, min_box_height: float) -> list[tuple[CaptureIndex, _Track]]:
    data = json.loads(path.read_text())
    names = {image["id"]: image["file_name"] for image in data.get("images", [])}
    folders = {Path(name).parent for name in names.values()}
    if len(folders) > 1:
        raise ValueError(f"{path}: images of one sequence span several folders {sorted(map(str, folders))}")
    if not folders:
        return []
    images = NumberedImages.from_names(root / folders.pop(), [Path(n).name for n in names.values()])
    tracks: dict[int, dict[int, Box]] = defaultdict(dict)
    for annotation in data.get("annotations", []):
        name, track = names.get(annotation.get("image_id")), annotation.get("track_id")
        frame = frame_number(Path(name).name) if name is not None else None
        if track is None or frame is None:
            continue
        keypoints = np.asarray(annotation.get("keypoints") or [], dtype=np.float64).reshape(-1, 3)
        box = box_from_xywh(annotation.get("bbox")) or box_from_points(
            keypoints[:, :2], keypoints[:, 2] > 0, KEYPOINT_BOX_MARGIN
        )
        if box is not None and box[3] - box[1] >= min_box_height:
            tracks[int(track)].setdefault(frame, box)
    return [_track(f"{path.stem}#{track}", images, boxes, max_gap) for track, boxes in sorted(tracks.items())]


class PennActionVideos(_TrackReader):
    """PennAction: 2326 single-person action clips, all of them (the .mat ``train`` flag is ignored)."""

    name = "pennaction"
    LAYOUT = "<root>/frames/<vid 4 digits>/%06d.jpg + <root>/labels/<vid>.mat"

    def __init__(self, root: str | Path, max_gap: int = DEFAULT_MAX_GAP) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        frames_root = require_dir(root / "frames", self.name, self.LAYOUT)
        entries = []
        for mat in sorted(require_dir(root / "labels", self.name, self.LAYOUT).glob("*.mat")):
            boxes = _penn_boxes(mat)
            images = NumberedImages(frames_root / mat.stem, np.arange(1, len(boxes) + 1), "", 6, ".jpg")
            entries.append(_track(mat.stem, images, boxes, max_gap))
        super().__init__(entries, root, self.LAYOUT)


def _penn_boxes(mat_path: Path) -> np.ndarray:
    """(nframes, 4) person boxes: the annotated ``bbox`` row, else the visible joints, else NaN."""
    mat = scipy.io.loadmat(mat_path)
    count = int(np.asarray(mat["nframes"]).reshape(-1)[0])
    xs, ys = np.asarray(mat["x"], dtype=np.float64), np.asarray(mat["y"], dtype=np.float64)
    visible = np.asarray(mat["visibility"]).astype(bool)
    annotated = np.asarray(mat.get("bbox", np.zeros((0, 4))), dtype=np.float64).reshape(-1, 4)
    boxes = np.full((count, 4), np.nan)
    for t in range(count):
        if t < len(annotated) and np.all(annotated[t, 2:] > annotated[t, :2]):
            boxes[t] = annotated[t]
        elif t < len(xs):
            joints = box_from_points(np.stack([xs[t], ys[t]], axis=1), visible[t], KEYPOINT_BOX_MARGIN)
            boxes[t] = joints or _NO_BOX
    return boxes


class JrdbVideos(_TrackReader):
    """JRDB pedestrians in the stitched 360-degree panoramas of the train sequences."""

    name = "jrdb"
    LAYOUT = (
        "<root>/images/image_stitched/<seq>/<frame>.jpg + "
        "<root>/labels/labels_2d_stitched/<seq>.json (root = JRDB train_dataset)"
    )

    def __init__(self, root: str | Path, max_gap: int = DEFAULT_MAX_GAP, min_box_height: float = 64.0) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        image_root = require_dir(root / "images" / "image_stitched", self.name, self.LAYOUT)
        labels = require_dir(root / "labels" / "labels_2d_stitched", self.name, self.LAYOUT)
        entries = []
        for path in sorted(labels.glob("*.json")):
            by_frame = json.loads(path.read_text()).get("labels", {})
            images = NumberedImages.from_names(image_root / path.stem, by_frame)
            tracks: dict[str, dict[int, Box]] = defaultdict(dict)
            for name, people in by_frame.items():
                frame = frame_number(name)
                if frame is None:
                    continue
                for person in people:
                    box = box_from_xywh(person.get("box"))
                    occlusion = person.get("attributes", {}).get("occlusion")
                    if (
                        str(person.get("label_id", "")).startswith("pedestrian:")
                        and box is not None
                        and occlusion != "Fully_occluded"
                        and box[3] - box[1] >= min_box_height
                    ):
                        tracks[person["label_id"]][frame] = box
            entries += [
                _track(f"{path.stem}#{label}", images, boxes, max_gap) for label, boxes in sorted(tracks.items())
            ]
        super().__init__(entries, root, self.LAYOUT)


class MarsVideos(_TrackReader):
    """MARS person tracklets (CCTV re-identification crops) of one split."""

    name = "mars"
    LAYOUT = "<root>/bbox_<split>/<pid 4 digits>/<pid>C<cam>T<tracklet 4 digits>F<frame 3 digits>.jpg"

    def __init__(self, root: str | Path, split: str = "train", max_gap: int = DEFAULT_MAX_GAP) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        split_root = require_dir(root / f"bbox_{split}", self.name, self.LAYOUT)
        entries = []
        for person in sorted(p for p in split_root.iterdir() if p.is_dir() and p.name not in {"0000", "00-1"}):
            tracklets: dict[str, list[str]] = defaultdict(list)
            for name in (entry.name for entry in person.iterdir()):
                match = _MARS_NAME.match(name)
                if match is not None and match["pid"] == person.name:
                    tracklets[match["track"]].append(name)
            for track, names in sorted(tracklets.items()):
                images = NumberedImages.from_names(person, names, prefix=track)
                entries.append(_track(track.rstrip("F"), images, _same_box(_WHOLE_IMAGE, len(images.numbers)), max_gap))
        super().__init__(entries, root, self.LAYOUT)
