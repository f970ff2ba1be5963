"""Body motion: the clip format, the built-in sampler, the AMASS reader, and a source factory."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from crocohuman.render.motion.amass import AmassMotions, load_amass_npz
from crocohuman.render.motion.clip import MotionClip
from crocohuman.render.motion.primitives import MOTION_KINDS, PRIMITIVES
from crocohuman.render.motion.sampler import SamplerMotions, sample_clip
from crocohuman.render.specs import parse_motion_spec

__all__ = [
    "MOTION_KINDS",
    "AmassMotions",
    "MotionClip",
    "MotionSource",
    "SamplerMotions",
    "load_amass_npz",
    "motion_source",
    "sample_clip",
]


class MotionSource(Protocol):
    """Anything that hands out motion clips of a requested length and frame rate."""

    def sample_clip(self, rng: np.random.Generator, num_frames: int, fps: float = 30.0) -> MotionClip: ...


def motion_source(spec: str = "sampler", interaction_p: float = 0.0) -> MotionSource:
    """The motion source a spec names: ``sampler``, ``sampler:KIND`` or ``amass:DIR``; the sampler
    draws two-hand interactions in ``interaction_p`` of its clips (``SamplerMotions``)."""
    parsed = parse_motion_spec(spec)
    if parsed.kind == "amass":
        return AmassMotions(parsed.path)
    if parsed.sampler_kind is not None and parsed.sampler_kind not in PRIMITIVES:
        raise ValueError(
            f"unknown sampler motion kind {parsed.sampler_kind!r} in {spec!r}; expected one of {tuple(PRIMITIVES)}"
        )
    return SamplerMotions(parsed.sampler_kind, interaction_p)
