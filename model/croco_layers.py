"""The layers of the CroCo network (model/croco.py): patch positions and their embeddings (cosine
tables for v1, RoPE 2D for v2), attention, MLP, encoder and decoder blocks.

Module and parameter names are those of the official checkpoints; shapes follow croco.py's
conventions (tokens in raster order, positions int64 (y, x), q/k/v as [B, nh, T, hs]).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

# -----------------------------------------------------------------------------
# positions


def patch_positions(grid_size: int, device: torch.device | None = None) -> Tensor:
    """(y, x) of every patch in raster order, [N, 2] int64."""
    ys, xs = torch.meshgrid(
        torch.arange(grid_size, device=device), torch.arange(grid_size, device=device), indexing="ij"
    )
    return torch.stack([ys.flatten(), xs.flatten()], dim=-1)


def sincos_pos_embed_2d(dim: int, grid_size: int) -> Tensor:
    """The fixed v1 table [N, dim]: [sin(x w), cos(x w), sin(y w), cos(y w)], w_k = 10000^(-k / (dim/4)).

    The first half encodes the column x, as in the official checkpoints; computed in float64.
    """
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4))  # (dim/4,)
    pos = patch_positions(grid_size).to(torch.float64)  # (N, 2) = (y, x)
    angles = [p[:, None] * omega[None, :] for p in (pos[:, 1], pos[:, 0])]  # x then y, each (N, dim/4)
    return torch.cat([f(a) for a in angles for f in (torch.sin, torch.cos)], dim=1).float()  # (N, dim)


class RoPE2D(nn.Module):
    """2D rotary embedding (v2): rotates q and k so that q.k depends only on relative positions.

    The first half of each head's channels turns with the row y, the second half with the column x.
    Within a half of size h, channel i pairs with i + h/2 (rotate-half) at frequency base^(-2i/h).
    """

    def __init__(self, base: float) -> None:
        super().__init__()
        self.base = base

    def _rotate(self, t: Tensor, p: Tensor) -> Tensor:
        h = t.size(-1)
        freqs = self.base ** (-torch.arange(0, h, 2, device=t.device, dtype=torch.float32) / h)  # (h/2,)
        angle = p[:, None, :, None].float() * freqs  # (B, 1, T, h/2)
        cos, sin = angle.cos().to(t.dtype), angle.sin().to(t.dtype)
        a, b = t.chunk(2, dim=-1)  # (B, nh, T, h/2) each
        return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)

    def forward(self, t: Tensor, pos: Tensor) -> Tensor:
        """t [B, nh, T, hs], pos [B, T, 2] (y, x) -> t rotated, same shape."""
        ty, tx = t.chunk(2, dim=-1)  # (B, nh, T, hs/2) each
        return torch.cat([self._rotate(ty, pos[..., 0]), self._rotate(tx, pos[..., 1])], dim=-1)


# -----------------------------------------------------------------------------
# layers


def attend(q: Tensor, k: Tensor, v: Tensor, impl: str) -> Tensor:
    """softmax(q k^T / sqrt(hs)) v on [B, nh, T, hs]; "math" spells it out for benchmarking."""
    if impl == "sdpa":
        return F.scaled_dot_product_attention(q, k, v)
    att = (q @ k.transpose(-2, -1)) * q.size(-1) ** -0.5  # (B, nh, Tq, Tk)
    return att.softmax(dim=-1) @ v  # (B, nh, Tq, hs)


class PatchEmbed(nn.Module):
    """Non-overlapping p x p patches to tokens, with the (y, x) position of each token."""

    def __init__(self, img_size: int, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.img_size, self.patch_size = img_size, patch_size
        self.grid_size = img_size // patch_size
        self.num_patches = self.grid_size**2
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, img: Tensor) -> tuple[Tensor, Tensor]:
        B, _, H, W = img.shape
        if H != self.img_size or W != self.img_size:
            raise ValueError(f"expected {self.img_size}x{self.img_size} images, got {H}x{W}")
        x = self.proj(img).flatten(2).transpose(1, 2)  # (B, N, C), raster order
        pos = patch_positions(self.grid_size, img.device).expand(B, -1, -1)  # (B, N, 2)
        return x, pos


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, rope: RoPE2D | None, attn_impl: str) -> None:
        super().__init__()
        self.num_heads, self.rope, self.attn_impl = num_heads, rope, attn_impl
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = (
            self.qkv(x).view(B, T, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        )  # (B, nh, T, hs) each
        if self.rope is not None:
            q, k = self.rope(q, pos), self.rope(k, pos)
        y = attend(q, k, v, self.attn_impl).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.proj(y)


class CrossAttention(nn.Module):
    """Queries from the image-1 stream, keys and values from the memory (image 2)."""

    def __init__(self, dim: int, num_heads: int, rope: RoPE2D | None, attn_impl: str) -> None:
        super().__init__()
        self.num_heads, self.rope, self.attn_impl = num_heads, rope, attn_impl
        self.projq = nn.Linear(dim, dim)
        self.projk = nn.Linear(dim, dim)
        self.projv = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def _heads(self, t: Tensor) -> Tensor:
        B, T, C = t.shape
        return t.view(B, T, self.num_heads, C // self.num_heads).transpose(1, 2)  # (B, nh, T, hs)

    def forward(self, x: Tensor, mem: Tensor, xpos: Tensor, mempos: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = (self._heads(t) for t in (self.projq(x), self.projk(mem), self.projv(mem)))  # (B, nh, T|M, hs)
        if self.rope is not None:
            q, k = self.rope(q, xpos), self.rope(k, mempos)
        y = attend(q, k, v, self.attn_impl).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.proj(y)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf) GELU
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


def layer_norm(dim: int) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=1e-6)


class Block(nn.Module):
    """Pre-norm ViT encoder block."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, rope: RoPE2D | None, attn_impl: str) -> None:
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = Attention(dim, num_heads, rope, attn_impl)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x), pos)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    """Self-attention on image 1, cross-attention to the memory, MLP. The memory is not updated.

    With mem=None (the MAE objective) the cross-attention step is skipped.
    """

    def __init__(
        self, dim: int, num_heads: int, mlp_ratio: float, norm_mem: bool, rope: RoPE2D | None, attn_impl: str
    ) -> None:
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = Attention(dim, num_heads, rope, attn_impl)
        self.cross_attn = CrossAttention(dim, num_heads, rope, attn_impl)
        self.norm2 = layer_norm(dim)
        self.norm3 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.norm_y = layer_norm(dim) if norm_mem else nn.Identity()

    def forward(self, x: Tensor, xpos: Tensor, mem: Tensor | None = None, mempos: Tensor | None = None) -> Tensor:
        x = x + self.attn(self.norm1(x), xpos)
        if mem is not None:
            m = self.norm_y(mem)
            x = x + self.cross_attn(self.norm2(x), m, xpos, mempos)
        return x + self.mlp(self.norm3(x))
