"""CroCo network, loss and checkpoints.

The names below load on first use (PEP 562), so importing a submodule that needs no torch (the
command line, its config) does not pay for torch.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "CroCoConfig": "crocohuman.model.croco",
    "CroCoNet": "crocohuman.model.croco",
    "load_croco_checkpoint": "crocohuman.model.croco_weights",
    "load_croco_weights": "crocohuman.model.croco_weights",
    "masked_mse": "crocohuman.model.criterion",
    "save_croco_weights": "crocohuman.model.croco_weights",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
