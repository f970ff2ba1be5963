"""Noise fields for painting textures, made once per atlas size and read by every identity.

Drawing white noise and blurring it over the whole atlas was most of the cost of painting an
identity (about 40 ms of 65 at 512²), and that cost is paid per take: small takes spent more time
on it than on rendering. The fields here are periodic (blurred with wrap-around) and drawn from a
fixed seed, so every process holds the same ones; each identity reads them at its own random
toroidal offset, on the texels that use them. A take's texture still depends on its own random
stream alone, and no two identities share a pattern's placement.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

SMOOTH_SIGMAS = (3.0, 4.5, 6.0, 8.5, 12.0)  # blur scales (texels) of the smooth fields: mottled fabrics
SKIN_SIGMA = 6.0  # one of SMOOTH_SIGMAS: blotches of skin tone
_BANK_SEED = 12  # fixed: the fields are the same in every process and every job


@dataclass(frozen=True)
class NoiseField:
    """A periodic (S, S) float32 field with zero mean and unit standard deviation, stored tiled
    twice along both axes so that a window at any offset is a plain slice or gather."""

    tiled: np.ndarray  # (2S, 2S)

    @property
    def size(self) -> int:
        return self.tiled.shape[0] // 2

    def window(self, rng: np.random.Generator) -> np.ndarray:
        """The whole field (S, S) seen from a random offset (a view, not a copy)."""
        dy, dx = rng.integers(self.size, size=2)
        return self.tiled[dy : dy + self.size, dx : dx + self.size]

    def at(self, rng: np.random.Generator, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """The field at texels (``row``, ``col``), seen from a random offset."""
        dy, dx = rng.integers(self.size, size=2)
        stride = 2 * self.size
        return self.tiled.reshape(-1).take(row * stride + col + (dy * stride + dx))


@dataclass(frozen=True)
class NoiseBank:
    white: NoiseField  # fabric grain
    smooth: dict[float, NoiseField]  # by blur sigma (texels)


def _field(values: np.ndarray) -> NoiseField:
    values = (values - values.mean()) / (values.std() + 1e-12)
    tiled = np.tile(values.astype(np.float32), (2, 2))
    tiled.flags.writeable = False
    return NoiseField(tiled)


@functools.lru_cache(maxsize=4)
def noise_bank(size: int) -> NoiseBank:
    """The fields for an atlas of ``size`` x ``size`` texels (about 0.1 s to build at 512²)."""
    rng = np.random.default_rng(np.random.SeedSequence([_BANK_SEED, size]))
    white = [rng.standard_normal((size, size)) for _ in range(1 + len(SMOOTH_SIGMAS))]
    return NoiseBank(
        white=_field(white[0]),
        smooth={
            sigma: _field(ndimage.gaussian_filter(noise, sigma, mode="wrap"))
            for sigma, noise in zip(SMOOTH_SIGMAS, white[1:], strict=True)
        },
    )
