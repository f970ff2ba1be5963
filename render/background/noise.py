"""The pixel canvas and the random sources every procedural layer draws from: smooth value-noise
fields, a fixed sensor-grain tile, and a uniform pick among options.

Images are planar (3, H, W) float32. Noise lattices are enlarged by separable gathers, and whatever
depends only on the image size (pixel grids, interpolation taps, the grain tile, the clutter's noise
fields) is cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np

_T = TypeVar("_T")


def pick(rng: np.random.Generator, options: tuple[_T, ...]) -> _T:
    """A uniformly random option (repeat an option to weight it)."""
    return options[int(len(options) * rng.random())]  # random() is 3x cheaper than integers()


@dataclass(frozen=True)
class Canvas:
    """Pixel-centre coordinates in units of the longer image side, so looks don't depend on size."""

    h: int
    w: int
    x: np.ndarray  # (1, W) float32
    y: np.ndarray  # (H, 1) float32
    vignette: np.ndarray  # (H, W) float32 squared distance to the centre, 1 at the corners


@lru_cache(maxsize=8)
def canvas(h: int, w: int) -> Canvas:
    s = float(max(h, w))
    x = ((np.arange(w, dtype=np.float32) + 0.5) / s)[None, :]
    y = ((np.arange(h, dtype=np.float32) + 0.5) / s)[:, None]
    r2 = (x - w / (2 * s)) ** 2 + (y - h / (2 * s)) ** 2
    for a in (x, y, r2):
        a.flags.writeable = False
    return Canvas(h, w, x, y, r2 / max(float(r2.max()), 1e-12))


@lru_cache(maxsize=128)
def _taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left index, right index and right weight to resize n_in cell-centred samples to n_out."""
    t = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    left = np.minimum(np.floor(t).astype(np.intp), max(n_in - 2, 0))
    return left, np.minimum(left + 1, n_in - 1), (t - left).astype(np.float32)


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Linearly resize the last two axes of ``a`` to (h, w), separably, with gathers.

    Gathers, not matrix products: for these sizes BLAS starts threads, which crawl when the
    cores are busy with other render workers.
    """
    left, right, f = _taps(a.shape[-2], h)
    lo = a.take(left, axis=-2)  # take, unlike fancy indexing, keeps the result C-ordered
    a = lo + (a.take(right, axis=-2) - lo) * f[:, None]
    left, right, f = _taps(a.shape[-1], w)
    lo = a.take(left, axis=-1)
    return lo + (a.take(right, axis=-1) - lo) * f


def upsample(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Enlarge the last two axes of ``a`` to (h, w) by repeated linear doubling.

    Chained linear steps converge to a smooth spline, so coarse lattices come out without the
    visible kinks of a single interpolation step.
    """
    while 2 * a.shape[-2] <= h or 2 * a.shape[-1] <= w:
        a = _resize(a, min(2 * a.shape[-2], h), min(2 * a.shape[-1], w))
    return a if a.shape[-2:] == (h, w) else _resize(a, h, w)


@lru_cache(maxsize=4)
def sensor_noise_tile(h: int, w: int) -> np.ndarray:
    """Fixed Gaussian noise (int8, sigma 32) twice the image size; a random crop is the grain."""
    tile = np.random.default_rng(0).normal(0.0, 32.0, (3, 2 * h, 2 * w))
    tile = np.clip(tile, -127, 127).astype(np.int8)
    tile.flags.writeable = False
    return tile


def fbm(
    rng: np.random.Generator, cv: Canvas, cells: float, octaves: int, gain: float = 0.5, stretch: float = 1.0
) -> np.ndarray:
    """Fractal value noise in [0, 1], (H, W); ``stretch`` > 1 elongates it along x (grain).

    Built like a pyramid: each octave's lattice is the previous one doubled plus new random
    values, and the finest one is doubled on up to full resolution.
    """
    s = max(cv.h, cv.w)
    gy, gx = max(1, round(cells * cv.h / s)), max(1, round(cells * cv.w / s / stretch))
    grid = rng.random((gy, gx), dtype=np.float32)
    amp = np.float32(1.0)
    for _ in range(1, octaves):
        gy, gx, amp = 2 * gy, 2 * gx, amp * np.float32(gain)
        grid = _resize(grid, gy, gx) + amp * rng.random((gy, gx), dtype=np.float32)
    out = upsample(grid, cv.h, cv.w)
    lo, hi = out.min(), out.max()
    out -= lo
    out *= np.float32(1.0 / max(hi - lo, 1e-6))
    return out


BANK_CELLS = (3.0, 4.5, 6.5, 10.0)  # lattice cells across the canvas of the clutter noise fields
_BANK_SEED = 5  # fixed: the fields are the same in every process and every job


@lru_cache(maxsize=8)
def _bank_fields(h: int, w: int) -> tuple[np.ndarray, ...]:
    """fbm fields twice the canvas's size each way, one per ``BANK_CELLS`` (features of the same
    size as on the canvas), from a fixed seed: made once per canvas size (~15 ms at 256²)."""
    rng = np.random.default_rng(np.random.SeedSequence([_BANK_SEED, h, w]))
    fields = tuple(fbm(rng, canvas(2 * h, 2 * w), 2 * cells, 3) for cells in BANK_CELLS)
    for field in fields:
        field.flags.writeable = False
    return fields


def noise_bank(rng: np.random.Generator, cv: Canvas) -> tuple[np.ndarray, ...]:
    """Noise fields that clutter items take their textures from: one window of a cached field at a
    random offset, and its three flips (drawing a new field per background cost ~0.4 ms at 256²)."""
    field = pick(rng, _bank_fields(cv.h, cv.w))
    dy, dx = int(cv.h * rng.random()), int(cv.w * rng.random())
    noise = field[dy : dy + cv.h, dx : dx + cv.w]
    return noise, noise[::-1], noise[:, ::-1], noise[::-1, ::-1]
