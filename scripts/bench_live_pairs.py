"""Pretraining on takes rendered on the fly (``--data render:SETTINGS``) against the same takes read
from shards (``--data rendered:DIR``), measured in one run.

1. Pairs/s of each source alone, in this process, with no training: the per-worker rate.
2. Steps/s of the ``tiny-cpu`` preset's pretraining with each source, ``--workers`` DataLoader
   workers each: issue 12 asks that the live source reach at least 0.5x the rate from shards on
   2 cores. A step's time is its data wait plus its compute, from the run's ``log.jsonl``, after
   ``--skip`` warm-up steps. With rendering workers on a CPU the trainer keeps ``cores - workers``
   torch threads (one here), as ``croco-train`` does; from shards it keeps one per core.
3. How many rendering workers a ViT-B CroCo (``croco-v2-base-small``, 224 px) bf16 step on one
   H200 would need at the goal MFU of 40 %, at the per-worker rate measured here (a CPU core with
   llvmpipe; a GPU's EGL renders faster, so this is an upper bound).

The takes are those of the quickstart's pretraining set (8 views x 4 frames, 128 px), rendered
to a temporary folder first (``--data DIR`` to use an existing set); the live source renders the
same takes again from that folder's settings.

Run: ``.venv/bin/python scripts/bench_live_pairs.py [--takes 16] [--steps 40] [--workers 2]``
(about 4 minutes on 2 idle cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LP_NUM_THREADS", "1")  # Mesa llvmpipe: one rendering thread per worker

import numpy as np
import torch

from crocohuman.model.croco import CroCoNet, preset_config
from crocohuman.model.pairs.mixture import PairMixture, SourceConfig
from crocohuman.model.pairs.transforms import PairTransform
from crocohuman.model.pretrain import pretrain
from crocohuman.model.train_config import load_config
from crocohuman.model.training_loop import PEAK_BF16_FLOPS
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig
from crocohuman.render.pipeline import run as render

LIVE_GOAL = 0.5  # issue 12: training from render: reaches half the step rate from shards on 2 cores
MFU_GOAL = 0.4


def quickstart_takes(folder: Path, takes: int) -> Path:
    """The quickstart's pretraining takes (its seed and settings), ``takes`` of them."""
    render(
        RenderConfig(
            output=folder,
            takes=takes,
            takes_per_shard=8,
            frames=4,
            width=128,
            height=128,
            rig=RigConfig(views=8),
            seed=1,
            workers=2,
        )
    )
    return folder


def sources(data: Path, pairs_per_take: int | None) -> dict[str, SourceConfig]:
    options = {} if pairs_per_take is None else {"pairs_per_take": pairs_per_take}
    live = f"live (render:, {pairs_per_take or 'default'} pairs per take)"
    return {
        "shards (rendered:)": SourceConfig("rendered", str(data)),
        live: SourceConfig("render", str(data), 1.0, options),
    }


def source_rate(source: SourceConfig, size: int, samples: int) -> float:
    """Pairs/s of one source through the mixture and its crop, in this process."""
    dataset = PairMixture.from_configs([source], transform=PairTransform(size=size), seed=0)
    dataset[0]  # loading the renderer or the shard index is start-up, not throughput
    start = time.perf_counter()
    for index in range(1, samples + 1):
        dataset[index]
    return samples / (time.perf_counter() - start)


def training_rate(source: SourceConfig, out_dir: Path, steps: int, workers: int, skip: int) -> float:
    """Steps/s of the tiny-cpu preset's pretraining on ``source``, after ``skip`` warm-up steps."""
    config = load_config(
        "tiny-cpu",
        values={
            "out_dir": str(out_dir),
            "data": [dataclasses.asdict(source)],
            "num_workers": workers,
            "optim.max_steps": steps,
            "optim.schedule_steps": steps,
            "optim.warmup_steps": min(50, steps),
            "grid_every": 0,
            "ckpt_every": steps,
            "log_every": 1,
        },
    )
    threads = torch.get_num_threads()
    try:
        pretrain(config)  # with render: workers, it leaves them cores (training_loop.leave_cores_to_workers)
    finally:
        torch.set_num_threads(threads)
    lines = [json.loads(line) for line in (out_dir / "log.jsonl").read_text().splitlines()]
    return 1 / statistics.median(line["data_s"] + line["step_s"] for line in lines[skip:])


def vit_b_pairs_per_second() -> float:
    """Pairs/s of a ViT-B CroCo bf16 training step on one H200 at the goal MFU (FLOP count, not measured)."""
    model = CroCoNet(preset_config("croco-v2-base-small"))
    return MFU_GOAL * PEAK_BF16_FLOPS["H200"] / model.estimate_flops_per_pair()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an existing rendered set (default: render the quickstart's)")
    parser.add_argument("--takes", type=int, default=16)
    parser.add_argument("--pairs-per-take", type=int, help="default: the source's (half the take's images)")
    parser.add_argument("--samples", type=int, default=64, help="pairs drawn per source for its own rate")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--skip", type=int, default=10, help="warm-up steps left out of the step rate")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = args.data or quickstart_takes(scratch / "takes", args.takes)
        size = load_config("tiny-cpu").image_size
        rows = []
        for label, source in sources(data, args.pairs_per_take).items():
            alone = source_rate(source, size, args.samples)
            steps = training_rate(source, scratch / f"run-{source.kind}", args.steps, args.workers, args.skip)
            rows.append((label, alone, steps))
    (_, _, disk_steps), (_, live_alone, live_steps) = rows
    print(f"\ntakes: {data} (8 views x 4 frames, 128 px); tiny-cpu preset, batch 16, {args.workers} workers")
    print("| source | pairs/s alone (1 process) | training steps/s | ratio to shards |")
    print("|---|---|---|---|")
    for label, alone, steps in rows:
        print(f"| {label} | {alone:.1f} | {steps:.2f} | {steps / disk_steps:.2f}x |")
    print(f"\nlive / shards training step rate: {live_steps / disk_steps:.2f}x (goal >= {LIVE_GOAL}x)")
    need = vit_b_pairs_per_second()
    print(
        f"ViT-B CroCo bf16 on one H200 at {MFU_GOAL:.0%} MFU: ~{need:.0f} pairs/s (FLOP count); at "
        f"{live_alone:.1f} pairs/s per rendering worker (this CPU core, llvmpipe) it would need "
        f"~{int(np.ceil(need / live_alone))} workers"
    )


if __name__ == "__main__":
    main()
