"""Labelled images per second of croco-render, against a naive baseline measured in the same run.

Default: takes of 8 views x 4 frames at 256x256 rendered by one ``TakeRenderer`` (body model,
GL context, programs and buffers built once) and encoded into shard members, on one CPU core
(torch and Mesa's llvmpipe limited to one thread). Naive baseline: every image opens a
GL context, builds the renderer (programs, framebuffers, buffers), samples and poses a body and
renders one view, the way a per-image script would. Run: ``.venv/bin/python scripts/bench_render.py [--images 256]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("LP_NUM_THREADS", "1")  # Mesa llvmpipe: one rendering thread (one core)

import numpy as np
import torch

from crocohuman.render.camera_rig import RigConfig, sample_rig
from crocohuman.render.config import RenderConfig
from crocohuman.render.pipeline import make_take_renderer, renderer_for, take_rng
from crocohuman.render.raster import MeshBuffers, Rasterizer, create_context
from crocohuman.render.shard_writer import encode_take
from crocohuman.render.take_renderer import sample_lighting, vertex_normals


def bench_default(
    config: RenderConfig, images: int, seconds: float | None = None, before_timing: Callable[[], object] | None = None
) -> tuple[float, str]:
    """Labelled img/s of whole takes, rendered and encoded, after a warm-up take: ``images`` images,
    or as many takes as fit in ``seconds`` (at least one) when it is given. ``before_timing`` runs
    between the warm-up and the clock's start (e.g. a barrier of worker processes)."""
    renderer = renderer_for(config)
    renderer.render(take_rng(0, 10**6))  # warm-up: shader compilation, texture canvas
    if before_timing is not None:
        before_timing()
    per_take = config.frames * config.rig.views
    takes = max(1, images // per_take) if seconds is None else 10**9
    start = time.perf_counter()
    for index in range(takes):
        take = renderer.render(take_rng(0, index))
        encode_take(f"{index:09d}", take, [0, index])
        if seconds is not None and time.perf_counter() - start >= seconds:
            takes = index + 1
            break
    return takes * per_take / (time.perf_counter() - start), renderer.raster.renderer_name


def bench_naive(config: RenderConfig, images: int) -> float:
    renderer = make_take_renderer(config)  # body model and sources only: loading them is not timed
    body, topology = renderer.body, renderer.body.topology
    labels = np.concatenate(
        [np.repeat(topology.face_parts[:, None, None].astype(np.float32), 3, 1), topology.face_iuv], -1
    ).reshape(-1, 3)
    start = time.perf_counter()
    for index in range(images):
        rng = take_rng(1, index)
        identity = body.sample_identity(rng)
        clip = renderer.motion.sample_clip(rng, 1, config.fps)
        vertices = body.pose(identity, clip).vertices[0].astype(np.float64)
        context = create_context()  # a per-image script opens its own GL context
        raster = Rasterizer(config.width, config.height, context)
        raster.set_mesh("person", MeshBuffers(topology.face_uvs.reshape(-1, 2), labels, identity.texture))
        faces = topology.faces
        raster.update_mesh(
            "person", vertices[faces].reshape(-1, 3), vertex_normals(vertices, faces)[faces].reshape(-1, 3)
        )
        camera = sample_rig(rng, RigConfig(views=1), vertices, config.width, config.height)[0]
        color, label = raster.render(camera.intrinsics, camera.extrinsics, sample_lighting(rng))
        background = renderer.background.sample(rng, config.height, config.width)
        np.where(label[..., :1] > 0, color, background)
        context.release()
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (Mesa: set LP_NUM_THREADS)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = RenderConfig(output="unused", width=args.size, height=args.size, frames=4, rig=RigConfig(views=8))
    default, gl = bench_default(config, args.images)
    naive = bench_naive(config, max(16, args.images // 8))
    print(f"GL renderer: {gl}; torch threads: {args.threads}; LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS')}")
    print(f"| configuration ({args.size}x{args.size}, anny, procedural background) | labelled img/s |")
    print("|---|---|")
    print(f"| default: takes of 8 views x 4 frames, encoded | {default:.1f} |")
    print(f"| naive: GL context, renderer and body rebuilt per image | {naive:.1f} |")
    print(f"| ratio | {default / naive:.1f}x |")


if __name__ == "__main__":
    main()
