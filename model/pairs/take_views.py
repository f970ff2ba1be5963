"""Which two images of a take make a pair: one time step seen by two cameras (cross-view) or one
camera at two time steps (cross-pose). Shared by every source of takes, on disk or rendered live,
so the same take and the same random stream give the same pair whichever source holds it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crocohuman.model.pairs.types import PairKind

View = tuple[int, int]  # (time step, camera)


@dataclass(frozen=True)
class PairDraw:
    """``cross_view_fraction``: probability of a cross-view pair when a take allows both kinds
    (T == 1 allows only cross-view, N == 1 only cross-pose, T == N == 1 a single image).
    ``frame_gap`` bounds |t - t'| of cross-pose pairs in time steps (None: any two steps)."""

    cross_view_fraction: float = 0.5
    frame_gap: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.cross_view_fraction <= 1.0:
            raise ValueError(f"cross_view_fraction must be in [0, 1], not {self.cross_view_fraction}")
        if self.frame_gap is not None and self.frame_gap < 1:
            raise ValueError(f"frame_gap must be at least 1, not {self.frame_gap}")

    def kind(self, frames: int, views: int, rng: np.random.Generator) -> PairKind:
        if frames == 1 and views == 1:
            return "single"
        if frames == 1:
            return "cross_view"
        if views == 1:
            return "cross_pose"
        return "cross_view" if rng.random() < self.cross_view_fraction else "cross_pose"

    def draw(self, frames: int, views: int, rng: np.random.Generator) -> tuple[PairKind, View, View]:
        """The pair's kind, then (t, v) of img1 and of img2, of a take of ``frames`` x ``views`` images."""
        kind = self.kind(frames, views, rng)
        if kind == "cross_view":
            t = int(rng.integers(frames))
            v1, v2 = (int(v) for v in rng.choice(views, size=2, replace=False))
            return kind, (t, v1), (t, v2)
        if kind == "cross_pose":
            v = int(rng.integers(views))
            t1 = int(rng.integers(frames))
            gap = frames if self.frame_gap is None else self.frame_gap
            t2 = int(rng.choice([t for t in range(frames) if t != t1 and abs(t - t1) <= gap]))
            return kind, (t1, v), (t2, v)
        return kind, (0, 0), (0, 0)
