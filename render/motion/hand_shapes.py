"""The built-in finger sampler's catalogue: grasps, gestures and two-hand shapes, as a few named
numbers per hand (how much each finger curls, where the thumb sits, how far the fingers spread).

Values are targets; ``fingers`` turns them into joint angles, adds per-take variation and clamps
them to joint limits. Curl runs from 0 (straight) to 1 (a fist's curl); order thumb to pinky.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HandShape:
    """One hand's posture, in the few numbers that tell grasps and gestures apart."""

    curl: tuple[float, float, float, float, float]  # thumb, index, middle, ring, pinky: 0 straight .. 1 fist
    opposition: float = 0.0  # thumb: 0 alongside the index .. 1 facing the fingertips across the palm
    spread: float = 0.0  # fingers: -1 pressed together .. 1 splayed
    knuckle: float = 0.0  # 0 even curl .. 1 straight fingers bent at the knuckles only (flat, pad-to-pad grips)


RELAXED = HandShape(curl=(0.2, 0.25, 0.3, 0.35, 0.4), opposition=0.2, spread=0.1)

# Grasp taxonomy heads (Feix et al.'s power / precision / intermediate classes), one typical shape each.
GRASPS: dict[str, HandShape] = {
    "power": HandShape(curl=(0.55, 0.75, 0.8, 0.85, 0.9), opposition=0.8, spread=-0.3),
    "spherical": HandShape(curl=(0.4, 0.4, 0.45, 0.5, 0.55), opposition=0.7, spread=0.7),
    "precision": HandShape(curl=(0.15, 0.6, 0.35, 0.3, 0.25), opposition=0.95, knuckle=0.3),
    "tripod": HandShape(curl=(0.2, 0.55, 0.6, 0.45, 0.4), opposition=0.9, spread=-0.5),
    "lateral": HandShape(curl=(0.15, 0.85, 0.9, 0.9, 0.95), opposition=0.05, spread=-0.5),
    "hook": HandShape(curl=(0.1, 0.6, 0.65, 0.65, 0.7), opposition=0.1, spread=-0.6),
}

GESTURES: dict[str, HandShape] = {
    "fist": HandShape(curl=(0.85, 1.0, 1.0, 1.0, 1.0), opposition=0.4, spread=-0.5),
    "point": HandShape(curl=(0.6, 0.0, 1.0, 1.0, 1.0), opposition=0.5),
    "open_palm": HandShape(curl=(0.0, 0.0, 0.0, 0.0, 0.0), opposition=0.0, spread=1.0),
    "pinch": HandShape(curl=(0.1, 0.55, 0.25, 0.25, 0.2), opposition=1.0),
    "ok": HandShape(curl=(0.1, 0.55, 0.05, 0.1, 0.1), opposition=1.0, spread=0.6),
    "thumbs_up": HandShape(curl=(0.0, 1.0, 1.0, 1.0, 1.0), opposition=0.0, spread=-0.5),
    "count_1": HandShape(curl=(0.9, 0.0, 1.0, 1.0, 1.0), opposition=0.7, spread=-0.2),
    "count_2": HandShape(curl=(0.9, 0.0, 0.0, 1.0, 1.0), opposition=0.7, spread=0.8),
    "count_3": HandShape(curl=(0.8, 0.0, 0.0, 0.0, 1.0), opposition=0.9, spread=0.5),
    "count_4": HandShape(curl=(0.9, 0.0, 0.0, 0.0, 0.0), opposition=0.8, spread=0.5),
    "count_5": HandShape(curl=(0.0, 0.0, 0.0, 0.0, 0.0), opposition=0.0, spread=0.9),
}

# Two hands, one shape each, held together when the arms bring them together: fingers interlaced
# (clasped) or pressed palm to palm (both hands flat, fingers together).
TWO_HAND_SHAPES: dict[str, HandShape] = {
    "clasped": HandShape(curl=(0.3, 0.6, 0.6, 0.6, 0.6), opposition=0.3, spread=1.0, knuckle=0.2),
    "palms_together": HandShape(curl=(0.05, 0.05, 0.05, 0.05, 0.05), opposition=0.1, spread=-1.0),
}

ONE_HAND_SHAPES: dict[str, HandShape] = {"relaxed": RELAXED, **GRASPS, **GESTURES}
