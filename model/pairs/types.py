"""What every pair source hands the training loader: two images of the same person, raw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from crocohuman.core.boxes import Box

PairKind = Literal["cross_view", "cross_pose", "single"]


@dataclass
class RawPair:
    """Two full images before cropping; ``img2`` is the reference, ``img1`` the one to complete.

    Person location per image, the best the source has: a mask (H, W) bool, else a box
    (x0, y0, x1, y1) in pixels, else None (the loader then takes a centred crop). ``single``
    pairs (the MAE objective) carry the same image twice.
    """

    img1: np.ndarray  # (H, W, 3) uint8 sRGB
    img2: np.ndarray  # (H, W, 3) uint8 sRGB
    kind: PairKind
    source: str  # e.g. "rendered:shard-000003.tar#000000025 t1v0-t1v5", "3dpw:courtyard_basketball_00 f120-f135"
    mask1: np.ndarray | None = None
    mask2: np.ndarray | None = None
    box1: Box | None = None
    box2: Box | None = None


class PairSource(Protocol):
    """A dataset of pairs addressed by index: the same index always gives the same pair.

    ``len`` is the number of distinct base items (takes, sequences...); ``get`` draws the pair's
    random choices (which views, which frames) from ``rng``. A corrupt file raises
    ``crocohuman.core.errors.CorruptSampleError`` naming it, so the mixture can skip it and count it.
    """

    name: str

    def __len__(self) -> int: ...

    def get(self, index: int, rng: np.random.Generator) -> RawPair: ...
