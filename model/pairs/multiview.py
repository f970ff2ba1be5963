"""Multi-view capture folders: cross-view pairs (same frame, two cameras) and cross-pose pairs (same
camera, two frames), the paper's HUMBI and AIST++ sources (Sec. 3.2-3.3) plus a generic fallback.

Each reader's ``len`` is its number of captures (a HUMBI subject, an AIST++ sequence, a folder
sequence). ``get`` draws the kind with ``rng``: cross-view with probability ``cross_view_fraction``
when the capture has two views of a frame; ``max_gap`` bounds the frame distance of cross-pose
pairs (``None``: any two frames of the camera).

Layouts (checked against public code where marked [V]; [A] = our choice):

HUMBI body, ``HumbiBody(root)`` with root the folder holding the ``subject_<n>`` folders:
    subject_<n>/body/<frame:08d>/image/image<cam:07d>.jpg     [V] zhixuany/HUMBI body/config.m,
    subject_<n>/body/intrinsic.txt, extrinsic.txt              visualize.m, posepile humbi.py
    subject_<n>/body/<frame:08d>/reconstruction/keypoints.txt
  HUMBI ships no 2-D keypoints or boxes for the body; the box is the projection of the 25 3-D
  OpenPose keypoints (``keypoints.txt``, rows x y z, metres) through ``P = K R [I | -C]``. Calibration
  files: 3 header lines, then per camera a line ``<ignored> <camera id>`` followed by K (3 rows) in
  ``intrinsic.txt``, or by the optical centre C (1 row) and R (3 rows, world to camera) in
  ``extrinsic.txt`` [V] HUMBI README "Camera Calibration", hand/extractCameraParameters.m. No file,
  no box. Silhouettes (the paper ran the PGN parser) are not part of HUMBI and are not read.

AIST++, ``AistPlusPlus(root)``:
    frames/<video>/<frame>.jpg       [A] frames pre-extracted from <video>.mp4, numbered from 0
    keypoints2d/<sequence>.pkl       [V] optional: ``keypoints2d`` (9 views, N, 17, 3) x, y, score
    ignore_list.txt                  [V] optional: sequences to skip
  ``<video>`` is the AIST video name, e.g. ``gBR_sBM_c01_d04_mBR0_ch01``; its sequence replaces the
  camera token ``c01..c09`` by ``cAll`` and view ``cXX`` is row XX-1 of ``keypoints2d``
  [V] google/aistplusplus_api loader.py. Videos are 60 fps and the annotations are indexed at
  60 fps, so extract every frame from 0 (as the API's ``ffmpeg_video_to_images`` does)::

      for v in videos/*.mp4; do n=$(basename "$v" .mp4); mkdir -p frames/$n
        ffmpeg -i "$v" -vf fps=60:round=down -start_number 0 -q:v 2 frames/$n/%08d.jpg; done

  Any zero padding works. Keypoints scoring under 0.15 (the API's triangulation threshold) are
  ignored for the box. Decoding mp4 directly would need a video decoder we do not ship.

Generic, ``MultiViewFolder(root)``:
    <sequence>/<camera>/<frame>.jpg|png      frame = an integer, e.g. 000012.jpg
    <sequence>/<camera>/<frame>.mask.png     optional person mask (non-zero = person)
  Frames with the same number in two camera folders are synchronous. (Camera above frame, unlike
  the ``<capture>/<frame>/<view>.jpg`` sketch in the reference notes: one folder per camera is how
  extracted videos land on disk.)
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crocohuman.core.boxes import KEYPOINT_BOX_MARGIN, Box, box_from_points
from crocohuman.core.errors import CorruptSampleError
from crocohuman.core.layout import require_dir
from crocohuman.core.pickles import load_pickle

from .captures import CaptureIndex, CaptureReader, ImageRef, View
from .frame_files import NumberedImages, sibling_mask

_AIST_CAMERA = re.compile(r"(?<=_)c(0[1-9])(?=_)")
AIST_MIN_KEYPOINT_SCORE = 0.15


@dataclass(frozen=True)
class _Cameras:
    """Per camera of one capture: its name for ``RawPair.source`` and its folder of numbered frames."""

    names: list[str]
    folders: list[NumberedImages]
    keypoints: Path | None = None  # AIST++ keypoints2d pickle of the sequence
    ids: list[int] = field(default_factory=list)  # AIST++ view numbers, 1..9


def _folder_capture(name: str, cameras: _Cameras, max_gap: int | None) -> tuple[CaptureIndex, _Cameras]:
    return CaptureIndex(name, [folder.numbers for folder in cameras.folders], max_gap), cameras


class MultiViewFolder(CaptureReader[_Cameras]):
    """Any synchronised capture stored as ``<root>/<sequence>/<camera>/<frame>.jpg|png``."""

    LAYOUT = "<root>/<sequence>/<camera>/<frame>.jpg|png (+ optional <frame>.mask.png)"

    def __init__(
        self, root: str | Path, cross_view_fraction: float = 0.5, max_gap: int | None = None, name: str = "multiview"
    ) -> None:
        self.name = name
        root = require_dir(root, name, self.LAYOUT)
        entries = []
        for sequence in sorted(p for p in root.iterdir() if p.is_dir()):
            cameras = sorted(p for p in sequence.iterdir() if p.is_dir())
            folders = _Cameras([c.name for c in cameras], [NumberedImages.scan(c) for c in cameras])
            entries.append(_folder_capture(sequence.name, folders, max_gap))
        super().__init__(entries, cross_view_fraction, root, self.LAYOUT)

    def _view(self, payload: _Cameras, capture: CaptureIndex, ref: ImageRef) -> View:
        frame = capture.frame(ref)
        path = payload.folders[ref[0]].path(frame)
        return View(path, f"{payload.names[ref[0]]}f{frame}", mask_path=sibling_mask(path))


class AistPlusPlus(CaptureReader[_Cameras]):
    """AIST++ dance sequences: 9 synchronised 60 fps views, boxes from the released 2-D keypoints."""

    name = "aist++"
    LAYOUT = (
        "<root>/frames/<video e.g. gBR_sBM_c01_d04_mBR0_ch01>/<frame from 0>.jpg "
        "(+ optional <root>/keypoints2d/<sequence with cAll>.pkl, <root>/ignore_list.txt)"
    )

    def __init__(self, root: str | Path, cross_view_fraction: float = 0.5, max_gap: int | None = None) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        frames = require_dir(root / "frames", self.name, self.LAYOUT)
        ignore_file = root / "ignore_list.txt"
        ignored = set(ignore_file.read_text().split()) if ignore_file.is_file() else set()
        videos: dict[str, dict[int, Path]] = defaultdict(dict)
        for video in sorted(p for p in frames.iterdir() if p.is_dir()):
            match = _AIST_CAMERA.search(video.name)
            if match is None or video.name in ignored:
                continue
            sequence = video.name[: match.start()] + "cAll" + video.name[match.end() :]
            videos[sequence][int(match[1])] = video
        entries = []
        for sequence, by_view in sorted(videos.items()):
            if sequence in ignored:
                continue
            views = sorted(by_view)
            keypoints = root / "keypoints2d" / f"{sequence}.pkl"
            cameras = _Cameras(
                [f"c{v:02d}" for v in views],
                [NumberedImages.scan(by_view[v]) for v in views],
                keypoints if keypoints.is_file() else None,
                views,
            )
            entries.append(_folder_capture(sequence, cameras, max_gap))
        super().__init__(entries, cross_view_fraction, root, self.LAYOUT)

    def _view(self, payload: _Cameras, capture: CaptureIndex, ref: ImageRef) -> View:
        frame = capture.frame(ref)
        box = None
        if payload.keypoints is not None:
            box = _aist_box(_aist_keypoints(payload.keypoints), payload.ids[ref[0]], frame)
        return View(payload.folders[ref[0]].path(frame), f"{payload.names[ref[0]]}f{frame}", box)


@functools.lru_cache(maxsize=4)
def _aist_keypoints(path: Path) -> np.ndarray:
    """(9, N, 17, 3) keypoints of one sequence, cached: both images of a pair read the same file."""
    data = load_pickle(path)
    keypoints = np.asarray(data.get("keypoints2d") if isinstance(data, dict) else None, dtype=np.float32)
    if keypoints.ndim != 4 or keypoints.shape[2:] != (17, 3):
        raise CorruptSampleError(f"{path}: expected keypoints2d of shape (9, N, 17, 3), got {keypoints.shape}")
    return keypoints


def _aist_box(keypoints: np.ndarray, view: int, frame: int) -> Box | None:
    if view - 1 >= keypoints.shape[0] or frame >= keypoints.shape[1]:
        return None
    points = keypoints[view - 1, frame]
    return box_from_points(points[:, :2], points[:, 2] >= AIST_MIN_KEYPOINT_SCORE, KEYPOINT_BOX_MARGIN)


@dataclass(frozen=True)
class _HumbiSubject:
    body: Path
    cameras: list[int]  # HUMBI camera ids, in capture camera order
    frame_dirs: dict[int, str]  # frame number -> folder name under body/


class HumbiBody(CaptureReader[_HumbiSubject]):
    """HUMBI body sessions: up to 107 synchronised cameras per frame, one capture per subject."""

    name = "humbi"
    LAYOUT = (
        "<root>/subject_<n>/body/<frame:08d>/image/image<cam:07d>.jpg "
        "(+ body/intrinsic.txt, body/extrinsic.txt, <frame>/reconstruction/keypoints.txt)"
    )

    def __init__(self, root: str | Path, cross_view_fraction: float = 0.5, max_gap: int | None = None) -> None:
        root = require_dir(root, self.name, self.LAYOUT)
        entries = []
        for subject in sorted(p for p in root.glob("subject_*") if p.is_dir()):
            body = subject / "body"
            if not body.is_dir():
                continue
            frame_dirs = {int(p.name): p.name for p in body.iterdir() if p.is_dir() and p.name.isdigit()}
            frames_by_camera: dict[int, list[int]] = defaultdict(list)
            for frame in sorted(frame_dirs):
                image_dir = body / frame_dirs[frame] / "image"
                if image_dir.is_dir():
                    for camera in NumberedImages.scan(image_dir, prefix="image").numbers:
                        frames_by_camera[int(camera)].append(frame)
            cameras = sorted(frames_by_camera)
            index = CaptureIndex(subject.name, [np.array(frames_by_camera[c]) for c in cameras], max_gap)
            entries.append((index, _HumbiSubject(body, cameras, frame_dirs)))
        super().__init__(entries, cross_view_fraction, root, self.LAYOUT)

    def _view(self, payload: _HumbiSubject, capture: CaptureIndex, ref: ImageRef) -> View:
        camera, frame = payload.cameras[ref[0]], capture.frame(ref)
        frame_dir = payload.body / payload.frame_dirs[frame]
        box = None
        projection = _humbi_projections(payload.body).get(camera)
        keypoints = frame_dir / "reconstruction" / "keypoints.txt"
        if projection is not None and keypoints.is_file():
            box = _projected_box(_read_table(keypoints)[:, :3], projection)
        return View(frame_dir / "image" / f"image{camera:07d}.jpg", f"c{camera}f{frame}", box)


def _read_table(path: Path) -> np.ndarray:
    try:
        return np.loadtxt(path, ndmin=2)
    except ValueError as err:
        raise CorruptSampleError(f"{path}: not a numeric table ({err})") from err


def _camera_blocks(path: Path, rows_per_camera: int) -> dict[int, np.ndarray]:
    """HUMBI calibration: 3 header lines, then blocks of '<ignored> <camera id>' + numeric rows."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()][3:]
    blocks = {}
    try:
        for start in range(0, len(lines) - rows_per_camera, rows_per_camera + 1):
            camera = int(float(lines[start][1]))
            blocks[camera] = np.array(lines[start + 1 : start + 1 + rows_per_camera], dtype=np.float64)
    except (ValueError, IndexError) as err:
        raise CorruptSampleError(f"{path}: malformed HUMBI calibration ({err})") from err
    return blocks


@functools.lru_cache(maxsize=16)
def _humbi_projections(body: Path) -> dict[int, np.ndarray]:
    """3x4 projection matrices ``K R [I | -C]`` per camera id; empty when calibration is absent."""
    if not (body / "intrinsic.txt").is_file() or not (body / "extrinsic.txt").is_file():
        return {}
    intrinsics = _camera_blocks(body / "intrinsic.txt", 3)
    extrinsics = _camera_blocks(body / "extrinsic.txt", 4)
    projections = {}
    for camera, rows in extrinsics.items():
        if camera in intrinsics:
            centre, rotation = rows[0], rows[1:4]
            projections[camera] = intrinsics[camera] @ rotation @ np.hstack([np.eye(3), -centre[:, None]])
    return projections


def _projected_box(points: np.ndarray, projection: np.ndarray) -> Box | None:
    """Box of the 3-D keypoints seen by the camera; all-zero rows are joints HUMBI did not find."""
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ projection.T
    depth = homogeneous[:, 2]
    valid = np.any(points != 0, axis=1) & (depth > 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        pixels = homogeneous[:, :2] / depth[:, None]
    return box_from_points(pixels, valid, KEYPOINT_BOX_MARGIN)
