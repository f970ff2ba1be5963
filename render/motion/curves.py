"""Time tracks of the motion primitives: smooth steps, periodic bumps, keyframe interpolation and
eased-in activations, as functions of the clip's time stamps (seconds)."""

from __future__ import annotations

import numpy as np


def smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def bump(phase: np.ndarray, sharpness: float = 2.0) -> np.ndarray:
    """Smooth periodic bump, 1 at phase 0 and narrower as sharpness grows: shapes knee and ankle."""
    return np.exp(sharpness * (np.cos(phase) - 1.0))


def keyframes(t: np.ndarray, key_t: np.ndarray, key_v: np.ndarray) -> np.ndarray:
    """Smoothstep interpolation between keys (zero velocity at each key), held outside them."""
    i = np.clip(np.searchsorted(key_t, t, side="right") - 1, 0, len(key_t) - 2)
    u = smoothstep((t - key_t[i]) / (key_t[i + 1] - key_t[i]))
    u = u.reshape(u.shape + (1,) * (key_v.ndim - 1))
    return key_v[i] + u * (key_v[i + 1] - key_v[i])


def activation(
    rng: np.random.Generator,
    t: np.ndarray,
    rise: tuple[float, float],
    hold: tuple[float, float],
    fall: tuple[float, float],
    rest: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Repeated rest -> rise -> hold -> fall cycles of random length.

    Returns the weight (T,) in [0, 1] and the cycle index (T,), which changes only while the
    weight is 0, so a primitive may draw a new target per cycle without a jump.
    """
    key_t, key_w, starts = [], [], []
    now = -rng.uniform(0.0, rise[1] + hold[1])
    while True:
        starts.append(now)
        key_t.append(now)
        key_w.append(0.0)
        for duration, weight in ((rise, 1.0), (hold, 1.0), (fall, 0.0)):
            now += rng.uniform(*duration)
            key_t.append(now)
            key_w.append(weight)
        if now > t[-1]:
            break
        now += rng.uniform(*rest)
    weight = keyframes(t, np.array(key_t), np.array(key_w))
    cycle = np.clip(np.searchsorted(np.array(starts), t, side="right") - 1, 0, None)
    return weight, cycle


def ramp_integral(t: np.ndarray, tau: float) -> np.ndarray:
    """Integral of smoothstep(t / tau): a rate that eases in over tau seconds, integrated."""
    u = np.clip(t / tau, 0.0, 1.0)
    return np.where(t < tau, tau * (u**3 - u**4 / 2.0), t - tau / 2.0)
