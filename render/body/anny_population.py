"""anny's population of body shapes, drawn with numpy: the law of anny's ``SimpleShapeDistribution``
(morphological age uniform on 0-90 years, sex uniform, then height, weight, muscle and proportions
from Beta laws fitted per sex to WHO growth data, their parameters interpolated by age).

anny's own sampler builds eight torch Beta distributions per draw, ~8 ms, which a take of two
images pays once; here the same calibration tables (anny's ``shape_calibration/{boys,girls}.pth``)
are read once and a draw costs microseconds. Drawing from the take's numpy generator keeps a take a
function of (seed, take index) without seeding torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_MORPHOLOGICAL_AGE = 90.0  # anny's uniform law of morphological ages, years
SEXES = ("boys", "girls")  # anny's calibration files; phenotype gender <= 0.5 draws from boys
SLIDERS = ("height", "weight", "muscle", "proportions")  # drawn from Beta laws given age, in this order


def interpolation_weights(value: float, anchors: np.ndarray, extrapolate: bool) -> np.ndarray:
    """The weights (n,) of increasing ``anchors`` in the piecewise-linear interpolation at ``value``:
    two neighbours share it; past the ends, the end segments are continued (``extrapolate``) or the
    end anchor takes it all (anny's two interpolation modes)."""
    if not extrapolate:
        value = min(max(value, anchors[0]), anchors[-1])
    upper = int(np.clip(np.searchsorted(anchors, value), 1, len(anchors) - 1))
    weight = (value - anchors[upper - 1]) / (anchors[upper] - anchors[upper - 1])
    weights = np.zeros(len(anchors))
    weights[upper - 1], weights[upper] = 1.0 - weight, weight
    return weights


def interpolate(value: float, anchors: np.ndarray, values: np.ndarray, extrapolate: bool) -> float:
    """Piecewise-linear ``values`` at ``value`` over increasing ``anchors`` (see ``interpolation_weights``)."""
    return float(interpolation_weights(value, anchors, extrapolate) @ values)


@dataclass(frozen=True)
class BetaByAge:
    """A Beta law whose (alpha, beta) are interpolated by anny age between anchors, clamped at the ends."""

    ages: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray

    def sample(self, rng: np.random.Generator, age: float) -> float:
        alpha = interpolate(age, self.ages, self.alphas, extrapolate=False)
        beta = interpolate(age, self.ages, self.betas, extrapolate=False)
        return float(rng.beta(alpha, beta))


class AnnyPopulation:
    """Phenotype sliders of random people, at least ``min_age`` years old (morphologically)."""

    def __init__(self, calibration_dir: Path, min_age: float):
        import torch  # the calibration tables are torch state dicts

        tables = {
            sex: torch.load(calibration_dir / f"{sex}.pth", weights_only=True, map_location="cpu") for sex in SEXES
        }
        mapping = {key: value.double().numpy() for key, value in tables["boys"]["morphological_age_mapping"].items()}
        self.morphological_ages, self.anny_ages = mapping["morphological_age_anchors"], mapping["anny_age_anchors"]
        self.laws = {
            (sex, slider): BetaByAge(
                *(
                    tables[sex][f"conditional_{slider}_distribution"][key].double().numpy()
                    for key in ("age_anchors", "alpha_anchors", "beta_anchors")
                )
            )
            for sex in SEXES
            for slider in SLIDERS
        }
        self.min_age = min_age

    def sample(self, rng: np.random.Generator) -> tuple[float, dict[str, float]]:
        """(morphological age in years, anny's phenotype sliders). Uniform ages from ``min_age`` are
        anny's uniform ages redrawn until at least ``min_age``, in one draw."""
        morphological_age = float(rng.uniform(self.min_age, MAX_MORPHOLOGICAL_AGE))
        age = interpolate(morphological_age, self.morphological_ages, self.anny_ages, extrapolate=True)
        gender = float(rng.uniform())
        sex = SEXES[0] if gender <= 0.5 else SEXES[1]
        sliders = {slider: self.laws[sex, slider].sample(rng, age) for slider in SLIDERS}
        return morphological_age, {"gender": gender, "age": age, **sliders}
