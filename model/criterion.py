"""The CroCo / MAE reconstruction loss: MSE on the hidden patches, in per-patch normalised pixels."""

from __future__ import annotations

from torch import Tensor

NORM_PIX_EPS = 1e-6


def normalize_patches(patches: Tensor) -> Tensor:
    """Standardise each patch vector [..., p*p*3] by its own mean and unbiased variance (+1e-6)."""
    mean = patches.mean(dim=-1, keepdim=True)
    var = patches.var(dim=-1, keepdim=True)  # unbiased, as official
    return (patches - mean) / (var + NORM_PIX_EPS).sqrt()


def unnormalize_patches(pred: Tensor, target: Tensor) -> Tensor:
    """Map a norm_pix prediction back to pixels with the statistics of the true patches (for display)."""
    mean = target.mean(dim=-1, keepdim=True)
    var = target.var(dim=-1, keepdim=True)
    return pred * (var + NORM_PIX_EPS).sqrt() + mean


def masked_mse(pred: Tensor, target: Tensor, mask: Tensor, norm_pix: bool = True) -> Tensor:
    """Mean over hidden patches of the per-patch mean squared error.

    pred, target [B, N, p*p*3] (target = patchify(img1)); mask [B, N] bool, True = hidden.
    Visible patches do not count. Computed in float32 so bf16 autocast outputs are safe.
    """
    pred, target = pred.float(), target.float()
    if norm_pix:
        target = normalize_patches(target)
    per_patch = (pred - target).pow(2).mean(dim=-1)  # (B, N)
    weight = mask.to(per_patch.dtype)
    return (per_patch * weight).sum() / weight.sum()
