"""Which EGL device a process renders on, so that each rank of a multi-GPU job draws on its own GPU.

In order of precedence:

1. ``CROCO_EGL_DEVICE=K``: EGL device K, whatever else is set.
2. ``LOCAL_RANK=r`` (set by ``torchrun`` for each rank, inherited by its DataLoader workers): the
   GPU of rank r, i.e. entry r of ``CUDA_VISIBLE_DEVICES`` when that lists device numbers, else r.
3. Neither: the driver's first device (on a CPU machine, Mesa's llvmpipe, its only one).

EGL numbers devices in the driver's own order; NVIDIA's follows the PCI bus order of ``nvidia-smi``,
which is CUDA's order only with ``CUDA_DEVICE_ORDER=PCI_BUS_ID``. A device derived from the rank
that does not exist (a CPU machine running several ranks) falls back to the first device, with a
warning; an explicit ``CROCO_EGL_DEVICE`` that does not exist is an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

EXPLICIT = "CROCO_EGL_DEVICE"


@dataclass(frozen=True)
class EglDevice:
    index: int | None  # None: the driver's default
    reason: str  # where the choice came from, for logs and errors
    explicit: bool  # asked for by name: not silently replaced when missing


def choose_egl_device(environ: dict[str, str] | None = None) -> EglDevice:
    """The EGL device of this process from its environment (see the module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(EXPLICIT, "").strip():
        text = env[EXPLICIT].strip()
        if not text.isdigit():
            raise ValueError(f"{EXPLICIT} must be an EGL device number (0, 1, ...), got {text!r}")
        return EglDevice(int(text), f"{EXPLICIT}={text}", explicit=True)
    rank_text = env.get("LOCAL_RANK", "").strip()
    if not rank_text.isdigit():
        return EglDevice(None, "the driver's default device", explicit=False)
    rank = int(rank_text)
    visible = [entry.strip() for entry in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if entry.strip()]
    if rank < len(visible) and all(entry.isdigit() for entry in visible):
        return EglDevice(int(visible[rank]), f"LOCAL_RANK={rank}, CUDA_VISIBLE_DEVICES={','.join(visible)}", False)
    return EglDevice(rank, f"LOCAL_RANK={rank}", explicit=False)
