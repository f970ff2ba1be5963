"""CroCoNet against the official CroCo layouts and formulas; loss. Fast, CPU.

Checkpoints are tested in ``test_croco_model_checkpoints``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from crocohuman.model import CroCoConfig, masked_mse
from crocohuman.model.criterion import normalize_patches, unnormalize_patches
from crocohuman.model.croco import preset_config
from crocohuman.model.croco_layers import RoPE2D, sincos_pos_embed_2d

from fake_croco import drawn_mask, images, on_meta, tiny

# --- official layout ----------------------------------------------------------


def official_layout(cfg: CroCoConfig) -> dict[str, tuple[int, ...]]:
    """Names and shapes written out from the reference (croco-official-format.md, section 2)."""
    ce, cd, p, n = cfg.enc_embed_dim, cfg.dec_embed_dim, cfg.patch_size, cfg.num_patches
    he, hd = int(ce * cfg.mlp_ratio), int(cd * cfg.mlp_ratio)
    out = {"mask_token": (1, 1, cd), "patch_embed.proj.weight": (ce, 3, p, p), "patch_embed.proj.bias": (ce,)}
    if cfg.pos_embed == "cosine":
        out |= {"enc_pos_embed": (n, ce), "dec_pos_embed": (n, cd)}

    def linear(name: str, o: int, i: int) -> dict:
        return {f"{name}.weight": (o, i), f"{name}.bias": (o,)}

    def norm(name: str, d: int) -> dict:
        return {f"{name}.weight": (d,), f"{name}.bias": (d,)}

    for i in range(cfg.enc_depth):
        b = f"enc_blocks.{i}"
        out |= norm(f"{b}.norm1", ce) | linear(f"{b}.attn.qkv", 3 * ce, ce) | linear(f"{b}.attn.proj", ce, ce)
        out |= norm(f"{b}.norm2", ce) | linear(f"{b}.mlp.fc1", he, ce) | linear(f"{b}.mlp.fc2", ce, he)
    out |= norm("enc_norm", ce) | linear("decoder_embed", cd, ce)
    for i in range(cfg.dec_depth):
        b = f"dec_blocks.{i}"
        out |= norm(f"{b}.norm1", cd) | linear(f"{b}.attn.qkv", 3 * cd, cd) | linear(f"{b}.attn.proj", cd, cd)
        for proj in ("projq", "projk", "projv", "proj"):
            out |= linear(f"{b}.cross_attn.{proj}", cd, cd)
        out |= norm(f"{b}.norm2", cd) | norm(f"{b}.norm3", cd) | norm(f"{b}.norm_y", cd)
        out |= linear(f"{b}.mlp.fc1", hd, cd) | linear(f"{b}.mlp.fc2", cd, hd)
    return out | norm("dec_norm", cd) | linear("prediction_head", p * p * 3, cd)


@pytest.mark.parametrize(
    "preset, entries, params",
    [
        ("croco-v1", 349, 120_076_288),
        ("croco-v2-base-small", 347, 120_076_288),
        ("croco-v2-base-base", 443, 200_269_824),
        ("croco-v2-large-base", 587, 417_918_720),
    ],
)
def test_official_names_shapes_and_counts(preset, entries, params):
    cfg = preset_config(preset)
    model = on_meta(cfg)
    sd = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sd == official_layout(cfg)
    assert len(sd) == entries and model.num_params() == params


def test_config_validation():
    with pytest.raises(ValueError, match="pos_embed"):
        CroCoConfig(pos_embed="RoPEx")
    with pytest.raises(ValueError, match="multiples of 4"):
        CroCoConfig(dec_embed_dim=36, dec_num_heads=6, pos_embed="RoPE100")  # head dim 6
    with pytest.raises(ValueError, match="patch_size"):
        CroCoConfig(img_size=100)
    with pytest.raises(KeyError, match="known"):
        preset_config("croco-v3")
    assert CroCoConfig(pos_embed="RoPE10.5").rope_base == 10.5
    assert CroCoConfig().num_masked == 176  # int(0.9 * 196), as official


# --- positional encodings -----------------------------------------------------


def test_rope_depends_only_on_relative_positions():
    torch.manual_seed(0)
    rope = RoPE2D(100.0)
    q, k = torch.randn(2, 3, 10, 16), torch.randn(2, 3, 10, 16)
    qpos, kpos = torch.randint(0, 14, (2, 10, 2)), torch.randint(0, 14, (2, 10, 2))
    scores = rope(q, qpos) @ rope(k, kpos).transpose(-1, -2)
    shift = torch.tensor([5, -3])
    shifted = rope(q, qpos + shift) @ rope(k, kpos + shift).transpose(-1, -2)
    torch.testing.assert_close(scores, shifted, atol=1e-4, rtol=1e-5)
    # and it does depend on them
    assert not torch.allclose(scores, rope(q, qpos) @ rope(k, kpos + shift).transpose(-1, -2), atol=1e-3)


def test_rope_pairing_and_frequencies():
    """Head dim 8: channels 0..3 turn with y, 4..7 with x; pairs (0,2), (1,3) at f_i = base^(-2i/4)."""
    base, y, x = 100.0, 3, 2
    rope = RoPE2D(base)
    pos = torch.tensor([[[y, x]]])
    for i in range(8):
        t = torch.zeros(1, 1, 1, 8)
        t[..., i] = 1.0
        out = rope(t, pos)[0, 0, 0]
        half, j = divmod(i, 4)  # which half (0: y, 1: x), index inside it
        angle = (y, x)[half] * base ** (-2 * (j % 2) / 4)
        partner = 4 * half + (j + 2) % 4
        expected = torch.zeros(8)
        expected[i] = math.cos(angle)
        expected[partner] = math.sin(angle) if j < 2 else -math.sin(angle)
        torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_cosine_table_first_half_encodes_x():
    dim, g = 16, 5
    table = sincos_pos_embed_2d(dim, g)
    assert table.shape == (g * g, dim) and table.dtype == torch.float32
    omega = 1.0 / 10000 ** (np.arange(dim // 4) / (dim / 4))
    for n in (0, 1, 7, 24):
        y, x = divmod(n, g)
        expected = np.concatenate([np.sin(x * omega), np.cos(x * omega), np.sin(y * omega), np.cos(y * omega)])
        np.testing.assert_allclose(table[n].numpy(), expected, atol=1e-6)


# --- patches, forward, masks --------------------------------------------------


def test_patchify_order_and_round_trip():
    model = tiny()
    p, g = 16, 4
    imgs = torch.randn(2, 3, 64, 64)
    patches = model.patchify(imgs)
    assert patches.shape == (2, g * g, p * p * 3)
    for n, i, j, c in [(0, 0, 0, 0), (1, 0, 0, 2), (5, 3, 7, 1), (15, 15, 15, 2)]:
        y, x = divmod(n, g)
        assert patches[1, n, (i * p + j) * 3 + c] == imgs[1, c, y * p + i, x * p + j]  # channel fastest
    torch.testing.assert_close(model.unpatchify(patches), imgs, rtol=0, atol=0)


@pytest.mark.parametrize("pos_embed", ["cosine", "RoPE100"])
def test_forward_shapes_and_mask(pos_embed):
    model = tiny(pos_embed=pos_embed)
    img1, img2 = images()
    torch.manual_seed(7)
    pred, mask, target = model(img1, img2)
    assert pred.shape == target.shape == (2, 16, 768)
    assert mask.dtype == torch.bool and mask.shape == (2, 16)
    torch.manual_seed(7)
    assert torch.equal(mask, drawn_mask(model))  # without a mask, forward draws masking.uniform_mask's
    assert mask.sum(1).tolist() == [int(0.9 * 16)] * 2
    torch.testing.assert_close(target, model.patchify(img1))
    given = drawn_mask(model, seed=3)
    assert torch.equal(model(img1, img2, given)[1], given)
    feats, pos = model.encode(img1, given, return_all_blocks=True)
    assert len(feats) == 2 and feats[-1].shape == (2, 2, 64) and pos.shape == (2, 16, 2)
    assert pos[0, 5].tolist() == [1, 1]  # (y, x) of patch 5 on the 4x4 grid


def test_unequal_mask_rows_are_refused():
    model = tiny()
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, :10], mask[1, :12] = True, True
    with pytest.raises(RuntimeError, match="same number"):
        model(*images(), mask)


def test_sdpa_matches_math_attention():
    img1, img2 = images()
    for pos_embed in ("cosine", "RoPE100"):
        fused, plain = tiny(pos_embed=pos_embed), tiny(pos_embed=pos_embed, attn_impl="math")
        plain.load_state_dict(fused.state_dict())
        mask = drawn_mask(fused)
        with torch.no_grad():
            torch.testing.assert_close(fused(img1, img2, mask)[0], plain(img1, img2, mask)[0], atol=1e-5, rtol=0)


def test_mae_path_ignores_the_memory_and_cross_attention():
    model = tiny(pos_embed="RoPE100")
    img1, _img2 = images()
    mask = drawn_mask(model)
    pred, mask_out, target = model.forward_mae(img1, mask)
    assert pred.shape == target.shape == (2, 16, 768) and torch.equal(mask_out, mask)
    with torch.no_grad():
        for blk in model.dec_blocks:
            blk.cross_attn.proj.weight.add_(1.0)
            blk.norm_y.weight.mul_(3.0)
    torch.testing.assert_close(model.forward_mae(img1, mask)[0], pred)  # no image 2, no cross-attention
    masked_mse(model.forward_mae(img1, mask)[0], target, mask).backward()
    assert all(p.grad is None for n, p in model.named_parameters() if ".cross_attn." in n or ".norm_y." in n)
    assert model.dec_blocks[0].attn.qkv.weight.grad is not None
    assert model.forward_mae(img1)[1].sum(1).tolist() == [14, 14]


# --- loss ---------------------------------------------------------------------


def test_masked_mse_counts_hidden_patches_only():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 16, 48), torch.randn(2, 16, 48)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, ::3] = True
    loss = masked_mse(pred, target, mask)
    changed = pred.clone()
    changed[~mask] += 100.0
    assert masked_mse(changed, target, mask) == loss
    # the formula: unbiased variance, +1e-6, mean over the patch vector, mean over hidden patches
    t = target[mask]
    norm = (t - t.mean(-1, keepdim=True)) / torch.sqrt(t.var(-1, unbiased=True, keepdim=True) + 1e-6)
    torch.testing.assert_close(loss, ((pred[mask] - norm) ** 2).mean())
    torch.testing.assert_close(masked_mse(pred, target, mask, norm_pix=False), ((pred[mask] - t) ** 2).mean())
    torch.testing.assert_close(unnormalize_patches(normalize_patches(target), target), target, atol=1e-5, rtol=0)


# --- optimizer and FLOPs ------------------------------------------------------


def test_configure_optimizers_groups():
    model = tiny()
    opt = model.configure_optimizers(weight_decay=0.05, lr=1.5e-4, betas=(0.9, 0.95))
    decay, no_decay = (set(map(id, g["params"])) for g in opt.param_groups)
    names = {id(p): n for n, p in model.named_parameters()}
    assert {g["weight_decay"] for g in opt.param_groups} == {0.05, 0.0}
    assert id(model.mask_token) in decay and id(model.prediction_head.weight) in decay
    assert all(
        n.endswith(".bias") or ".norm" in n or n.startswith(("enc_norm", "dec_norm"))
        for i, n in names.items()
        if i in no_decay
    )
    assert len(decay) + len(no_decay) == len(names)
    assert opt.defaults["betas"] == (0.9, 0.95)


def test_flop_estimate_matches_the_matmuls_actually_run():
    model = tiny(attn_impl="math")  # explicit matmuls, so the counter sees the attention
    img1, img2 = images(B=1)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(img1, img2)
    assert model.estimate_flops_per_pair() == 3 * counter.get_total_flops()
    assert model.estimate_mfu(10.0, 1e12) == pytest.approx(model.estimate_flops_per_pair() * 10.0 / 1e12)
