"""Reconstruction grids: img1 masked | img2 | prediction | img1, one row per pair.

The prediction is shown the way CroCo's demo shows it: predicted patches de-normalised with the
statistics of the true patch (when trained with ``norm_pix``), visible patches pasted from img1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from crocohuman.model.pairs.transforms import IMAGENET_MEAN, IMAGENET_STD, denormalize

# Grey (0.5) in the network's normalised space, shown where patches are hidden.
HIDDEN_GREY = ((0.5 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)).view(3, 1, 1)


def _patch_mask_image(mask: torch.Tensor, grid: int, patch: int) -> torch.Tensor:
    """[N] bool patch mask as a [1, H, W] float image."""
    return mask.float().view(grid, grid).repeat_interleave(patch, 0).repeat_interleave(patch, 1)[None]


def reconstruction_rows(
    model, img1: torch.Tensor, img2: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor, norm_pix: bool
) -> list[np.ndarray]:
    """One (H, 4W, 3) uint8 row per pair."""
    target = model.patchify(img1)
    pred = pred.detach().float()
    if norm_pix:
        mean = target.mean(-1, keepdim=True)
        std = (target.var(-1, keepdim=True) + 1e-6).sqrt()
        pred = pred * std + mean
    patch = model.config.patch_size
    grid = img1.shape[-1] // patch
    rows = []
    for b in range(img1.shape[0]):
        hidden = _patch_mask_image(mask[b].cpu(), grid, patch)
        predicted = model.unpatchify(pred[b : b + 1])[0].cpu()
        completed = predicted * hidden + img1[b].detach().float().cpu() * (1 - hidden)
        masked = img1[b].detach().float().cpu() * (1 - hidden) + HIDDEN_GREY * hidden
        rows.append(np.concatenate([denormalize(x) for x in (masked, img2[b], completed, img1[b])], 1))
    return rows


def save_grid(rows: list[np.ndarray], path: Path, gap: int = 2) -> None:
    height, width = rows[0].shape[:2]
    sheet = np.full((len(rows) * (height + gap), width, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        sheet[r * (height + gap) : r * (height + gap) + height] = row
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path)
