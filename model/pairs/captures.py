"""Captures for the native-layout pair readers: the per-capture index that draws cross-view /
cross-pose image pairs, and ``CaptureReader``, the ``PairSource`` base of the readers over them.

A *capture* is one multi-view take (cameras x frames) or one video track (a single camera). Its
images are addressed by ``(camera position, position in that camera's sorted frame list)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from crocohuman.core.boxes import Box, clip_box
from crocohuman.core.errors import CorruptSampleError
from crocohuman.core.images import read_mask, read_rgb

from .types import PairKind, RawPair

ImageRef = tuple[int, int]  # (camera position in the capture, position in that camera's frame list)
P = TypeVar("P")


# ---------------------------------------------------------------------------------- capture index


def _has_neighbour(frames: np.ndarray, max_gap: int | None) -> np.ndarray:
    """Which frames have another frame of the same camera at most ``max_gap`` away."""
    if len(frames) < 2:
        return np.zeros(len(frames), dtype=bool)
    if max_gap is None:
        return np.ones(len(frames), dtype=bool)
    close = np.diff(frames) <= max_gap
    return np.concatenate([[False], close]) | np.concatenate([close, [False]])


class CaptureIndex:
    """One capture's images as sorted frame numbers per camera, ready to draw pairs in O(log n).

    Cross-view: one frame seen by two or more cameras, two of those cameras. Cross-pose: one camera,
    an anchor frame, and a second frame at most ``max_gap`` frame numbers away (``None``: any).
    Anchors are drawn uniformly over images that have a partner, so no draw ever fails.
    """

    def __init__(self, name: str, frames_per_camera: Sequence[np.ndarray], max_gap: int | None) -> None:
        if max_gap is not None and max_gap < 1:
            raise ValueError(f"max_gap must be >= 1 or None, got {max_gap}")
        self.name = name
        self.frames = [np.asarray(f, dtype=np.int64) for f in frames_per_camera]
        for frames in self.frames:
            if frames.ndim != 1 or np.any(np.diff(frames) <= 0):
                raise ValueError(f"{name}: a camera's frame numbers must be 1-D and strictly increasing")
        self.max_gap = max_gap
        anchors = [np.flatnonzero(_has_neighbour(f, max_gap)) for f in self.frames]
        # None stands for "every position": the common case, stored for free
        self._pose_anchors = [a if len(a) < len(f) else None for a, f in zip(anchors, self.frames)]
        self._pose_cumulative = np.cumsum([len(a) for a in anchors], dtype=np.int64)
        if len(self.frames) > 1:
            seen, counts = np.unique(np.concatenate(self.frames), return_counts=True)
            self._shared_frames = seen[counts >= 2]
        else:
            self._shared_frames = np.zeros(0, dtype=np.int64)

    @property
    def has_cross_view(self) -> bool:
        return len(self._shared_frames) > 0

    @property
    def has_cross_pose(self) -> bool:
        return len(self._pose_cumulative) > 0 and self._pose_cumulative[-1] > 0

    def frame(self, ref: ImageRef) -> int:
        return int(self.frames[ref[0]][ref[1]])

    def draw(self, kind: PairKind, rng: np.random.Generator) -> tuple[ImageRef, ImageRef]:
        if kind == "cross_view":
            return self._draw_cross_view(rng)
        if kind == "cross_pose":
            return self._draw_cross_pose(rng)
        raise ValueError(f"a capture draws cross_view or cross_pose pairs, not {kind!r}")

    def _draw_cross_view(self, rng: np.random.Generator) -> tuple[ImageRef, ImageRef]:
        frame = self._shared_frames[rng.integers(len(self._shared_frames))]
        seen_by = []
        for camera, frames in enumerate(self.frames):
            position = int(np.searchsorted(frames, frame))
            if position < len(frames) and frames[position] == frame:
                seen_by.append((camera, position))
        first, second = rng.choice(len(seen_by), size=2, replace=False)
        return seen_by[first], seen_by[second]

    def _draw_cross_pose(self, rng: np.random.Generator) -> tuple[ImageRef, ImageRef]:
        draw = int(rng.integers(self._pose_cumulative[-1]))
        camera = int(np.searchsorted(self._pose_cumulative, draw, side="right"))
        offset = draw - (int(self._pose_cumulative[camera - 1]) if camera else 0)
        anchors = self._pose_anchors[camera]
        anchor = int(anchors[offset]) if anchors is not None else offset
        frames = self.frames[camera]
        if self.max_gap is None:
            low, high = 0, len(frames)
        else:
            low = int(np.searchsorted(frames, frames[anchor] - self.max_gap, side="left"))
            high = int(np.searchsorted(frames, frames[anchor] + self.max_gap, side="right"))
        partner = low + int(rng.integers(high - low - 1))
        partner += partner >= anchor  # skip the anchor itself
        return (camera, anchor), (camera, partner)


# ----------------------------------------------------------------------------------- pair source


@dataclass(frozen=True)
class View:
    """Where one image of a pair lives and what its source knows about the person in it."""

    path: Path
    label: str  # short position tag for RawPair.source, e.g. "c01f120"
    box: Box | None = None  # may reach outside the image; clipped once the image size is known
    mask_path: Path | None = None


def load_view(view: View) -> tuple[np.ndarray, Box | None, np.ndarray | None]:
    """A view's image, mask and clipped box. A missing image is a corrupt sample here (the mixture
    skips it, as it skips an undecodable one): frame lists come from annotations that may list more."""
    try:
        image = read_rgb(view.path)
    except FileNotFoundError as err:
        raise CorruptSampleError(str(err)) from err
    height, width = image.shape[:2]
    mask = read_mask(view.mask_path, (height, width)) if view.mask_path is not None else None
    box = clip_box(view.box, width, height) if view.box is not None else None
    return image, box, mask


class CaptureReader(Generic[P]):
    """A ``PairSource`` over captures: ``index`` picks a capture, ``rng`` the pair kind and images.

    Subclasses build ``(CaptureIndex, payload)`` entries from their native layout and implement
    ``_view`` (payload + image reference -> file, box, mask). Captures with nothing to pair are
    dropped; a reader left with none raises, naming the root and the expected layout.
    """

    name = "captures"

    def __init__(
        self, entries: Iterable[tuple[CaptureIndex, P]], cross_view_fraction: float, root: Path, layout: str
    ) -> None:
        if not 0.0 <= cross_view_fraction <= 1.0:
            raise ValueError(f"cross_view_fraction must be in [0, 1], got {cross_view_fraction}")
        kept = [(capture, payload) for capture, payload in entries if capture.has_cross_view or capture.has_cross_pose]
        if not kept:
            raise ValueError(
                f"{self.name}: nothing to pair under {root} (need two frames or two views "
                f"of one capture); expected layout: {layout}"
            )
        self._captures = [capture for capture, _ in kept]
        self._payloads = [payload for _, payload in kept]
        self.cross_view_fraction = cross_view_fraction

    def __len__(self) -> int:
        return len(self._captures)

    def get(self, index: int, rng: np.random.Generator) -> RawPair:
        slot, kind = self._slot_and_kind(index, rng)
        capture, payload = self._captures[slot], self._payloads[slot]
        first, second = capture.draw(kind, rng)
        view1, view2 = self._view(payload, capture, first), self._view(payload, capture, second)
        img1, box1, mask1 = load_view(view1)
        img2, box2, mask2 = load_view(view2)
        source = f"{self.name}:{capture.name} {view1.label}-{view2.label}"
        return RawPair(img1, img2, kind, source, mask1=mask1, mask2=mask2, box1=box1, box2=box2)

    def _slot_and_kind(self, index: int, rng: np.random.Generator) -> tuple[int, PairKind]:
        """Capture ``index``; cross-view with probability ``cross_view_fraction`` when it has views."""
        capture = self._captures[index]
        wants_view = rng.random() < self.cross_view_fraction
        use_view = (wants_view and capture.has_cross_view) or not capture.has_cross_pose
        return index, "cross_view" if use_view else "cross_pose"

    def _view(self, payload: P, capture: CaptureIndex, ref: ImageRef) -> View:
        raise NotImplementedError
