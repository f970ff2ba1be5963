"""Tiny CroCoNet models, image pairs and masks shared by the CroCo model and checkpoint tests."""

from __future__ import annotations

import torch

from crocohuman.model import CroCoConfig, CroCoNet
from crocohuman.model.croco import PRESETS, preset_config
from crocohuman.model.masking import uniform_mask

TINY = PRESETS["tiny"]


def tiny(**overrides) -> CroCoNet:
    torch.manual_seed(0)
    return CroCoNet(preset_config("tiny", **overrides)).eval()


def images(B: int = 2, size: int = 64, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 3, size, size, generator=g), torch.randn(B, 3, size, size, generator=g)


def drawn_mask(model: CroCoNet, seed: int | None = None) -> torch.Tensor:
    """A uniform mask at the model's ratio for a batch of two."""
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return uniform_mask(2, model.config.num_patches, model.config.mask_ratio, generator)


def on_meta(cfg: CroCoConfig) -> CroCoNet:
    with torch.device("meta"):
        return CroCoNet(cfg)
