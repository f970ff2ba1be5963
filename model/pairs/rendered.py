"""Pairs from our rendered shards (docs/data-format.md): one take = T time steps x N synchronised views.

Two images of a take at the same time step are a cross-view pair, two from the same camera a
cross-pose pair. Construction reads only tar headers; a pair then reads its 4 files (two RGB,
two part maps) by offset, so random access over many shards stays cheap.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from crocohuman.core.errors import CorruptSampleError
from crocohuman.core.shard_names import parse_image_field
from crocohuman.core.shards import index_shard, list_shards, read_member
from crocohuman.model.pairs.take_views import PairDraw
from crocohuman.model.pairs.types import RawPair

log = logging.getLogger(__name__)

_RGB, _PARTS = 0, 1
_SLOTS = {"rgb": _RGB, "parts": _PARTS}


@dataclass(frozen=True)
class _Take:
    shard: Path
    key: str
    files: np.ndarray  # (T, N, 2, 2) int64: [t, v, _RGB | _PARTS] -> (offset, size); an array keeps big indexes small

    @property
    def frames(self) -> int:
        return self.files.shape[0]

    @property
    def views(self) -> int:
        return self.files.shape[1]


class RenderedShards:
    """``PairSource`` over a folder of ``shard-*.tar``; ``len`` is the number of takes.

    ``cross_view_fraction`` and ``frame_gap`` choose the two images of a take (``PairDraw``).
    Truncated shards are skipped at construction, one warning each, and counted in ``skipped``.
    """

    name = "rendered"

    def __init__(self, root: str | Path, cross_view_fraction: float = 0.5, frame_gap: int | None = None):
        self.pair_draw = PairDraw(cross_view_fraction, frame_gap)
        self.root = Path(root)
        shards = list_shards(self.root)
        if not shards:
            raise FileNotFoundError(f"{self.root}: no shard-*.tar files (a croco-render output folder)")
        self.takes: list[_Take] = []
        self.skipped = 0
        for shard in shards:
            try:
                self.takes += _index_takes(shard)
            except ValueError as error:
                log.warning("skipping shard %s: %s", shard, error)
                self.skipped += 1
        if not self.takes:
            raise ValueError(f"{self.root}: none of its {len(shards)} shards is readable")

    def __len__(self) -> int:
        return len(self.takes)

    def get(self, index: int, rng: np.random.Generator) -> RawPair:
        take = self.takes[index]
        kind, (t1, v1), (t2, v2) = self.pair_draw.draw(take.frames, take.views, rng)
        img1, mask1 = _read_view(take, t1, v1)
        img2, mask2 = _read_view(take, t2, v2)
        source = f"{self.name}:{take.shard.name}#{take.key} t{t1}v{v1}-t{t2}v{v2}"
        return RawPair(img1=img1, img2=img2, kind=kind, source=source, mask1=mask1, mask2=mask2)


def _index_takes(shard: Path) -> list[_Take]:
    """The takes of one shard with the offsets of their RGB and part images; ValueError if any is incomplete."""
    takes = []
    for key, fields in index_shard(shard).items():
        found = {}
        for field, location in fields.items():
            place = parse_image_field(field)
            if place is not None and place[2] in _SLOTS:
                found[place[0], place[1], _SLOTS[place[2]]] = location
        frames = 1 + max((t for t, _, _ in found), default=-1)
        views = 1 + max((v for _, v, _ in found), default=-1)
        if not found or len(found) != 2 * frames * views:
            raise ValueError(f"take {key} has {len(found)} of its {2 * frames * views} RGB and part images")
        files = np.zeros((frames, views, 2, 2), np.int64)
        for place, location in found.items():
            files[place] = location
        takes.append(_Take(shard, key, files))
    return takes


def _read_view(take: _Take, t: int, v: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB (H, W, 3) uint8 and person mask (H, W) bool of one image of a take."""
    try:
        rgb = Image.open(io.BytesIO(read_member(take.shard, *take.files[t, v, _RGB].tolist())))
        parts = Image.open(io.BytesIO(read_member(take.shard, *take.files[t, v, _PARTS].tolist())))
        return np.asarray(rgb.convert("RGB")), np.asarray(parts) > 0
    except (OSError, ValueError) as error:
        raise CorruptSampleError(f"{take.shard}: take {take.key} t{t:02d} v{v:02d} unreadable ({error})") from error
