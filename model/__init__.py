"""CroCo network, loss and checkpoints (import-light: no data or training modules here)."""

from .checkpoint import load_croco_checkpoint, load_croco_weights, save_croco_weights
from .criterion import masked_mse
from .croco import CroCoConfig, CroCoNet

__all__ = [
    "CroCoConfig",
    "CroCoNet",
    "load_croco_checkpoint",
    "load_croco_weights",
    "masked_mse",
    "save_croco_weights",
]
