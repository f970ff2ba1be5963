"""A tiny CroCo pretraining run on the CPU and the tiny takes it reads, shared by the pretraining tests."""

from __future__ import annotations

from crocohuman.model.pairs.mixture import SourceConfig
from crocohuman.model.train_config import TrainConfig

TINY = {
    "img_size": 64,
    "patch_size": 8,
    "enc_embed_dim": 64,
    "enc_depth": 2,
    "enc_num_heads": 2,
    "dec_embed_dim": 32,
    "dec_depth": 1,
    "dec_num_heads": 2,
}


def tiny_config(out_dir, data_root, **overrides) -> TrainConfig:
    """A 6-step pretraining run of a tiny CroCo on the CPU, on the rendered shards at ``data_root``."""
    settings = dict(
        out_dir=str(out_dir),
        model="croco-v2-base-small",
        model_overrides=TINY,
        image_size=64,
        data=[SourceConfig("rendered", str(data_root))],
        batch_size=4,
        num_workers=0,
        device="cpu",
        optim={"base_lr": 1e-3, "warmup_steps": 2, "schedule_steps": 20, "max_steps": 6},
        log_every=1,
        grid_every=3,
        ckpt_every=2,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


def render_tiny_takes(root, **settings):
    """4 takes x 2 frames x 3 views of 64 px (seed 3) into ``root``; ``settings`` override RenderConfig keys."""
    from crocohuman.render.camera_rig import RigConfig
    from crocohuman.render.config import RenderConfig
    from crocohuman.render.pipeline import run as render

    defaults = dict(takes=4, takes_per_shard=2, frames=2, width=64, height=64, rig=RigConfig(views=3), seed=3)
    render(RenderConfig(output=root, texture_size=128, preview_takes=1, **{**defaults, **settings}))
    return root
