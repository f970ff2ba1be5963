"""Labelled images per second of croco-render, against a naive baseline measured in the same run.

Default: takes of 8 views x 4 frames at 256x256 rendered by one ``TakeRenderer`` (body model,
GL context, programs and buffers built once; body atlas as ``RenderConfig`` sizes it, 256² for
256-px images since issue 12) and encoded into shard members, on one CPU core (torch and Mesa's
llvmpipe limited to one thread). Naive baseline: every image opens a
GL context, builds the renderer (programs, framebuffers, buffers), samples and poses a body and
renders one view, the way a per-image script would.

Also, in the same run: the per-take overhead (takes of 2 views x 1 frame against takes of 8 views
x 4 frames, timed in alternating rounds so that a load change hits both; issue 12 asks for at least
0.5x), hand takes (``--focus hands``, 8 x 4, in the same rounds; issue 13 asks for at least the body
takes' img/s), the diversity of identities (distinct textures and body shapes among the identities of
``--diversity-takes`` takes, sampled as the renderer samples them but not rendered), and worker
scaling (img/s of 1 and of 2 worker processes rendering at once, each timed after its warm-up, and
each worker's peak RSS).

Run: ``.venv/bin/python scripts/bench_render.py [--images 256] [--diversity-takes 1000] [--worker-seconds 10]``
(about 3 minutes on 2 idle cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import multiprocessing
import os
import resource
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
from crocohuman.render.take_renderer import TakeRenderer, VertexNormals, sample_lighting

PER_TAKE_GOAL = 0.5  # issue 12: 2x1 takes reach at least half the img/s of 8x4 takes
HANDS_GOAL = 1.0  # issue 13: hand takes at least as many img/s as body takes
PER_CORE_GOAL = 30.0  # issue 12: 8x4 takes at 256 px, img/s on one core


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
        normals = VertexNormals(faces)(vertices)
        raster.update_mesh("person", vertices[faces].reshape(-1, 3), normals[faces].reshape(-1, 3))
        camera = sample_rig(rng, RigConfig(views=1), vertices, config.width, config.height)[0]
        color, label = raster.render(camera.intrinsics, camera.extrinsics, sample_lighting(rng))
        background = renderer.background.sample(rng, config.height, config.width)
        np.where(label[..., :1] > 0, color, background)
        context.release()
    return images / (time.perf_counter() - start)


def sibling_renderer(renderer: TakeRenderer, views: int, frames: int) -> TakeRenderer:
    """A renderer of takes of ``views`` x ``frames`` sharing ``renderer``'s body model and sources."""
    return TakeRenderer(
        renderer.body,
        renderer.motion,
        renderer.background,
        dataclasses.replace(renderer.rig, views=views),
        renderer.width,
        renderer.height,
        frames,
        renderer.fps,
        scene=renderer.scene,
    )


def bench_alternating(renderers: list[TakeRenderer], images: int, rounds: int = 8) -> list[float]:
    """Labelled img/s of each renderer's takes (rendered and encoded), timed in ``rounds`` alternating
    rounds of about ``images / rounds`` images each, after a warm-up take each."""
    for renderer in renderers:
        renderer.render(take_rng(0, 10**6))
    seconds, counts = [0.0] * len(renderers), [0] * len(renderers)
    rounds = max(1, min(rounds, images // max(r.frames * r.rig.views for r in renderers)))
    for _ in range(rounds):
        for k, renderer in enumerate(renderers):
            per_take = renderer.frames * renderer.rig.views
            start = time.perf_counter()
            for _ in range(max(1, images // rounds // per_take)):
                index = counts[k] // per_take
                encode_take(f"{index:09d}", renderer.render(take_rng(0, index)), [0, index])
                counts[k] += per_take
            seconds[k] += time.perf_counter() - start
    return [count / elapsed for count, elapsed in zip(counts, seconds, strict=True)]


def identity_diversity(body, takes: int, seed: int = 0) -> tuple[int, int]:
    """Distinct textures and distinct body shapes among the identities of takes 0..takes-1, drawn
    from the same stream as the renderer draws them (the first of a take's six), not rendered."""
    textures, shapes = set(), set()
    for index in range(takes):
        identity = body.sample_identity(take_rng(seed, index).spawn(6)[0])
        textures.add(hashlib.sha256(identity.texture.tobytes()).digest())
        shape = b"".join(key.encode() + np.asarray(identity.params[key]).tobytes() for key in sorted(identity.params))
        shapes.add(hashlib.sha256(shape).digest())
    return len(textures), len(shapes)


def _worker(config: RenderConfig, seconds: float, threads: int, barrier, results) -> None:
    torch.set_num_threads(threads)
    rate, _ = bench_default(config, 0, seconds, barrier.wait)
    results.put((rate, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))  # KiB on Linux


def bench_workers(config: RenderConfig, workers: int, seconds: float, threads: int = 1) -> tuple[float, float]:
    """Summed img/s of ``workers`` spawned processes (as ``croco-render --workers``) rendering at once
    for ``seconds`` after every one's warm-up, and the largest peak RSS of one worker, in MiB."""
    measured = run_together(multiprocessing.get_context("spawn"), _worker, (config, seconds, threads), workers)
    return sum(rate for rate, _ in measured), max(rss for _, rss in measured)


def run_together(context, target, args: tuple, workers: int, timeout: float = 900) -> list:
    """Start ``workers`` processes of ``target(*args, barrier, results)``, which start their clocks
    together at the barrier and put one result each; those results, after every process exited."""
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=target, args=(*args, barrier, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    measured = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a render worker exited with status {process.exitcode}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (Mesa: set LP_NUM_THREADS)")
    parser.add_argument("--diversity-takes", type=int, default=1000, help="takes whose identities are compared")
    parser.add_argument("--worker-seconds", type=float, default=10.0, help="timed rendering per worker run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = RenderConfig(output="unused", width=args.size, height=args.size, frames=4, rig=RigConfig(views=8))
    # worker processes first, while this process holds no body model nor GL context
    one_worker, one_rss = bench_workers(config, 1, args.worker_seconds, args.threads)
    two_workers, two_rss = bench_workers(config, 2, args.worker_seconds, args.threads)
    default, gl = bench_default(config, args.images)
    renderer = renderer_for(config)
    hands = make_take_renderer(dataclasses.replace(config, focus="hands"))  # same takes, cameras on the hands
    many, few, close_ups = bench_alternating([renderer, sibling_renderer(renderer, 2, 1), hands], args.images)
    naive = bench_naive(config, max(16, args.images // 8))
    textures, shapes = identity_diversity(renderer.body, args.diversity_takes)
    print(f"GL renderer: {gl}; torch threads: {args.threads}; LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS')}")
    print(f"| configuration ({args.size}x{args.size}, anny, procedural background) | labelled img/s |")
    print("|---|---|")
    print(f"| default: takes of 8 views x 4 frames, encoded | {default:.1f} |")
    print(f"| naive: GL context, renderer and body rebuilt per image | {naive:.1f} |")
    print(f"| ratio | {default / naive:.1f}x |")
    print(f"| takes of 8 views x 4 frames, alternating rounds (goal {PER_CORE_GOAL:g} at 256 px) | {many:.1f} |")
    print(f"| takes of 2 views x 1 frame, alternating rounds | {few:.1f} |")
    print(f"| ratio 2x1 / 8x4 (per-take overhead; goal >= {PER_TAKE_GOAL}x) | {few / many:.2f}x |")
    print(f"| hand takes (--focus hands) of 8 views x 4 frames, alternating rounds | {close_ups:.1f} |")
    print(f"| ratio hands / body 8x4 (goal >= {HANDS_GOAL:g}x) | {close_ups / many:.2f}x |")
    print(f"| 1 worker process, 8x4 takes (peak RSS {one_rss:.0f} MiB) | {one_worker:.1f} |")
    print(f"| 2 worker processes at once, 8x4 takes (peak RSS per worker {two_rss:.0f} MiB) | {two_workers:.1f} |")
    print(f"| ratio 2 workers / 1 worker | {two_workers / one_worker:.2f}x |")
    print()
    print(f"| diversity of the identities of {args.diversity_takes} takes (sampled, not rendered) | distinct |")
    print("|---|---|")
    print(f"| textures | {textures} |")
    print(f"| body shapes | {shapes} |")


if __name__ == "__main__":
    main()
