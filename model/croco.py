"""CroCo (v1 and v2), the cross-view completion network, read top to bottom: config, presets, network
(its layers are in croco_layers.py).

Most patches of image 1 are hidden; the encoder sees the visible ones, the same encoder sees
image 2 whole, and a decoder that cross-attends to image 2 predicts the pixels of every patch of
image 1 (CroCo, NeurIPS 2022; CroCo v2, ICCV 2023; CroCo-Body/Hand, CVPR 2024, Sec. 3.1).
Parameter and buffer names and shapes are those of the official checkpoints, so their weights
load with strict key matching (see croco_weights.py).

Conventions, written once:
- images are [B, 3, S, S] with S = img_size, ImageNet-normalised;
- tokens are in raster order, n = y * G + x on the G x G patch grid; positions are int64 (y, x);
- a patch vector is ordered (row in patch, column in patch, channel), channel fastest;
- mask [B, N] bool, True = hidden patch of image 1, the same number hidden in every row.

MAE objective (the paper's MAE-Body/Hand baseline): `forward_mae` runs the same encoder and
decoder with no memory, so each decoder block skips its cross-attention and is left with
norm1/attn/norm3/mlp, which is an MAE decoder block. One state-dict layout serves both
objectives; in an MAE-only run norm_y, norm2 and cross_attn get no gradient (with DDP, pass
find_unused_parameters=True, or mix CroCo and MAE samples in each step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch import Tensor

from crocohuman.model.croco_layers import Block, DecoderBlock, PatchEmbed, RoPE2D, layer_norm, sincos_pos_embed_2d
from crocohuman.model.masking import uniform_mask


@dataclass
class CroCoConfig:
    img_size: int = 224
    patch_size: int = 16
    enc_embed_dim: int = 768
    enc_depth: int = 12
    enc_num_heads: int = 12
    dec_embed_dim: int = 512
    dec_depth: int = 8
    dec_num_heads: int = 16
    mlp_ratio: float = 4.0
    norm_im2_in_dec: bool = True  # a LayerNorm on the memory (image 2 tokens) in every decoder block
    pos_embed: str = "cosine"  # "cosine" (v1: added tables) or "RoPE<base>", e.g. "RoPE100" (v2)
    mask_ratio: float = 0.9  # share of image-1 patches hidden when the model draws the mask
    attn_impl: str = "sdpa"  # "sdpa" (fused kernels) or "math" (explicit softmax, for benchmarks)

    def __post_init__(self) -> None:
        if self.img_size % self.patch_size:
            raise ValueError(f"img_size {self.img_size} is not a multiple of patch_size {self.patch_size}")
        if self.pos_embed != "cosine" and self.rope_base is None:
            raise ValueError(f"pos_embed must be 'cosine' or 'RoPE<base>' (e.g. 'RoPE100'), got {self.pos_embed!r}")
        for dim, heads in ((self.enc_embed_dim, self.enc_num_heads), (self.dec_embed_dim, self.dec_num_heads)):
            if dim % heads:
                raise ValueError(f"embed dim {dim} is not divisible by {heads} heads")
            # the cosine table has four sin/cos blocks; RoPE rotates pairs inside each half of a head
            if (dim if self.pos_embed == "cosine" else dim // heads) % 4:
                raise ValueError(
                    f"pos_embed={self.pos_embed!r} with dim {dim} and {heads} heads: "
                    "needs embed dims (cosine) or head dims (RoPE) that are multiples of 4"
                )
        if self.attn_impl not in ("sdpa", "math"):
            raise ValueError(f"attn_impl must be 'sdpa' or 'math', got {self.attn_impl!r}")
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {self.mask_ratio}")

    @property
    def rope_base(self) -> float | None:
        """The RoPE frequency base (100 for 'RoPE100'), None for the cosine tables."""
        if not self.pos_embed.startswith("RoPE"):
            return None
        try:
            return float(self.pos_embed[len("RoPE") :])
        except ValueError:
            return None

    @property
    def grid_size(self) -> int:
        return self.img_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid_size**2

    @property
    def num_masked(self) -> int:
        return int(self.mask_ratio * self.num_patches)  # as official: 0.9 * 196 -> 176 hidden


# The released models, by the constructor kwargs they were built with; "croco-v1" is also the
# official constructor's defaults, on top of which official kwargs apply.
PRESETS: dict[str, dict] = {
    "croco-v1": {},  # CroCo.pth: ViT-B/16 encoder, small decoder, cosine
    "croco-v2-base-small": dict(pos_embed="RoPE100"),
    "croco-v2-base-base": dict(dec_embed_dim=768, dec_depth=12, dec_num_heads=12, pos_embed="RoPE100"),
    "croco-v2-large-base": dict(
        enc_embed_dim=1024,
        enc_depth=24,
        enc_num_heads=16,
        dec_embed_dim=768,
        dec_depth=12,
        dec_num_heads=12,
        pos_embed="RoPE100",
    ),
    "tiny": dict(
        img_size=64, enc_embed_dim=64, enc_depth=2, enc_num_heads=4, dec_embed_dim=32, dec_depth=2, dec_num_heads=2
    ),  # CPU tests
}


def preset_config(name: str, **overrides) -> CroCoConfig:
    """The config of a named preset, with some fields overridden (e.g. mask_ratio=0.75)."""
    if name not in PRESETS:
        raise KeyError(f"unknown CroCo preset {name!r}; known: {sorted(PRESETS)}")
    return CroCoConfig(**{**PRESETS[name], **overrides})


# -----------------------------------------------------------------------------
# the network


class CroCoNet(nn.Module):
    """Siamese ViT encoder, cross-attending decoder, linear head to normalised patch pixels.

    Parts are built by the `_set_*` hooks so a downstream model can subclass and swap them
    (e.g. `_set_mask_token` -> None and `_set_prediction_head` -> a DPT head).
    """

    def __init__(self, config: CroCoConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config if config is not None else CroCoConfig()
        self._set_patch_embed(cfg)
        # v1 adds fixed tables (persistent buffers, in the checkpoints); v2 rotates q and k instead
        cosine = cfg.rope_base is None
        self.rope = None if cosine else RoPE2D(cfg.rope_base)
        self.register_buffer("enc_pos_embed", sincos_pos_embed_2d(cfg.enc_embed_dim, cfg.grid_size) if cosine else None)
        self.register_buffer("dec_pos_embed", sincos_pos_embed_2d(cfg.dec_embed_dim, cfg.grid_size) if cosine else None)
        self.enc_blocks = nn.ModuleList(
            Block(cfg.enc_embed_dim, cfg.enc_num_heads, cfg.mlp_ratio, self.rope, cfg.attn_impl)
            for _ in range(cfg.enc_depth)
        )
        self.enc_norm = layer_norm(cfg.enc_embed_dim)
        self._set_mask_token(cfg)
        self._set_decoder(cfg)
        self._set_prediction_head(cfg)
        self._init_weights()

    # --- construction hooks -------------------------------------------------

    def _set_patch_embed(self, cfg: CroCoConfig) -> None:
        self.patch_embed = PatchEmbed(cfg.img_size, cfg.patch_size, cfg.enc_embed_dim)

    def _set_mask_token(self, cfg: CroCoConfig) -> None:
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.dec_embed_dim))

    def _set_decoder(self, cfg: CroCoConfig) -> None:
        self.decoder_embed = nn.Linear(cfg.enc_embed_dim, cfg.dec_embed_dim)
        self.dec_blocks = nn.ModuleList(
            DecoderBlock(
                cfg.dec_embed_dim, cfg.dec_num_heads, cfg.mlp_ratio, cfg.norm_im2_in_dec, self.rope, cfg.attn_impl
            )
            for _ in range(cfg.dec_depth)
        )
        self.dec_norm = layer_norm(cfg.dec_embed_dim)

    def _set_prediction_head(self, cfg: CroCoConfig) -> None:
        self.prediction_head = nn.Linear(cfg.dec_embed_dim, cfg.patch_size**2 * 3)

    def _init_weights(self) -> None:
        """As official (from MAE/JAX ViT): xavier-uniform Linear and patch conv, zero biases, N(0, 0.02) mask token."""
        w = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(w.view(w.size(0), -1))  # as a [C, 3 p p] matrix
        if self.mask_token is not None:
            nn.init.normal_(self.mask_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    # --- patches ------------------------------------------------------------

    def patchify(self, imgs: Tensor) -> Tensor:
        """[B, C, S, S] -> [B, N, p * p * C], each patch ordered (row, column, channel)."""
        B, C, H, W = imgs.shape
        p = self.config.patch_size
        x = imgs.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)  # (B, h, w, p, p, C)
        return x.reshape(B, (H // p) * (W // p), p * p * C)

    def unpatchify(self, x: Tensor, channels: int = 3) -> Tensor:
        """[B, N, p * p * channels] -> [B, channels, S, S], the inverse of patchify."""
        B, N, _ = x.shape
        p, g = self.config.patch_size, self.patch_embed.grid_size
        if N != g * g:
            raise ValueError(f"expected {g * g} patches, got {N}")
        x = x.reshape(B, g, g, p, p, channels).permute(0, 5, 1, 3, 2, 4)  # (B, C, h, p, w, p)
        return x.reshape(B, channels, g * p, g * p)

    # --- encoder and decoder ------------------------------------------------

    def encode(
        self, img: Tensor, mask: Tensor | None = None, return_all_blocks: bool = False
    ) -> tuple[Tensor | list[Tensor], Tensor]:
        """Encode the visible patches of img: (feat [B, Nvis, Ce] (or one per block), pos [B, N, 2]).

        pos keeps the positions of all N patches (the decoder puts the hidden ones back); the
        visible tokens are in increasing patch order. With return_all_blocks only the last entry
        has enc_norm applied.
        """
        x, pos = self.patch_embed(img)  # (B, N, Ce), (B, N, 2)
        if self.enc_pos_embed is not None:
            x = x + self.enc_pos_embed
        xpos = pos
        if mask is not None:
            B, _, C = x.shape
            visible = ~mask
            counts = visible.sum(dim=1)
            # Checked on the device, without a host sync or a graph break under torch.compile.
            torch._assert_async(
                (counts == counts[0]).all(), "every row of the mask must hide the same number of patches"
            )
            x = x[visible].view(B, -1, C)  # (B, Nvis, Ce)
            xpos = pos[visible].view(B, -1, 2)  # (B, Nvis, 2)
        feats = []
        for blk in self.enc_blocks:
            x = blk(x, xpos)
            feats.append(x)
        feats[-1] = self.enc_norm(feats[-1])
        return (feats if return_all_blocks else feats[-1]), pos

    def decode(
        self,
        feat1: Tensor,
        pos1: Tensor,
        mask1: Tensor | None,
        feat2: Tensor | None,
        pos2: Tensor | None,
        return_all_blocks: bool = False,
    ) -> Tensor | list[Tensor]:
        """Decode image 1 (visible tokens feat1, all positions pos1) against the memory feat2.

        mask1=None: image 1 was encoded whole (downstream). feat2=None: no memory (MAE).
        Returns [B, N, Cd] after dec_norm, or one entry per block (only the last normed).
        """
        x = self.decoder_embed(feat1)  # (B, Nvis, Cd)
        if mask1 is not None:
            B, N = mask1.shape
            tokens = self.mask_token.to(x.dtype).expand(B, N, x.size(-1))  # (B, N, Cd)
            x = tokens.masked_scatter(~mask1[..., None], x)  # visible tokens back at their patches, in order
        mem = None if feat2 is None else self.decoder_embed(feat2)  # (B, N2, Cd)
        if self.dec_pos_embed is not None:
            x = x + self.dec_pos_embed
            mem = None if mem is None else mem + self.dec_pos_embed
        outs = []
        for blk in self.dec_blocks:
            x = blk(x, pos1, mem, pos2)
            outs.append(x)
        outs[-1] = self.dec_norm(outs[-1])
        return outs if return_all_blocks else outs[-1]

    def forward(self, img1: Tensor, img2: Tensor | None, mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Cross-view completion: (pred [B, N, p*p*3] for all patches, mask [B, N], target = patchify(img1)).

        ``img2=None`` is single-image masked autoencoding (MAE) with the same weights: the
        decoder then gets no memory. Both go through ``forward`` so DDP sees either.
        """
        if mask is None:
            mask = uniform_mask(img1.size(0), self.config.num_patches, self.config.mask_ratio, device=img1.device)
        feat1, pos1 = self.encode(img1, mask)
        feat2, pos2 = self.encode(img2) if img2 is not None else (None, None)
        pred = self.prediction_head(self.decode(feat1, pos1, mask, feat2, pos2))
        return pred, mask, self.patchify(img1)

    def forward_mae(self, img: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """The MAE baseline: ``forward`` without a reference image."""
        return self(img, None, mask)

    # --- training utilities -------------------------------------------------

    def num_params(self) -> int:
        """Number of parameters (the cosine tables are buffers and do not count)."""
        return sum(p.numel() for p in self.parameters())

    def configure_optimizers(self, weight_decay: float, lr: float, betas: tuple[float, float]) -> torch.optim.AdamW:
        """AdamW with decay on matrices only: biases and LayerNorm weights are 1-D and not
        decayed; mask_token is 3-D and decayed, as in the official pretraining."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        fused = bool(params) and all(p.is_cuda for p in params)
        return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=fused)

    def estimate_flops_per_pair(self) -> float:
        """Matmul FLOPs to train on one pair (forward + backward = 3 x forward), nanoGPT-style.

        Counts the patch embedding of both images, the encoder on the visible tokens of image 1
        and on all of image 2, decoder self- and cross-attention and MLPs, and the head.
        """
        c = self.config
        N = c.num_patches
        n_vis = N - c.num_masked
        ce, cd, pix = c.enc_embed_dim, c.dec_embed_dim, 3 * c.patch_size**2

        def block(t: int, d: int) -> float:  # qkv, proj and MLP matmuls, then scores and weighted sum
            return 2 * t * (4 * d * d + 2 * d * int(d * c.mlp_ratio)) + 4 * t * t * d

        cross = (
            2 * N * cd * cd * 2 + 2 * N * cd * cd * 2 + 4 * N * N * cd
        )  # q and out on N; k and v on the N memory tokens
        fwd = 2 * 2 * N * pix * ce  # patch embedding, both images
        fwd += c.enc_depth * (block(n_vis, ce) + block(N, ce))
        fwd += 2 * (n_vis + N) * ce * cd  # decoder_embed, both streams
        fwd += c.dec_depth * (block(N, cd) + cross)
        fwd += 2 * N * cd * pix  # prediction head
        return 3.0 * fwd

    def estimate_mfu(self, pairs_per_second: float, peak_flops: float) -> float:
        """Model FLOPs utilisation: achieved training FLOP/s over the accelerator's peak
        (e.g. 989e12, H100/H200 bf16 dense)."""
        return self.estimate_flops_per_pair() * pairs_per_second / peak_flops
