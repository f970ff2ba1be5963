"""One prepared GPU check: rendering, pretraining and croco-eval throughput and peak memory, one table.

Rows: EGL rendering img/s of whole 256 px takes in one process and in 8 forked worker processes
(DataLoader-style, each with its own GL context; steady state after a warm-up take, all workers
timed together); pairs/s of the ``render:`` pair source (takes rendered on the fly in spawned
DataLoader workers); ViT-B CroCo (croco-v2-base-small) bf16 pretraining steps with SDPA and
torch.compile, pairs/s and MFU; ``croco-eval`` (``evaluate``) samples/s of a one-step fine-tuned
hmr-free model on a small rendered set; peak GPU memory. Each part is time-boxed so that the whole
run stays under 8 minutes on one GPU. ``--tiny`` (or ``CROCO_GPU_CHECK_TINY=1``) runs the same code
on the CPU with Mesa, a tiny model and tiny sizes, in about a minute: the test suite runs it so
that the check cannot rot before a device is lent.

Run: ``scripts/gpu_check.sh`` (sets the environment, then runs this file).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench scripts next to this one

import torch
from bench_render import bench_default, run_together
from bench_train import TINY, time_steps

from crocohuman.model.croco import CroCoNet, preset_config
from crocohuman.model.training_loop import PEAK_BF16_FLOPS
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig

RENDER_GOAL = 2000.0  # labelled img/s at 256 px on one H200 (issue 12)
MFU_GOAL = 40.0  # % (issue 12)


@dataclass(frozen=True)
class Sizes:
    """Everything that differs between the GPU run and the tiny CPU run."""

    image: int  # rendered px
    frames: int
    views: int
    texture: int
    workers: int  # render worker processes
    render_s: float  # timed seconds per rendering measurement
    model: str
    overrides: dict
    batch: int
    warmup: int
    steps: int  # at most; train_s bounds them
    train_s: float
    compile_backend: str
    eval_takes: int
    eval_batch: int
    eval_workers: int


GPU = Sizes(256, 4, 8, 512, 8, 30.0, "croco-v2-base-small", {}, 64, 10, 400, 40.0, "inductor", 8, 64, 8)
TINY_SIZES = Sizes(64, 2, 2, 128, 2, 1.0, "croco-v2-base-small", TINY, 2, 1, 2, 1.0, "eager", 1, 4, 0)


@dataclass
class Row:
    what: str
    value: float
    unit: str
    goal: float | None = None

    def cells(self) -> list[str]:
        goal = f"{self.goal:g} {self.unit}" if self.goal else "-"
        ratio = f"{self.value / self.goal:.2f}x" if self.goal else "-"
        return [self.what, f"{self.value:.4g}", self.unit, goal, ratio]


def render_config(sizes: Sizes, output: Path, takes: int = 1) -> RenderConfig:
    return RenderConfig(
        output=output,
        takes=takes,
        takes_per_shard=takes,
        frames=sizes.frames,
        width=sizes.image,
        height=sizes.image,
        rig=RigConfig(views=sizes.views),
        texture_size=sizes.texture,
        preview_takes=1,
    )


def _render_worker(config: RenderConfig, seconds: float, barrier, results) -> None:
    rate, gl = bench_default(config, 0, seconds, barrier.wait)
    results.put((rate, gl))


def render_in_workers(config: RenderConfig, workers: int, seconds: float) -> tuple[float, str]:
    """Summed img/s of ``workers`` forked processes rendering at once (timed after every warm-up).
    Run it before this process opens a GL context or CUDA: the children are forked."""
    context = multiprocessing.get_context("fork")
    rates = run_together(context, _render_worker, (config, seconds), workers, timeout=600)
    return sum(rate for rate, _ in rates), rates[0][1]


def live_pairs_row(sizes: Sizes, data: Path) -> Row:
    """Pairs/s of the ``render:`` source (takes of ``data``'s settings rendered on the fly) through
    ``sizes.workers`` spawned DataLoader workers, timed after the first batch (workers' start-up)."""
    from crocohuman.model.pairs.mixture import PairMixture, SourceConfig, make_loader
    from crocohuman.model.pairs.transforms import PairTransform

    dataset = PairMixture.from_configs([SourceConfig("render", str(data))], transform=PairTransform(size=sizes.image))
    loader = iter(make_loader(dataset, sizes.batch, num_workers=sizes.workers))
    next(loader)
    start, pairs = time.perf_counter(), 0
    while pairs == 0 or time.perf_counter() - start < sizes.render_s:
        pairs += len(next(loader)["source"])
    rate = pairs / (time.perf_counter() - start)
    return Row(f"render: pairs rendered on the fly, {sizes.workers} spawned DataLoader workers", rate, "pairs/s")


def peak_flops(device: torch.device) -> tuple[float, str]:
    """The device's dense bf16 peak from the table, else a measured matmul rate (fp32 on the CPU)."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for fragment, flops in PEAK_BF16_FLOPS.items():
            if fragment in name:
                return flops, f"{name} bf16 peak {flops / 1e12:g} TFLOP/s"
    n, dtype = (8192, torch.bfloat16) if device.type == "cuda" else (256, torch.float32)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    repeats = 10
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    flops = 2 * n**3 * repeats / (time.perf_counter() - start)
    return flops, f"measured {n}x{n} matmul {flops / 1e9:.3g} GFLOP/s"


def train_rows(sizes: Sizes, device: torch.device) -> tuple[list[Row], str]:
    torch.manual_seed(0)
    model = CroCoNet(preset_config(sizes.model, attn_impl="sdpa", mask_ratio=0.75, **sizes.overrides)).to(device)
    dtype = "bf16" if device.type == "cuda" else "fp32"
    compiled = torch.compile(model, backend=sizes.compile_backend)
    rate = time_steps(compiled, sizes.batch, dtype, device, sizes.steps, sizes.warmup, sizes.train_s)
    peak, peak_note = peak_flops(device)
    what = (
        f"{'tiny' if sizes.overrides else 'ViT-B'} CroCo pretraining, {dtype}, SDPA, compile ({sizes.compile_backend})"
    )
    rows = [
        Row(f"{what}, batch {sizes.batch}", rate, "pairs/s"),
        Row(f"MFU of that ({peak_note})", 100 * model.estimate_mfu(rate, peak), "%", MFU_GOAL),
    ]
    return rows, f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters"


def eval_row(sizes: Sizes, device: torch.device, data: Path, work: Path) -> Row:
    """``croco-eval synthetic`` of a one-step fine-tuned hmr-free model, end to end (load, predict,
    score): the evaluation code's throughput, not the model's accuracy."""
    from crocohuman.eval.config import EvalConfig
    from crocohuman.eval.evaluate import evaluate
    from crocohuman.model.finetune import finetune
    from crocohuman.model.train_config import TrainConfig

    image_size = sizes.overrides.get("img_size", 224)
    finetune(
        TrainConfig(
            out_dir=str(work / "run"),
            model=sizes.model,
            model_overrides=sizes.overrides,
            image_size=image_size,
            batch_size=sizes.eval_batch,
            num_workers=0,
            device=device.type,
            grid_every=0,
            ckpt_every=1,
            log_every=1,
            optim={"warmup_steps": 1, "schedule_steps": 1, "max_steps": 1},
            finetune={"task": "hmr-free", "benchmark": "synthetic", "root": str(data)},
        )
    )
    precision = "bf16" if device.type == "cuda" else "fp32"
    config = EvalConfig(
        work / "run" / "checkpoint-last.pt",
        "synthetic",
        str(data),
        work / "eval",
        batch_size=sizes.eval_batch,
        num_workers=sizes.eval_workers,
        device=str(device),
        precision=precision,
    )
    start = time.perf_counter()
    summary = evaluate(config)
    rate = summary["samples"] / (time.perf_counter() - start)
    return Row(
        f"croco-eval synthetic, hmr-free, {precision}, {summary['samples']} samples of {image_size} px",
        rate,
        "samples/s",
    )


def peak_memory_row(device: torch.device) -> Row:
    if device.type == "cuda":
        return Row("peak GPU memory (torch allocator)", torch.cuda.max_memory_allocated(device) / 2**20, "MiB")
    return Row(
        "peak memory (host RSS of this process: no GPU)",
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "MiB",
    )


def print_table(header: list[str], rows: list[Row]) -> None:
    for line in header:
        print(line)
    print("| measurement | value | unit | goal | ratio to goal |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", default=os.environ.get("CROCO_GPU_CHECK_TINY") == "1")
    parser.add_argument("--out", help="work folder (rendered set, run, report) [default: a temporary one]")
    args = parser.parse_args()
    sizes = TINY_SIZES if args.tiny else GPU
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as temporary:
        work = Path(args.out or temporary)
        data = work / "rendered"
        config = render_config(sizes, data, sizes.eval_takes)
        size = f"{sizes.image} px, takes of {sizes.views} views x {sizes.frames} frames, encoded"
        # forked workers first: this process has no GL context nor CUDA yet (is_available() initialises it)
        workers_rate, gl = render_in_workers(config, sizes.workers, sizes.render_s)
        rows = [Row(f"EGL rendering, {sizes.workers} worker processes, {size}", workers_rate, "img/s", RENDER_GOAL)]
        device = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")  # after the fork
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        one_rate, gl = bench_default(config, 0, sizes.render_s)
        rows.insert(0, Row(f"EGL rendering, 1 process, {size}", one_rate, "img/s", RENDER_GOAL))
        from crocohuman.render.pipeline import run as render

        render(config)  # the evaluation set, with this process's renderer
        rows.append(live_pairs_row(sizes, data))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        train, params = train_rows(sizes, device)
        rows += train
        rows.append(eval_row(sizes, device, data, work))
        rows.append(peak_memory_row(device))
    cuda = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA build"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print_table(
        [
            f"device: {name}; torch {torch.__version__}; {cuda}; GL renderer: {gl}",
            f"mode: {'tiny (CPU, tiny sizes)' if args.tiny else 'GPU'}; model {sizes.model} ({params}); "
            f"total {time.perf_counter() - started:.0f} s",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
