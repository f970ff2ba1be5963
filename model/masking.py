"""Which patches of the first image the encoder sees: uniform (CroCo / MAE) and human-centric.

Masks are bool tensors [B, N] over patches in raster order (row by row, as the patch embedding
flattens them), True = hidden. Every row of a batch hides the same number of patches, so the
visible tokens stack into one [B, L, C] tensor (``x[~mask].view(B, L, C)``, as official CroCo).
"""

from __future__ import annotations

import math
from typing import Literal

import torch

PadRule = Literal["max_human", "max_visible"]


def uniform_mask(
    batch: int,
    num_patches: int,
    ratio: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Hide exactly ``int(ratio * num_patches)`` patches per row, chosen uniformly (official RandomMask)."""
    _check_ratio(ratio)
    noise = torch.rand(batch, num_patches, generator=generator, device=device)
    everything = torch.ones(batch, num_patches, dtype=torch.bool, device=noise.device)
    hidden = torch.full((batch,), int(ratio * num_patches), device=noise.device)
    return _pick(noise, everything, hidden)


def person_patches(masks: torch.Tensor, patch_size: int, min_fraction: float = 0.25) -> torch.Tensor:
    """Person patches [B, N] of pixel masks [B, H, W]: at least ``min_fraction`` of the patch's pixels are person.

    A quarter, not "any pixel", so that patches grazed by the silhouette's edge count as the
    background they mostly show.
    """
    batch, height, width = masks.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f"mask size {height}x{width} is not a multiple of the patch size {patch_size}")
    if not 0.0 < min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be in (0, 1], not {min_fraction}")
    rows, cols = height // patch_size, width // patch_size
    cells = masks.reshape(batch, rows, patch_size, cols, patch_size).float()
    return (cells.mean(dim=(2, 4)) >= min_fraction).reshape(batch, rows * cols)


def human_centric_mask(
    person: torch.Tensor,
    ratio: float,
    has_mask: torch.Tensor,
    generator: torch.Generator | None = None,
    pad_to: PadRule = "max_human",
) -> torch.Tensor:
    """The paper's human-centric masking (Sec. 3.1): the ratio applies to person patches only.

    Row b has N_H person patches; n = N_H - floor(r * N_H) of them, chosen at random, stay
    visible. The visible set is then filled with random background patches up to one length L
    for the whole batch, so that sequences stack:

    * ``pad_to="max_human"``: L = max_b N_H, the paper's sentence read literally ("up to a fixed
      sequence length set to the maximum of N_H over the batch");
    * ``pad_to="max_visible"``: L = max_b n, the other reading (pad to the longest visible set).

    L is taken over the rows that have person patches. Rows without a mask (``has_mask`` False)
    or with N_H = 0 fall back to uniform masking with L visible patches; when no row has person
    patches, L = N - int(r * N), plain uniform masking. A row whose background patches are too
    few to reach L shows extra random person patches instead (its person patches are then hidden
    at less than the ratio), since every row must end with exactly L visible patches.
    Returns bool [B, N], True = hidden.
    """
    _check_ratio(ratio)
    if pad_to not in ("max_human", "max_visible"):
        raise ValueError(f"pad_to must be 'max_human' or 'max_visible', not {pad_to!r}")
    batch, num_patches = person.shape
    person = person & has_mask.to(person.device)[:, None]
    humans = person.sum(dim=1)  # N_H per row
    guided = humans > 0
    shown = humans - torch.floor(ratio * humans.double()).long()  # n per row
    if guided.any():
        length = int((humans if pad_to == "max_human" else shown)[guided].max())
    else:
        length = num_patches - int(ratio * num_patches)

    background = num_patches - humans
    shown_background = torch.clamp(length - shown, max=background)
    shown_person = length - shown_background  # n, plus what the background could not fill
    noise = torch.rand(batch, num_patches, generator=generator, device=person.device)
    everything = torch.ones_like(person)
    # Person and background picks use disjoint entries of one noise draw, so they are independent.
    visible = torch.where(
        guided[:, None],
        _pick(noise, person, shown_person) | _pick(noise, ~person, shown_background),
        _pick(noise, everything, torch.full_like(humans, length)),
    )
    return ~visible


def _pick(noise: torch.Tensor, candidates: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per row, the ``counts[b]`` candidates with the smallest noise: a uniform random subset."""
    keyed = torch.where(candidates, noise, math.inf)  # non-candidates sort last
    rank = keyed.argsort(dim=1).argsort(dim=1)
    return (rank < counts[:, None]) & candidates


def _check_ratio(ratio: float) -> None:
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"masking ratio must be in [0, 1], not {ratio}")
