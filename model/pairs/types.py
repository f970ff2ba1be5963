"""What every pair source hands the training loader: two images of the same person, raw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

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
    box1: tuple[float, float, float, float] | None = None
    box2: tuple[float, float, float, float] | None = None


class PairSource(Protocol):
    """A dataset of pairs addressed by index: the same index always gives the same pair.

    ``len`` is the number of distinct base items (takes, sequences...); ``get`` draws the pair's
    random choices (which views, which frames) from ``rng``. A corrupt file raises
    ``CorruptSampleError`` naming it, so the mixture can skip it and count it.
    """

    name: str

    def __len__(self) -> int: ...

    def get(self, index: int, rng: np.random.Generator) -> RawPair: ...


class CorruptSampleError(Exception):
    """A sample could not be read (truncated shard, unreadable image); the message names the file."""


class CorruptSourceError(ValueError):
    """Every draw in a long run failed: a source's files are unreadable. The message names the sources
    (``kind:root``); raised in a DataLoader worker, it reaches the main process inside torch's
    wrapper text, from which ``headline`` takes the original message back."""

    def headline(self) -> str:
        """The original one-line message, also when torch re-raised it with the worker's traceback."""
        lines = [line for line in str(self).splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        marker = f"{type(self).__name__}: "
        return last.split(marker, 1)[1] if marker in last else last
