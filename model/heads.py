"""Task heads fine-tuned on top of the CroCo backbone (CroCo-Body/Hand, Sec. 3.4 and 4.1).

What a head's forward takes, written once:
- image-level heads (`PooledMLP`, `IterativeRegressor`, `VertexRegressor`) take the tokens of the
  backbone's last block, [B, N, C] (encoder in monocular mode, decoder in binocular mode);
- the dense head (`DPTHead`, marked `all_blocks = True`) takes the list of every block's tokens,
  encoder blocks first, then decoder blocks, and picks its four hooks from it.
Tokens are in raster order on the G x G patch grid (croco.py). Rotations are regressed in 6D
(rotation6d.py); the weak-perspective camera is (s, tx, ty).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from torch import Tensor

from crocohuman.core.conventions import ANNY_PHENOTYPES, NUM_BODY_JOINTS, NUM_PARTS

from .croco import CroCoConfig
from .rotation6d import matrix_to_rot6d

MODES = ("monocular", "binocular")


def mlp(dims: list[int]) -> nn.Sequential:
    """Linear layers through `dims`, GELU between them, none after the last."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        if i:
            layers.append(nn.GELU())
        layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


class PooledMLP(nn.Module):
    """The paper's image-level head: average-pool the tokens, then an MLP (classification, regression)."""

    all_blocks = False

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 1024, depth: int = 2) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth counts linear layers and must be >= 1, got {depth}")
        self.mlp = mlp([in_dim] + [hidden] * (depth - 1) + [out_dim])

    def forward(self, tokens: Tensor) -> Tensor:
        """[B, N, C] -> [B, out_dim]."""
        return self.mlp(tokens.mean(dim=1))


# -----------------------------------------------------------------------------
# body-model parameters: HMR's iterative regressor


def param_spec_for(body_model: str) -> dict[str, int]:
    """Parameter names and sizes regressed for a body model, rotations in 6D.

    smpl: root + 23 joints, 10 betas; mano: root + 15 finger joints, 10 betas; anny: our
    synthetic bodies, posed by SMPL-convention motion (root + the 21 AMASS body joints) and shaped
    by anny's phenotypes. Every spec ends with the weak-perspective camera (s, tx, ty).
    """
    if body_model == "smpl":
        return {"global_orient": 6, "body_pose": 23 * 6, "betas": 10, "cam": 3}
    if body_model == "mano":
        return {"global_orient": 6, "hand_pose": 15 * 6, "betas": 10, "cam": 3}
    if body_model == "anny":
        return {"global_orient": 6, "body_pose": NUM_BODY_JOINTS * 6, "phenotypes": len(ANNY_PHENOTYPES), "cam": 3}
    raise KeyError(f"unknown body model {body_model!r}; known: smpl, mano, anny")


def default_mean_params(param_spec: dict[str, int]) -> dict[str, Tensor]:
    """Where the regression starts when no dataset mean is given.

    Rotations ('*orient', '*pose') the identity, 'cam' (0.9, 0, 0) as SPIN's mean camera,
    'phenotypes' 0.5 (anny's neutral value on each [0, 1] slider), anything else (betas) zero.
    """
    identity = matrix_to_rot6d(torch.eye(3))  # (6,)
    means = {}
    for name, size in param_spec.items():
        if name == "cam":
            if size != 3:
                raise ValueError(f"cam is (s, tx, ty), size 3, got {size}")
            means[name] = torch.tensor([0.9, 0.0, 0.0])
        elif name.endswith(("orient", "pose")):
            if size % 6:
                raise ValueError(f"{name} holds 6D rotations, its size {size} is not a multiple of 6")
            means[name] = identity.repeat(size // 6)
        elif name == "phenotypes":
            means[name] = torch.full((size,), 0.5)
        else:
            means[name] = torch.zeros(size)
    return means


class IterativeRegressor(nn.Module):
    """HMR's regressor: from the mean parameters, `iterations` residual updates, each an MLP of
    the pooled image feature concatenated with the current estimate (HMR, SPIN, PARE).

    The output layer starts at zero (HMR practice), so an untrained head returns the mean.
    forward returns (final, per_iteration): dicts name -> [B, size], final = per_iteration[-1];
    losses are usually applied to every iteration.
    """

    all_blocks = False

    def __init__(
        self,
        in_dim: int,
        param_spec: dict[str, int],
        mean_params: dict[str, Tensor] | None = None,
        iterations: int = 3,
        hidden: int = 1024,
    ) -> None:
        super().__init__()
        self.param_spec, self.iterations = dict(param_spec), iterations
        means = default_mean_params(self.param_spec)
        for name, value in (mean_params or {}).items():
            if name not in means or value.numel() != self.param_spec[name]:
                raise ValueError(f"mean_params[{name!r}] of {value.numel()} values does not fit {self.param_spec}")
            means[name] = value.detach().float().reshape(-1)
        self.register_buffer("mean", torch.cat([means[name] for name in self.param_spec]))  # (P,)
        num_params = self.mean.numel()
        self.mlp = mlp([in_dim + num_params, hidden, hidden, num_params])
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def split(self, theta: Tensor) -> dict[str, Tensor]:
        """[B, P] -> {name: [B, size]} in param_spec order."""
        return dict(zip(self.param_spec, theta.split(list(self.param_spec.values()), dim=-1)))

    def forward(self, tokens: Tensor) -> tuple[dict[str, Tensor], list[dict[str, Tensor]]]:
        feat = tokens.mean(dim=1)  # (B, C)
        theta = self.mean.expand(feat.size(0), -1)  # (B, P)
        steps = []
        for _ in range(self.iterations):
            theta = theta + self.mlp(torch.cat([feat, theta], dim=-1))
            steps.append(self.split(theta))
        return steps[-1], steps


# -----------------------------------------------------------------------------
# model-free mesh: METRO-style vertex regression


def mesh_downsample_matrix(
    vertices: np.ndarray | Tensor, faces: np.ndarray | Tensor, num_coarse: int, neighbours: int = 3
) -> tuple[Tensor, Tensor]:
    """A fixed coarse subset of a mesh and the map back to it: (indices [Vc], upsample [V, Vc]).

    The coarse vertices are picked by farthest-point sampling in geodesic distance (shortest paths
    along the mesh edges), so they spread over the surface and a hand resting on a thigh does not
    borrow the thigh's samples. Each full vertex is then the inverse-distance-weighted mean of its
    `neighbours` geodesically nearest coarse vertices: rows sum to 1 and a coarse vertex maps to
    itself. Downsampling is `full[:, indices]`; `upsample` is a sparse COO float32 matrix.
    """
    v = torch.as_tensor(vertices).detach().cpu().double().numpy()
    f = torch.as_tensor(faces).detach().cpu().long().numpy()
    V = len(v)
    if not 0 < num_coarse <= V:
        raise ValueError(f"num_coarse must be in [1, {V}], got {num_coarse}")
    edges = np.unique(np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1), axis=0)
    lengths = np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)
    graph = coo_matrix((lengths, (edges[:, 0], edges[:, 1])), shape=(V, V)).tocsr()

    dist = np.empty((num_coarse, V))  # geodesic distance from each coarse vertex to every vertex
    nearest = np.full(V, np.inf)  # to the closest coarse vertex so far; inf until a component is seeded
    indices = np.empty(num_coarse, dtype=np.int64)
    for i in range(num_coarse):
        indices[i] = 0 if i == 0 else int(nearest.argmax())
        dist[i] = dijkstra(graph, directed=False, indices=indices[i])
        nearest = np.minimum(nearest, dist[i])
    if np.isinf(nearest).any():
        raise ValueError(f"the mesh has more connected parts than num_coarse={num_coarse}")

    k = min(neighbours, num_coarse)
    near = np.argsort(dist, axis=0)[:k]  # (k, V) coarse ids, nearest first
    d = np.take_along_axis(dist, near, axis=0)  # (k, V)
    w = np.where(d[:1] == 0, (d == 0).astype(np.float64), 1.0 / np.maximum(d, 1e-12))  # 1/inf = 0
    w /= w.sum(axis=0, keepdims=True)
    rows = np.broadcast_to(np.arange(V), (k, V))
    upsample = torch.sparse_coo_tensor(
        torch.from_numpy(np.stack([rows.ravel(), near.ravel()])),
        torch.from_numpy(w.ravel()).float(),
        (V, num_coarse),
        check_invariants=True,
    ).coalesce()
    return torch.from_numpy(indices), upsample


class VertexRegressor(nn.Module):
    """Model-free mesh output in the spirit of METRO: coarse vertices, then a fixed upsampling.

    Each coarse vertex is a learned query that cross-attends once to the tokens; an MLP turns what
    it gathered into xyz. The full mesh is `upsample @ coarse` (see `mesh_downsample_matrix`), and
    joints, when a regressor [J, V] is given, are `joint_regressor @ mesh`, as METRO evaluates.
    Outputs are in whatever frame the targets use (typically root-relative metres).
    """

    all_blocks = False

    def __init__(
        self,
        in_dim: int,
        num_coarse: int,
        upsample: Tensor,
        hidden: int = 256,
        num_heads: int = 4,
        joint_regressor: Tensor | None = None,
    ) -> None:
        super().__init__()
        if upsample.shape[1] != num_coarse:
            raise ValueError(f"upsample is {tuple(upsample.shape)}, expected [V, {num_coarse}]")
        if hidden % num_heads:
            raise ValueError(f"hidden {hidden} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        # fixed maps, rebuilt from the mesh with the head: kept out of checkpoints
        self.register_buffer("upsample", upsample.float(), persistent=False)
        self.register_buffer(
            "joint_regressor", None if joint_regressor is None else joint_regressor.float(), persistent=False
        )
        self.queries = nn.Parameter(torch.randn(num_coarse, hidden) * 0.02)
        self.kv = nn.Linear(in_dim, 2 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.to_xyz = mlp([hidden, hidden, 3])

    @staticmethod
    def _map(matrix: Tensor, points: Tensor) -> Tensor:
        """[M, V] (dense or sparse) applied to [B, V, 3] -> [B, M, 3], in the matrix's precision."""
        B, V, _ = points.shape
        out = matrix @ points.to(matrix.dtype).transpose(0, 1).reshape(V, B * 3)  # (M, B*3)
        return out.view(-1, B, 3).transpose(0, 1)

    def forward(self, tokens: Tensor) -> dict[str, Tensor]:
        """[B, N, C] -> {'coarse_vertices' [B, Vc, 3], 'vertices' [B, V, 3], 'joints' [B, J, 3] if a regressor}."""
        B, N, _ = tokens.shape
        Vc, D = self.queries.shape
        hs = D // self.num_heads
        k, v = self.kv(tokens).view(B, N, 2, self.num_heads, hs).permute(2, 0, 3, 1, 4)  # (B, nh, N, hs) each
        q = self.queries.view(Vc, self.num_heads, hs).transpose(0, 1).expand(B, -1, -1, -1)  # (B, nh, Vc, hs)
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, Vc, D)
        coarse = self.to_xyz(self.norm(self.queries + self.proj(y)))  # (B, Vc, 3)
        out = {"coarse_vertices": coarse, "vertices": self._map(self.upsample, coarse)}
        if self.joint_regressor is not None:
            out["joints"] = self._map(self.joint_regressor, out["vertices"])
        return out


# -----------------------------------------------------------------------------
# dense outputs: DPT (reference section 11), DensePose


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
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
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
