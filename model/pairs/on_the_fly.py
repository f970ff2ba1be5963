"""Pairs from takes rendered on the fly, inside the DataLoader workers: ``--data render:SETTINGS``.

Nothing is written to disk. The renderer comes from ``crocohuman.render`` by name, through
``TAKE_STREAMS``, like a plugin: ``model`` has no import of ``render`` (DESIGN.md), and only this
source needs the renderer's dependencies (anny, moderngl, Mesa or a GPU's EGL driver).

A take costs its images plus a per-take overhead (body, texture, motion), so one take feeds
``pairs_per_take`` consecutive samples: the mixture gives them the same take index (see
``PairMixture``) and the worker that draws them renders it once. Samples stay a function of
``(seed, sample index)``, so a run resumes exactly, as from shards. Each worker renders on its own
EGL device: its rank's GPU on a multi-GPU node (``crocohuman.render.egl_device``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crocohuman.core.registry import LazyRegistry
from crocohuman.model.pairs.take_views import PairDraw
from crocohuman.model.pairs.types import RawPair

TAKE_STREAMS = LazyRegistry("take stream", {"render": "crocohuman.render.take_stream:TakeStream"})


class RenderedOnTheFly:
    """``PairSource`` over the takes a render settings file describes; ``len`` is its ``takes``.

    ``cross_view_fraction`` and ``frame_gap`` choose the two images of a take (``PairDraw``), as for
    shards; ``pairs_per_take`` samples in a row share one take (default: half its images, so that
    each image is used about once: 16 for takes of 8 views x 4 frames).
    """

    name = "render"
    needs_spawned_workers = True  # Mesa and GPU drivers do not survive fork() once GL has run in the parent

    def __init__(
        self,
        root: str | Path,
        cross_view_fraction: float = 0.5,
        frame_gap: int | None = None,
        pairs_per_take: int | None = None,
    ):
        if pairs_per_take is not None and pairs_per_take < 1:
            raise ValueError(f"pairs_per_take must be at least 1, not {pairs_per_take}")
        self.pair_draw = PairDraw(cross_view_fraction, frame_gap)
        self.stream = TAKE_STREAMS["render"](root)
        self.samples_per_item = pairs_per_take or max(1, self.stream.images_per_take // 2)
        self.root = Path(root)

    def __len__(self) -> int:
        return len(self.stream)

    def get(self, index: int, rng: np.random.Generator) -> RawPair:
        take = self.stream.take(index)
        frames, views = take.rgb.shape[:2]
        kind, (t1, v1), (t2, v2) = self.pair_draw.draw(frames, views, rng)
        return RawPair(
            img1=take.rgb[t1, v1],
            img2=take.rgb[t2, v2],
            kind=kind,
            source=f"{self.name}:{self.root.name}#{index:09d} t{t1}v{v1}-t{t2}v{v2}",
            mask1=take.parts[t1, v1] > 0,
            mask2=take.parts[t2, v2] > 0,
        )
