"""Checks shared by the benchmark-reader tests: a sample's invariants, a truncated file, a fixture rotation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crocohuman.datasets.sample import BenchmarkSample

ROT_X180 = np.diag([1.0, -1.0, -1.0])  # 180 degrees about x


def cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def check_sample(sample: BenchmarkSample) -> None:
    assert sample.image.dtype == np.uint8 and sample.image.ndim == 3 and sample.image.shape[2] == 3
    x0, y0, x1, y1 = sample.box
    assert x0 < x1 and y0 < y1
    assert isinstance(sample.key, str) and ":" in sample.key
