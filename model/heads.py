"""Task heads fine-tuned on top of the CroCo backbone (CroCo-Body/Hand, Sec. 3.4 and 4.1).

What a head's forward takes, written once:
- image-level heads (`PooledMLP`, `IterativeRegressor`, `VertexRegressor`) take the tokens of the
  backbone's last block, [B, N, C] (encoder in monocular mode, decoder in binocular mode);
- the dense head (`DPTHead`, marked `all_blocks = True`) is in dpt_head.py.
Tokens are in raster order on the G x G patch grid (croco.py). Rotations are regressed in 6D
(rotation6d.py); the weak-perspective camera is (s, tx, ty).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from torch import Tensor

from crocohuman.core.conventions import ANNY_PHENOTYPES, NUM_BODY_JOINTS

from .rotation6d import matrix_to_rot6d


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
