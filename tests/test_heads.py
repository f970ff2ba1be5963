"""Rotation helpers, task heads and the downstream wrapper, on tiny CPU configs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import trimesh

from crocohuman.core import kinematics as np_kinematics, rotations as np_rot
from crocohuman.core.conventions import SMPL_TPOSE_JOINTS
from crocohuman.core.rotations import axis_angle_to_matrix
from crocohuman.model import CroCoNet, save_croco_weights
from crocohuman.model.croco import preset_config
from crocohuman.model.downstream import CroCoDownstream
from crocohuman.model.dpt_head import DENSEPOSE_OUTPUTS, DPTHead, densepose_loss, densepose_outputs, dpt_hooks
from crocohuman.model.heads import (
    IterativeRegressor,
    PooledMLP,
    VertexRegressor,
    mesh_downsample_matrix,
    param_spec_for,
)
from crocohuman.model.rotation6d import matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix, smpl_kinematics

CFG = preset_config("tiny", enc_depth=4)  # 64 px, 16 px patches (4 x 4 grid), 4 encoder + 2 decoder blocks


def images(B: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 3, 64, 64, generator=g), torch.randn(B, 3, 64, 64, generator=g)


def random_axis_angle(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1)
    return axis * torch.rand(n, 1, generator=g, dtype=torch.float64) * math.pi


# --- rotations ------------------------------------------------------------------


def test_rot6d_layout_is_spin_first_two_columns_row_major() -> None:
    rot = axis_angle_to_matrix(random_axis_angle(5))
    x = matrix_to_rot6d(rot)
    assert torch.equal(
        x, torch.stack([rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 0], rot[:, 2, 1]], -1)
    )
    assert torch.equal(matrix_to_rot6d(torch.eye(3)), torch.tensor([1.0, 0, 0, 1, 0, 0]))
    # SPIN's reading of a 6-vector: view(3, 2), columns a1 = [:, 0], a2 = [:, 1]
    assert torch.allclose(rot6d_to_matrix(x)[..., :2], x.view(-1, 3, 2), atol=1e-12)
    # HMR 2.0 / Zhou et al. concatenate the columns instead; the module docstring's conversion
    hmr2 = torch.cat([rot[:, :, 0], rot[:, :, 1]], dim=-1)
    assert torch.equal(hmr2.unflatten(-1, (2, 3)).transpose(-1, -2).flatten(-2), x)


def test_rot6d_round_trip_and_proper_rotations() -> None:
    rot = axis_angle_to_matrix(random_axis_angle(64))
    assert torch.allclose(rot6d_to_matrix(matrix_to_rot6d(rot)), rot, atol=1e-12)
    x = torch.randn(4, 7, 6, dtype=torch.float64)  # any 6-vector, any batch shape
    r = rot6d_to_matrix(x)
    assert r.shape == (4, 7, 3, 3)
    assert torch.allclose(r.transpose(-1, -2) @ r, torch.eye(3, dtype=torch.float64).expand_as(r), atol=1e-12)
    assert torch.allclose(torch.linalg.det(r), torch.ones(4, 7, dtype=torch.float64), atol=1e-12)


def test_axis_angle_matches_numpy_and_round_trips() -> None:
    aa = torch.cat(
        [
            random_axis_angle(64),
            torch.zeros(1, 3, dtype=torch.float64),
            torch.tensor([[0.0, math.pi - 1e-7, 0.0], [1e-9, 0.0, 0.0]], dtype=torch.float64),
        ]
    )
    rot = axis_angle_to_matrix(aa)
    assert np.allclose(rot.numpy(), np_rot.axis_angle_to_matrix(aa.numpy()), atol=1e-12)
    back = matrix_to_axis_angle(rot)
    assert torch.allclose(axis_angle_to_matrix(back), rot, atol=1e-9)
    assert torch.allclose(back[:64], aa[:64], atol=1e-9)  # angles below pi come back unchanged


def test_rotation_gradients_are_finite_at_identity() -> None:
    aa = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(axis_angle_to_matrix, (aa,))
    rot = torch.eye(3, dtype=torch.float64).repeat(2, 1, 1).requires_grad_()
    matrix_to_axis_angle(rot).sum().backward()
    assert torch.isfinite(rot.grad).all()
    x = matrix_to_rot6d(axis_angle_to_matrix(random_axis_angle(3))).requires_grad_()
    assert torch.autograd.gradcheck(rot6d_to_matrix, (x,))


def test_torch_kinematics_matches_numpy() -> None:
    B = 5
    go, body = random_axis_angle(B, seed=1), random_axis_angle(B * 21, seed=2).view(B, 21, 3)
    rest = SMPL_TPOSE_JOINTS + np.random.default_rng(0).normal(0, 0.01, SMPL_TPOSE_JOINTS.shape)
    expected, _ = np_kinematics.smpl_forward_kinematics(go.numpy(), body.numpy(), rest)
    joints = smpl_kinematics(axis_angle_to_matrix(go), axis_angle_to_matrix(body), torch.from_numpy(rest))
    assert joints.shape == (B, 24, 3)
    assert np.allclose(joints.numpy(), expected, atol=1e-12)
    hands = torch.eye(3, dtype=torch.float64).expand(B, 2, 3, 3)  # 23 joints, identity hands: same joints
    all23 = torch.cat([axis_angle_to_matrix(body), hands], dim=1)
    assert torch.allclose(smpl_kinematics(axis_angle_to_matrix(go), all23, torch.from_numpy(rest)), joints)


# --- image-level heads ------------------------------------------------------------


def test_pooled_mlp() -> None:
    head = PooledMLP(64, 18, hidden=32, depth=3)
    assert head(torch.randn(2, 16, 64)).shape == (2, 18)


@pytest.mark.parametrize(
    "body_model, sizes",
    [
        ("smpl", {"global_orient": 6, "body_pose": 138, "betas": 10, "cam": 3}),
        ("mano", {"global_orient": 6, "hand_pose": 90, "betas": 10, "cam": 3}),
        ("anny", {"global_orient": 6, "body_pose": 126, "phenotypes": 6, "cam": 3}),
    ],
)
def test_iterative_regressor_starts_at_the_mean(body_model: str, sizes: dict[str, int]) -> None:
    spec = param_spec_for(body_model)
    assert spec == sizes
    head = IterativeRegressor(64, spec, iterations=3, hidden=32)
    final, steps = head(torch.randn(2, 16, 64))
    assert len(steps) == 3 and steps[-1] is final
    assert {k: v.shape for k, v in final.items()} == {k: (2, n) for k, n in spec.items()}
    means = head.split(head.mean)
    for name, value in final.items():  # zero-initialised output layer: exactly the mean parameters
        assert torch.equal(value, means[name].expand(2, -1))
        if name.endswith(("orient", "pose")):
            rots = rot6d_to_matrix(value.view(2, -1, 6))
            assert torch.equal(rots, torch.eye(3).expand_as(rots))
    assert torch.equal(final["cam"], torch.tensor([[0.9, 0.0, 0.0]] * 2))
    assert torch.equal(final.get("betas", torch.zeros(2, 10)), torch.zeros(2, 10))
    if body_model == "anny":
        assert torch.equal(final["phenotypes"], torch.full((2, 6), 0.5))


def test_iterative_regressor_mean_params_and_learning() -> None:
    spec = {"global_orient": 6, "betas": 4, "cam": 3}
    betas = torch.arange(4.0)
    head = IterativeRegressor(8, spec, mean_params={"betas": betas}, iterations=2, hidden=16)
    assert torch.equal(head(torch.randn(3, 5, 8))[0]["betas"], betas.expand(3, -1))
    with pytest.raises(ValueError):
        IterativeRegressor(8, spec, mean_params={"betas": torch.zeros(5)})
    _final, steps = head(torch.randn(3, 5, 8))
    sum(v.pow(2).sum() for s in steps for v in s.values()).backward()
    assert head.mlp[-1].weight.grad.abs().sum() > 0  # the zero layer still learns


def test_mesh_downsample_and_vertex_regressor() -> None:
    mesh = trimesh.creation.icosphere(subdivisions=2)  # 162 vertices
    indices, up = mesh_downsample_matrix(mesh.vertices, mesh.faces, num_coarse=20)
    V = len(mesh.vertices)
    assert indices.shape == (20,) and len(set(indices.tolist())) == 20
    assert up.is_sparse and up.shape == (V, 20)
    dense = up.to_dense()
    assert torch.allclose(dense.sum(dim=1), torch.ones(V))
    assert torch.equal(dense[indices], torch.eye(20))  # a coarse vertex upsamples to itself
    verts = torch.from_numpy(mesh.vertices).float()
    err = (dense @ verts[indices] - verts).norm(dim=1)
    assert err.max() < 0.5  # upsampled coarse sphere stays near the unit sphere

    joint_regressor = torch.softmax(torch.randn(7, V), dim=1)
    for matrix in (up, dense):  # sparse or dense upsampling
        head = VertexRegressor(64, 20, matrix, hidden=32, num_heads=4, joint_regressor=joint_regressor)
        out = head(torch.randn(2, 16, 64))
        assert out["coarse_vertices"].shape == (2, 20, 3)
        assert out["vertices"].shape == (2, V, 3) and out["joints"].shape == (2, 7, 3)
        assert torch.allclose(out["vertices"][:, indices], out["coarse_vertices"], atol=1e-6)
        assert "upsample" not in head.state_dict()


# --- dense heads ---------------------------------------------------------------------


def test_dpt_hooks_reproduce_official_defaults() -> None:
    assert dpt_hooks(12, 8) == [10, 13, 16, 19]
    assert dpt_hooks(12, 12) == [11, 15, 19, 23]
    assert dpt_hooks(24, 12) == [23, 27, 31, 35]
    assert dpt_hooks(12) == [2, 5, 8, 11] and dpt_hooks(24) == [5, 11, 17, 23]
    assert dpt_hooks(4, 2) == [2, 3, 4, 5] and dpt_hooks(4) == [0, 1, 2, 3]


SMALL_DPT = dict(feature_dim=16, last_dim=8, layer_dims=(8, 16, 32, 64))


@pytest.mark.parametrize("mode", ["monocular", "binocular"])
@pytest.mark.parametrize("patch_size", [16, 8])
def test_dpt_head_full_resolution(mode: str, patch_size: int) -> None:
    cfg = dataclasses.replace(CFG, patch_size=patch_size)
    torch.manual_seed(0)
    model = CroCoDownstream.from_init(
        "random", lambda c: DPTHead.for_backbone(c, mode, num_outputs=DENSEPOSE_OUTPUTS, **SMALL_DPT), mode, config=cfg
    )
    img1, img2 = images()
    out = model(img1, img2 if mode == "binocular" else None)
    assert out.shape == (2, DENSEPOSE_OUTPUTS, 64, 64)
    parts, uv = densepose_outputs(out)
    assert parts.shape == (2, 25, 64, 64) and uv.shape == (2, 24, 2, 64, 64)
    if mode == "binocular":  # hooks 2, 3 are encoder blocks (64 channels), 4, 5 decoder blocks (32)
        assert model.head.hooks == [2, 3, 4, 5]
        assert [s.proj.in_channels for s in model.head.stages] == [64, 64, 32, 32]


def test_densepose_loss_decreases_when_training_a_tiny_dpt() -> None:
    torch.manual_seed(0)
    B, g, C = 2, 4, 16
    head = DPTHead(C, None, [0, 1, 2, 3], DENSEPOSE_OUTPUTS, patch_size=8, **SMALL_DPT)
    feats = [torch.randn(B, g * g, C) for _ in range(4)]
    ys, xs = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    gt_parts = ((ys // 8) * 4 + xs // 8).remainder(25).expand(B, -1, -1)  # a fixed part layout, with background
    gt_uv = torch.stack([xs % 8 / 7.0, ys % 8 / 7.0]).expand(B, -1, -1, -1)
    valid = torch.ones(B, 32, 32, dtype=torch.bool)
    valid[:, :4] = False
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = densepose_loss(*densepose_outputs(head(feats)), gt_parts, gt_uv, valid)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_densepose_loss_uses_the_gt_part_uv_on_foreground_only() -> None:
    parts = torch.zeros(1, 25, 1, 2)
    parts[0, 0] = 10.0  # confident background everywhere
    uv = torch.zeros(1, 24, 2, 1, 2)
    uv[0, 4, :, 0, 1] = 0.5  # part 5's UV at the foreground pixel
    uv[0, 3, :, 0, 0] = 9.0  # a wrong UV at the background pixel: ignored
    gt_parts = torch.tensor([[[0, 5]]])
    gt_uv = torch.full((1, 2, 1, 2), 0.5)
    valid = torch.ones(1, 1, 2, dtype=torch.bool)
    ce = torch.nn.functional.cross_entropy(parts, gt_parts)
    assert torch.allclose(densepose_loss(parts, uv, gt_parts, gt_uv, valid), ce)


# --- downstream wrapper ---------------------------------------------------------------


def pooled(cfg, mode: str = "monocular") -> PooledMLP:
    return PooledMLP(CroCoDownstream.token_dim(cfg, mode), 5, hidden=16)


def test_random_init_has_no_pretraining_parts() -> None:
    model = CroCoDownstream.from_init("random", pooled, "monocular", config=CFG)
    keys = model.state_dict().keys()
    assert not any("mask_token" in k or "prediction_head" in k or "dec" in k for k in keys)
    assert all(k.startswith(("backbone.", "head.")) for k in keys)
    assert model(images()[0]).shape == (2, 5)
    with pytest.raises(ValueError):
        model(*images())
    bino = CroCoDownstream.from_init("random", lambda c: pooled(c, "binocular"), "binocular", config="tiny")
    keys = bino.state_dict().keys()
    assert "backbone.dec_blocks.0.cross_attn.projq.weight" in keys
    assert not any("mask_token" in k or "prediction_head" in k for k in keys)
    assert bino(*images()).shape == (2, 5)


@pytest.mark.parametrize("mode", ["monocular", "binocular"])
def test_croco_checkpoint_init(tmp_path, mode: str) -> None:
    torch.manual_seed(1)
    net = CroCoNet(CFG)
    torch.save({"model": net.state_dict(), "croco_config": dataclasses.asdict(CFG)}, tmp_path / "ckpt.pth")
    model = CroCoDownstream.from_init(f"croco:{tmp_path / 'ckpt.pth'}", lambda c: pooled(c, mode), mode)
    saved = net.state_dict()
    backbone = model.backbone.state_dict()
    assert backbone and all(torch.equal(v, saved[k]) for k, v in backbone.items())
    expected = {k for k in saved if k not in ("mask_token", "prediction_head.weight", "prediction_head.bias")}
    if mode == "monocular":
        expected = {k for k in expected if not k.startswith(("decoder_embed", "dec_"))}
    assert set(backbone) == expected
    img1, img2 = images()
    with torch.no_grad():  # the same tokens as the pretrained network
        if mode == "monocular":
            assert torch.allclose(model.features(img1)[-1], net.encode(img1)[0])
        else:
            f1, p1 = net.encode(img1)
            f2, p2 = net.encode(img2)
            assert torch.allclose(model.features(img1, img2)[-1], net.decode(f1, p1, None, f2, p2), atol=1e-5)
    with pytest.raises(ValueError):
        CroCoDownstream.from_init(f"croco:{tmp_path / 'ckpt.pth'}", pooled(CFG), config=CFG)


def test_weights_init_encoder_only(tmp_path) -> None:
    torch.manual_seed(2)
    net = CroCoNet(CFG)
    save_croco_weights(net, tmp_path / "enc.safetensors", encoder_only=True)
    model = CroCoDownstream.from_init(f"weights:{tmp_path / 'enc.safetensors'}", pooled, "monocular")
    saved = net.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in model.backbone.state_dict().items())
    with pytest.raises(ValueError, match="encoder only"):
        CroCoDownstream.from_init(f"weights:{tmp_path / 'enc.safetensors'}", pooled(CFG, "binocular"), "binocular")
    save_croco_weights(net, tmp_path / "full.safetensors")
    bino = CroCoDownstream.from_init(f"weights:{tmp_path / 'full.safetensors'}", pooled(CFG, "binocular"), "binocular")
    assert torch.equal(bino.backbone.dec_blocks[0].mlp.fc1.weight, net.dec_blocks[0].mlp.fc1.weight)
    with pytest.raises(ValueError):
        CroCoDownstream.from_init("imagenet:foo", pooled(CFG))


def test_configure_optimizers_layerwise_groups() -> None:
    model = CroCoDownstream.from_init("random", lambda c: pooled(c, "binocular"), "binocular", config=CFG)
    opt = model.configure_optimizers(lr=1e-3, weight_decay=0.05, backbone_lr_scale=0.5, layer_decay=0.9)
    owner = {id(p): n for n, p in model.named_parameters()}
    seen = [owner[id(p)] for g in opt.param_groups for p in g["params"]]
    assert sorted(seen) == sorted(owner.values())  # every parameter exactly once
    top = CFG.enc_depth + CFG.dec_depth + 1
    for g in opt.param_groups:
        names = [owner[id(p)] for p in g["params"]]
        assert all((p.ndim >= 2) == (g["weight_decay"] > 0) for p in g["params"])
        assert g["lr"] == pytest.approx(1e-3 * g["lr_scale"])
        if names[0].startswith("head."):
            assert g["lr_scale"] == 1.0
        elif names[0].startswith("backbone.patch_embed"):
            assert g["lr_scale"] == pytest.approx(0.5 * 0.9**top)
