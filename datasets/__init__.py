"""Benchmark readers: each turns a dataset, as its authors distribute it, into ``BenchmarkSample``s,
for fine-tuning (train splits) and evaluation (test splits) alike.

``BENCHMARKS`` maps a benchmark name to its reader class and imports a reader module only when its
class is asked for, so opening 3DPW does not load the shard reader that the synthetic reader needs.
``open_benchmark(name, root, **options)`` builds one. No reader imports torch.
"""

from __future__ import annotations

from pathlib import Path

from crocohuman.core.registry import LazyRegistry

from .sample import BenchmarkSample, BenchmarkSplit

BENCHMARKS = LazyRegistry(
    "benchmark",
    {
        "3dpw": "crocohuman.datasets.threedpw:ThreeDPW",
        "eft-coco": "crocohuman.datasets.eft_coco:EftCoco",
        "freihand": "crocohuman.datasets.freihand:FreiHand",
        "densepose": "crocohuman.datasets.densepose_coco:DensePoseCoco",
        "hagrid": "crocohuman.datasets.hagrid:HaGrid",
        "gun71": "crocohuman.datasets.gun71:Gun71",
        "interhand": "crocohuman.datasets.interhand_crops:InterHandCrops",
        "synthetic": "crocohuman.datasets.synthetic:SyntheticTakes",
    },
)
BENCHMARK_NAMES: tuple[str, ...] = BENCHMARKS.names


def open_benchmark(name: str, root: str | Path, **options) -> BenchmarkSplit:
    """The reader of benchmark ``name`` over ``root``; unknown names raise ValueError listing the known."""
    return BENCHMARKS.get_or_raise(name)(root, **options)


__all__ = ["BENCHMARKS", "BENCHMARK_NAMES", "BenchmarkSample", "BenchmarkSplit", "open_benchmark"]
