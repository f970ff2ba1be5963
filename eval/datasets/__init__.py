"""Benchmark readers: each turns a dataset, as its authors distribute it, into ``EvalSample``s.

``BENCHMARKS`` maps a benchmark name to its reader class and imports a reader module only when its
class is asked for, so opening 3DPW does not load the renderer that the synthetic reader needs.
``open_benchmark(name, root, **options)`` builds one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from .types import EvalDataset, EvalSample

_READERS = {
    "3dpw": ("threedpw", "ThreeDPW"),
    "eft-coco": ("eft_coco", "EftCoco"),
    "freihand": ("freihand", "FreiHand"),
    "densepose": ("densepose_coco", "DensePoseCoco"),
    "hagrid": ("hagrid", "HaGrid"),
    "gun71": ("gun71", "Gun71"),
    "interhand": ("interhand_crops", "InterHandCrops"),
    "synthetic": ("synthetic", "SyntheticTakes"),
}


class _Registry(Mapping):
    """Benchmark name -> reader class, importing the reader's module on first use."""

    def __getitem__(self, name: str) -> type:
        module, cls = _READERS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), cls)

    def __contains__(self, name: object) -> bool:  # without importing the reader (Mapping's would)
        return name in _READERS

    def __iter__(self) -> Iterator[str]:
        return iter(_READERS)

    def __len__(self) -> int:
        return len(_READERS)


BENCHMARKS: Mapping[str, type] = _Registry()


def open_benchmark(name: str, root: str | Path, **options) -> EvalDataset:
    """The reader of benchmark ``name`` over ``root``; unknown names raise ValueError listing the known."""
    if name not in _READERS:
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(_READERS)}")
    return BENCHMARKS[name](root, **options)


__all__ = ["BENCHMARKS", "EvalDataset", "EvalSample", "open_benchmark"]
