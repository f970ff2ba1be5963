"""The dense head fine-tuned for DensePose (CroCo-Body Sec. 4.1): DPT over four backbone blocks.

It takes the list of every block's tokens, encoder blocks first, then decoder blocks (it is marked
``all_blocks = True``), picks its four hooks from it, reassembles them into an image pyramid and
fuses it to per-pixel outputs: 25 part logits (0 = background), then (U, V) for each of the 24 parts.
"""

from __future__ import annotations

import math

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from crocohuman.core.conventions import NUM_PARTS

from .croco import CroCoConfig
from .task_catalog import HEAD_MODES


def dpt_hooks(enc_depth: int, dec_depth: int | None = None) -> list[int]:
    """Default hooks into the list of block outputs (encoder blocks, then decoder blocks).

    Binocular (dec_depth given): CroCo's rule, the last block and three before it ceil(dec_depth/3)
    apart: [10, 13, 16, 19] for ViT-B + 8-block decoder, [11, 15, 19, 23] and [23, 27, 31, 35] with
    the 12-block one. Monocular: four encoder blocks enc_depth // 4 apart ending at the last, DPT's
    [2, 5, 8, 11] for ViT-B and [5, 11, 17, 23] for ViT-L.
    """
    total = enc_depth + (dec_depth or 0)
    step = math.ceil(dec_depth / 3) if dec_depth else enc_depth // 4
    hooks = [total - 1 - i * step for i in (3, 2, 1, 0)]
    if step < 1 or hooks[0] < 0:
        raise ValueError(f"too few blocks ({enc_depth} encoder, {dec_depth} decoder) for default hooks; pass hooks")
    return hooks


class ResidualConvUnit(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, 3, padding=1)
        self.conv2 = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FusionBlock(nn.Module):
    """RefineNet fusion: add the refined finer stage (none at the coarsest), refine, upsample, 1x1 conv."""

    def __init__(self, dim: int, with_skip: bool) -> None:
        super().__init__()
        self.skip_unit = ResidualConvUnit(dim) if with_skip else None
        self.unit = ResidualConvUnit(dim)
        self.out_conv = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor, skip: Tensor | None, size: tuple[int, int]) -> Tensor:
        if skip is not None:
            x = x + self.skip_unit(skip)
        x = F.interpolate(self.unit(x), size=size, mode="bilinear", align_corners=True)
        return self.out_conv(x)


class Reassemble(nn.Module):
    """One hooked block's tokens as a map, resampled by `factor` (4, 2, 1 or 1/2) from the patch grid."""

    def __init__(self, in_dim: int, mid_dim: int, out_dim: int, factor: float) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_dim, mid_dim, 1)
        if factor > 1:
            self.resample = nn.ConvTranspose2d(mid_dim, mid_dim, kernel_size=int(factor), stride=int(factor))
        elif factor == 1:
            self.resample = nn.Identity()
        else:
            self.resample = nn.Conv2d(mid_dim, mid_dim, 3, stride=2, padding=1)
        self.to_features = nn.Conv2d(mid_dim, out_dim, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.to_features(self.resample(self.proj(x)))


class DPTHead(nn.Module):
    """DPT on CroCo tokens (Ranftl et al. 2021; CroCo's downstream head, reference section 11).

    Four hooked blocks are reassembled at 4, 2, 1 and 1/2 times the patch grid (1/4 ... 1/32 of
    the image for 16-pixel patches), fused coarse to fine, and a small conv head upsamples to the
    full image: [B, num_outputs, S, S]. `hooks` index the list of block outputs (encoder, then
    decoder); blocks below `enc_depth` have enc_dim channels, the others dec_dim.
    """

    all_blocks = True

    def __init__(
        self,
        enc_dim: int,
        dec_dim: int | None,
        hooks: list[int],
        num_outputs: int,
        patch_size: int = 16,
        feature_dim: int = 256,
        last_dim: int = 32,
        layer_dims: tuple[int, ...] = (96, 192, 384, 768),
        enc_depth: int | None = None,
    ) -> None:
        super().__init__()
        if len(hooks) != 4 or len(layer_dims) != 4:
            raise ValueError(f"DPT takes 4 hooks and 4 layer_dims, got {hooks} and {layer_dims}")
        if dec_dim is not None and enc_depth is None:
            raise ValueError("with decoder hooks, pass enc_depth to tell encoder blocks from decoder blocks")
        if dec_dim is None and enc_depth is not None and max(hooks) >= enc_depth:
            raise ValueError(f"hooks {hooks} go past the {enc_depth} encoder blocks and there is no decoder")
        self.hooks, self.patch_size = list(hooks), patch_size
        in_dims = [enc_dim if dec_dim is None or h < enc_depth else dec_dim for h in hooks]
        self.stages = nn.ModuleList(
            Reassemble(c, m, feature_dim, factor) for c, m, factor in zip(in_dims, layer_dims, (4, 2, 1, 0.5))
        )
        self.fusions = nn.ModuleList(FusionBlock(feature_dim, with_skip=i < 3) for i in range(4))  # 0 = finest
        self.head_conv1 = nn.Conv2d(feature_dim, feature_dim // 2, 3, padding=1)
        self.head_conv2 = nn.Conv2d(feature_dim // 2, last_dim, 3, padding=1)
        self.head_out = nn.Conv2d(last_dim, num_outputs, 1)

    @classmethod
    def for_backbone(
        cls, config: CroCoConfig, mode: str, num_outputs: int, hooks: list[int] | None = None, **kwargs
    ) -> DPTHead:
        """A DPT head sized for a CroCo backbone and mode, with the default hooks unless given."""
        if mode not in HEAD_MODES:
            raise ValueError(f"mode must be one of {HEAD_MODES}, got {mode!r}")
        binocular = mode == "binocular"
        if hooks is None:
            hooks = dpt_hooks(config.enc_depth, config.dec_depth if binocular else None)
        return cls(
            config.enc_embed_dim,
            config.dec_embed_dim if binocular else None,
            hooks,
            num_outputs,
            patch_size=config.patch_size,
            enc_depth=config.enc_depth,
            **kwargs,
        )

    def forward(self, feats: list[Tensor]) -> Tensor:
        """Every block's tokens, each [B, N, C] -> [B, num_outputs, S, S] with S = G * patch_size."""
        B, N, _ = feats[self.hooks[0]].shape
        g = math.isqrt(N)
        if g * g != N:
            raise ValueError(f"{N} tokens do not form a square patch grid")
        maps = [stage(feats[h].transpose(1, 2).reshape(B, -1, g, g)) for stage, h in zip(self.stages, self.hooks)]
        out = self.fusions[3](maps[3], None, maps[2].shape[-2:])
        for i in (2, 1, 0):
            size = maps[i - 1].shape[-2:] if i else tuple(2 * s for s in maps[0].shape[-2:])
            out = self.fusions[i](out, maps[i], size)
        out = F.interpolate(self.head_conv1(out), size=(g * self.patch_size,) * 2, mode="bilinear", align_corners=True)
        return self.head_out(F.relu(self.head_conv2(out)))


DENSEPOSE_OUTPUTS = (NUM_PARTS + 1) + 2 * NUM_PARTS  # 25 part logits (0 = background), then (U, V) per part


def densepose_outputs(x: Tensor) -> tuple[Tensor, Tensor]:
    """DPT output [B, 73, H, W] -> (part_logits [B, 25, H, W], uv [B, 24, 2, H, W]); UV are raw regressions."""
    B, C, H, W = x.shape
    if C != DENSEPOSE_OUTPUTS:
        raise ValueError(f"expected {DENSEPOSE_OUTPUTS} channels, got {C}")
    return x[:, : NUM_PARTS + 1], x[:, NUM_PARTS + 1 :].view(B, NUM_PARTS, 2, H, W)


def densepose_loss(
    part_logits: Tensor, uv: Tensor, gt_parts: Tensor, gt_uv: Tensor, valid: Tensor, uv_weight: float = 1.0
) -> Tensor:
    """DensePose's losses at annotated pixels: 25-way cross-entropy on the part (background
    included), plus smooth-L1 on the (U, V) predicted for the ground-truth part on foreground.

    part_logits [B, 25, H, W], uv [B, 24, 2, H, W], gt_parts [B, H, W] long (0 = background),
    gt_uv [B, 2, H, W], valid [B, H, W] bool. Each term is a mean over its pixels; a batch with
    none contributes zero.
    """
    ce = F.cross_entropy(part_logits, gt_parts, reduction="none")  # (B, H, W)
    ce = (ce * valid).sum() / valid.sum().clamp(min=1)
    fg = valid & (gt_parts > 0)
    part = (gt_parts - 1).clamp(min=0)[:, None, None].expand(-1, 1, 2, -1, -1)  # (B, 1, 2, H, W)
    uv_gt_part = uv.gather(1, part)[:, 0]  # (B, 2, H, W)
    l1 = F.smooth_l1_loss(uv_gt_part, gt_uv, reduction="none").sum(dim=1)  # (B, H, W)
    l1 = (l1 * fg).sum() / fg.sum().clamp(min=1)
    return ce + uv_weight * l1
