"""A weighted mixture of pair sources as one map-style dataset, and a sampler that resumes exactly.

Indices are virtual: sample ``i`` draws everything (which source, which item, which views, the
crop and colour) from ``SeedSequence([seed, i])``. A sample is therefore the same whichever
worker, process or run computes it, and resuming a run means restarting the index stream at
the right place, which ``ResumableSampler`` does.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from crocohuman.core.errors import CorruptSampleError, CorruptSourceError
from crocohuman.core.registry import LazyRegistry
from crocohuman.model.pairs.transforms import PairTransform
from crocohuman.model.pairs.types import PairSource

log = logging.getLogger(__name__)

Objective = Literal["croco", "mae"]

# kind -> reader class; each reader checks its own folder and names the layout it expects when the
# folder is missing or malformed.
PAIR_SOURCES = LazyRegistry(
    "pair source kind",
    {
        "rendered": "crocohuman.model.pairs.rendered:RenderedShards",
        "render": "crocohuman.model.pairs.on_the_fly:RenderedOnTheFly",
        "humbi": "crocohuman.model.pairs.multiview:HumbiBody",
        "aist": "crocohuman.model.pairs.multiview:AistPlusPlus",
        "multiview": "crocohuman.model.pairs.multiview:MultiViewFolder",
        "3dpw": "crocohuman.model.pairs.video:ThreeDPWVideos",
        "posetrack": "crocohuman.model.pairs.video:PoseTrackVideos",
        "pennaction": "crocohuman.model.pairs.video:PennActionVideos",
        "jrdb": "crocohuman.model.pairs.video:JrdbVideos",
        "mars": "crocohuman.model.pairs.video:MarsVideos",
        "video": "crocohuman.model.pairs.video:VideoFolder",
        "interhand": "crocohuman.model.pairs.interhand:InterHand26M",
    },
)
SOURCE_KINDS = PAIR_SOURCES.names


@dataclass
class SourceConfig:
    """One source of the mixture: a reader kind, its data folder, its sampling weight, reader options."""

    kind: str
    root: str
    weight: float = 1.0
    options: dict = field(default_factory=dict)


def build_source(cfg: SourceConfig) -> PairSource:
    """The reader for ``cfg.kind`` over ``cfg.root``; readers are imported only when asked for."""
    return PAIR_SOURCES.get_or_raise(cfg.kind)(cfg.root, **cfg.options)


class PairMixture(Dataset):
    """Map-style dataset over virtual indices: sample ``i`` is a function of ``(seed, i)`` alone.

    ``objective="croco"`` gives pairs; ``"mae"`` gives single images (``img2`` repeats ``img1``,
    kind ``single``). A corrupt sample is logged and replaced by another draw from the same
    random stream, so the result stays deterministic; ``n_skipped`` in each sample counts those
    replacements, for the trainer to sum over workers.
    """

    def __init__(
        self,
        sources: Sequence[PairSource],
        weights: Sequence[float],
        transform: PairTransform | None = None,
        objective: Objective = "croco",
        seed: int = 0,
        max_skips: int = 100,
        labels: Sequence[str] | None = None,
    ):
        if not sources or len(sources) != len(weights):
            raise ValueError(f"need one weight per source, got {len(sources)} sources and {len(weights)} weights")
        weights = np.asarray(weights, np.float64)
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"weights must be non-negative with a positive sum, not {weights.tolist()}")
        if objective not in ("croco", "mae"):
            raise ValueError(f"objective must be 'croco' or 'mae', not {objective!r}")
        self.sources = list(sources)
        self.probabilities = weights / weights.sum()
        self.transform = transform or PairTransform()
        self.objective = objective
        self.seed = seed
        self.max_skips = max_skips
        self.labels = list(labels) if labels is not None else [source.name for source in self.sources]

    @classmethod
    def from_configs(cls, configs: Sequence[SourceConfig], **kwargs) -> PairMixture:
        return cls(
            [build_source(c) for c in configs],
            [c.weight for c in configs],
            labels=[f"{c.kind}:{c.root}" for c in configs],
            **kwargs,
        )

    @property
    def workers_render(self) -> bool:
        """Whether a source renders in the workers (``render:``): they then need their own cores."""
        return any(getattr(source, "needs_spawned_workers", False) for source in self.sources)

    @property
    def worker_start_method(self) -> str | None:
        """Spawned workers when a source renders (a child forked from a process that holds a GL
        context deadlocks), else None (the platform's default, fork)."""
        return "spawn" if self.workers_render else None

    def __len__(self) -> int:
        return 2**62  # indices are virtual; the sampler decides how many are drawn

    def _item(self, position: int, index: int, attempt: int, rng: np.random.Generator) -> int:
        """Which base item of source ``position`` sample ``index`` reads: drawn from the sample's own
        stream, except for a source whose items are dear (a take rendered live): there the
        ``samples_per_item`` samples of a block of indices share one item, drawn from the block."""
        source = self.sources[position]
        group = getattr(source, "samples_per_item", 1)
        if group == 1:
            return int(rng.integers(len(source)))
        block = np.random.SeedSequence([self.seed, index // group, position, attempt])
        return int(np.random.default_rng(block).integers(len(source)))

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index]))
        failed: dict[int, CorruptSampleError] = {}  # source position -> its last error
        for skipped in range(self.max_skips + 1):
            position = int(rng.choice(len(self.sources), p=self.probabilities))
            source = self.sources[position]
            try:
                raw = source.get(self._item(position, index, skipped, rng), rng)
                break
            except CorruptSampleError as error:
                failed[position] = error
                log.warning("sample %d: skipping a corrupt %s sample: %s", index, source.name, error)
        else:
            names = ", ".join(self.labels[p] for p in sorted(failed))
            last = "; ".join(f"{self.labels[p]}: {error}" for p, error in sorted(failed.items()))
            raise CorruptSourceError(
                f"data source {names}: {self.max_skips + 1} corrupt samples in a row at sample "
                f"{index}, is the data readable? (last errors: {last})"
            )
        if self.objective == "mae":
            raw = dataclasses.replace(raw, img2=raw.img1, mask2=raw.mask1, box2=raw.box1, kind="single")
        return {**self.transform.apply(raw, rng), "n_skipped": skipped}


class ResumableSampler(Sampler[int]):
    """Endless index stream of one DDP rank, in chunks: chunk c of the global stream (indices
    ``c * chunk`` to ``c * chunk + chunk - 1``) goes to rank ``c % world_size``.

    ``start`` counts the samples this rank already consumed, so restarting with it continues the
    interrupted stream exactly. Chunks of a batch keep a rank's batch on consecutive indices, which
    sources that share an item between neighbouring samples (``samples_per_item``) rely on.
    """

    def __init__(self, start: int = 0, world_size: int = 1, rank: int = 0, chunk: int = 1):
        if start < 0 or not 0 <= rank < world_size or chunk < 1:
            raise ValueError(
                f"need start >= 0, 0 <= rank < world_size and chunk >= 1, got {start}, {rank}, {world_size}, {chunk}"
            )
        self.start, self.world_size, self.rank, self.chunk = start, world_size, rank, chunk

    def __iter__(self) -> Iterator[int]:
        for k in itertools.count(self.start):
            yield ((k // self.chunk) * self.world_size + self.rank) * self.chunk + k % self.chunk


def make_loader(
    dataset: Dataset,
    batch_size: int,
    start: int = 0,
    num_workers: int = 0,
    world_size: int = 1,
    rank: int = 0,
    seed: int = 0,
) -> DataLoader:
    """An endless loader from sample position ``start`` of this rank.

    The samples seed themselves; ``seed`` only fixes torch's per-worker generators, for any
    code in the workers that draws from torch's global RNG.
    """
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ResumableSampler(start, world_size, rank, chunk=batch_size),
        num_workers=num_workers,
        multiprocessing_context=getattr(dataset, "worker_start_method", None) if num_workers else None,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
