"""One explicit training loop shared by pretraining and fine-tuning.

A ``Task`` says what is trained (model, data, loss, pictures); the loop does the rest the same
way for all: device and DDP through torchrun, gradient accumulation, bf16 autocast on CUDA,
optional torch.compile, warmup + cosine schedule, JSON-lines + TensorBoard logs, atomic
checkpoints and exact auto-resume.

Everything random is a function of the config's seed and a position: sample ``i`` of the
stream is drawn from (seed, i) by the dataset, and the step's own randomness (masks) from
(seed, step, rank). So a checkpoint (model, optimizer, step) is all that resuming needs, and a
resumed run takes exactly the steps the uninterrupted one would have taken.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from crocohuman.core.atomic_files import write_if_changed
from crocohuman.core.errors import CorruptSourceError
from crocohuman.model.preflight import changed_settings, check_inputs, finished_run, normalised
from crocohuman.model.recon_grid import save_grid
from crocohuman.model.run_checkpoint import LAST, load_training_checkpoint, save_training_checkpoint
from crocohuman.model.run_log import JsonLog

log = logging.getLogger("crocohuman.train")

# Dense bf16 peak FLOP/s by device-name fragment, for MFU (nanoGPT style).
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


class Task(Protocol):
    """What a training run trains. ``config`` is the run's ``TrainConfig``."""

    name: str
    find_unused_parameters: bool  # DDP: some weights get no gradient (MAE's cross-attention)

    def build_model(self) -> torch.nn.Module: ...

    def configure_optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer: ...

    def dataset(self) -> torch.utils.data.Dataset: ...  # map-style, sample i a function of (seed, i)

    def loss(
        self, model, core, batch: dict, generator: torch.Generator, device: torch.device
    ) -> tuple[torch.Tensor, dict]: ...  # (loss, what `pictures` needs)

    def pictures(self, core, outputs: dict) -> list[np.ndarray]: ...  # rows of a PNG grid

    def checkpoint_meta(self, core) -> dict: ...  # stored beside the weights (e.g. croco_config)

    def flops_per_sample(self, core) -> float | None: ...


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: torch.device) -> Distributed:
    """torchrun sets RANK/WORLD_SIZE/LOCAL_RANK; without them this is a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return Distributed()
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size())


def pick_device(name: str) -> torch.device:
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(f"cuda:{local_rank}") if name == "cuda" else torch.device(name)


def learning_rate(step: int, peak: float, optim) -> float:
    """Linear warmup then a half cosine to min_lr over ``schedule_steps``, per iteration."""
    if step < optim.warmup_steps:
        return peak * (step + 1) / optim.warmup_steps
    progress = min(1.0, (step - optim.warmup_steps) / max(1, optim.schedule_steps - optim.warmup_steps))
    return optim.min_lr + (peak - optim.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class NonFiniteTrainingError(ValueError):
    """Too many steps in a row had a non-finite loss or gradient; the checkpoint on disk is the last good one."""


def resume(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, config) -> int:
    """Load the run's last checkpoint into model and optimizer; its step. Another model is an error
    naming the changed settings, leaving the run folder as it is."""
    state = load_training_checkpoint(path)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        changed = changed_settings(normalised(state.get("train_config") or {}), config.to_dict())
        raise ValueError(
            f"{path}: cannot resume, the checkpoint's model does not fit this config "
            f"({', '.join(changed) or 'model shapes'} changed since it was written); "
            "resume with its settings or choose another --out"
        ) from error
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"])


def next_batch(batches) -> dict:
    """The next batch; a source that is all corrupt ends the run with the mixture's one-line message,
    also when a DataLoader worker raised it (torch wraps it in the worker's traceback)."""
    try:
        return next(batches)
    except CorruptSourceError as error:
        raise CorruptSourceError(error.headline()) from None


def grads_are_finite(model: torch.nn.Module, loss: torch.Tensor, ddp: Distributed) -> tuple[torch.Tensor, torch.Tensor]:
    """(all finite, gradient norm) as device tensors, with no host sync. Under DDP the flag is
    all-reduced, so every rank takes the same decision."""
    params = [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, float("inf")) if params else torch.zeros((), device=loss.device)
    ok = (torch.isfinite(loss) & torch.isfinite(norm)).float()
    if ddp.world_size > 1:
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return ok, norm


def write_config(path: Path, config) -> None:
    """config.json, atomically, and only when it changes (a resumed run keeps its bytes)."""
    write_if_changed(path, (json.dumps(config.to_dict(), indent=2) + "\n").encode())


def leave_cores_to_workers(dataset, workers: int) -> None:
    """On a CPU, a trainer with one thread per core and DataLoader workers that render (``render:``
    pairs) oversubscribe the cores, and torch's threads then wait for each other: on 2 cores with 2
    workers, one torch thread trains 1.8x faster than two (``scripts/bench_live_pairs.py``). So
    the trainer keeps ``cores - workers`` threads (at least one) when its workers render."""
    if not workers or not getattr(dataset, "workers_render", False):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = max(1, cores - workers)
    if threads < torch.get_num_threads():
        log.info("%d torch threads, leaving %d of %d cores to the rendering workers", threads, workers, cores)
        torch.set_num_threads(threads)


@dataclass
class StepResult:
    loss: float
    grad_norm: float
    applied: bool  # False: a non-finite loss or gradient, no update
    data_s: float
    step_s: float
    skipped_samples: int


class TrainingRun:
    """One process's share of a run: the wrapped model, its optimizer and data, the step counter."""

    def __init__(self, task: Task, config, device: torch.device, ddp: Distributed):
        from crocohuman.model.pairs.mixture import make_loader

        self.task, self.config, self.device, self.ddp = task, config, device, ddp
        self.out_dir = Path(config.out_dir)
        torch.manual_seed(config.seed)  # initial weights; everything later is seeded by position
        self.core = task.build_model().to(device)
        self.optimizer = task.configure_optimizer(self.core)
        last = self.out_dir / LAST
        self.step = resume(last, self.core, self.optimizer, config) if last.exists() else 0
        self.saved_step = self.step
        if ddp.is_main:
            if self.step:
                log.info("resuming %s at step %d", last, self.step)
            self.out_dir.mkdir(parents=True, exist_ok=True)
            write_config(self.out_dir / "config.json", config)
        self.samples_per_step = config.batch_size * config.accum_steps
        dataset = task.dataset()
        if device.type == "cpu":
            leave_cores_to_workers(dataset, config.num_workers)
        self.batches = iter(
            make_loader(
                dataset,
                config.batch_size,
                start=self.step * self.samples_per_step,
                num_workers=config.num_workers,
                world_size=ddp.world_size,
                rank=ddp.rank,
                seed=config.seed,
            )
        )
        self.model = torch.compile(self.core) if config.compile else self.core
        if ddp.world_size > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.model,
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=task.find_unused_parameters,
            )
        self.autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if device.type == "cuda" and config.dtype == "bf16"
            else nullcontext()
        )
        self.outputs: dict = {}

    def train_step(self, lr: float) -> StepResult:
        """Accumulate ``accum_steps`` micro-batches, then update unless the loss or a gradient is
        not finite. The loss stays on the device; one host sync per step reads loss, norm and flag."""
        config = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + self.step * 1009 + self.ddp.rank)
        data_time = compute_time = 0.0
        loss_sum = torch.zeros((), device=self.device)
        skipped = 0
        for micro in range(config.accum_steps):
            tick = time.perf_counter()
            batch = next_batch(self.batches)
            skipped += int(batch["n_skipped"].sum()) if "n_skipped" in batch else 0
            tock = time.perf_counter()
            last = micro == config.accum_steps - 1
            sync = self.model.no_sync() if self.ddp.world_size > 1 and not last else nullcontext()
            with sync, self.autocast:
                loss, self.outputs = self.task.loss(self.model, self.core, batch, generator, self.device)
                (loss / config.accum_steps).backward()
            loss_sum += loss.detach().float() / config.accum_steps
            data_time += tock - tick
            compute_time += time.perf_counter() - tock
        ok, norm = grads_are_finite(self.core, loss_sum, self.ddp)
        loss_value, norm_value, ok_value = torch.stack([loss_sum, norm.float(), ok]).tolist()
        if ok_value:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return StepResult(loss_value, norm_value, bool(ok_value), data_time, compute_time, skipped)

    def save(self, path: Path | None = None) -> None:
        save_training_checkpoint(
            path or self.out_dir / LAST,
            self.core,
            self.optimizer,
            self.config.to_dict(),
            self.step,
            self.task.checkpoint_meta(self.core),
        )
        if path is None:
            self.saved_step = self.step


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON has no NaN


def _train(run_: TrainingRun, writer: JsonLog | None, bar) -> dict:
    """The loop: schedule, step, log, grids, checkpoints; stops after ``max_bad_steps`` bad steps in a row."""
    config, ddp, out_dir = run_.config, run_.ddp, run_.out_dir
    peak_lr = config.optim.base_lr * run_.samples_per_step * ddp.world_size / 256
    peak_flops = next(
        (
            v
            for k, v in PEAK_BF16_FLOPS.items()
            if run_.device.type == "cuda" and k in torch.cuda.get_device_name(run_.device)
        ),
        None,
    )
    flops = run_.task.flops_per_sample(run_.core) if peak_flops else None
    skipped_samples = skipped_steps = bad_in_a_row = 0
    values: dict = {}
    while run_.step < config.optim.max_steps:
        lr = learning_rate(run_.step, peak_lr, config.optim)
        result = run_.train_step(lr)
        skipped_samples += result.skipped_samples
        bad_in_a_row = 0 if result.applied else bad_in_a_row + 1
        skipped_steps += not result.applied
        step = run_.step
        bar.update(1)
        rate = run_.samples_per_step * ddp.world_size / (result.data_s + result.step_s)
        values = {
            "loss": _finite(result.loss),
            "lr": lr,
            "grad_norm": _finite(result.grad_norm),
            "samples_per_s": rate,
            "data_s": result.data_s,
            "step_s": result.step_s,
            "skipped_samples": skipped_samples,
            "skipped_steps": skipped_steps,
        }
        if flops:
            values["mfu"] = flops * rate / ddp.world_size / peak_flops
        bar.set_postfix(loss=f"{result.loss:.4f}", lr=f"{lr:.2e}")
        if writer and (step % config.log_every == 0 or step == config.optim.max_steps or not result.applied):
            writer.write(step, values)
        if bad_in_a_row >= config.max_bad_steps:
            raise NonFiniteTrainingError(
                f"{bad_in_a_row} steps in a row (to step {step}) had a non-finite loss or gradient and were skipped; "
                f"stopping (max_bad_steps={config.max_bad_steps}). {out_dir / LAST} keeps the last good state, "
                f"step {run_.saved_step}: lower optim.base_lr or check the data before resuming"
            )
        if ddp.is_main and config.grid_every and step % config.grid_every == 0 and result.applied:
            save_grid(run_.task.pictures(run_.core, run_.outputs), out_dir / "grids" / f"step-{step:07d}.png")
        if ddp.is_main and step % config.ckpt_every == 0:
            run_.save()
            if config.keep_every and step % config.keep_every == 0:
                run_.save(out_dir / f"checkpoint-{step:07d}.pt")
    return values


def run(task: Task, config) -> dict:
    """Train until ``optim.max_steps``, resuming from ``out_dir/checkpoint-last.pt`` if present.

    Inputs are checked before anything is built; a run folder that already holds this run at
    ``max_steps`` is left as it is. Returns the last logged values (with ``complete: True`` when
    there was nothing left to do).
    """
    check_inputs(config)
    done = finished_run(Path(config.out_dir) / LAST, config)
    if done is not None:
        return done
    device = pick_device(config.device)
    ddp = setup_distributed(device)
    writer = bar = run_ = None
    keep_state = True
    try:
        run_ = TrainingRun(task, config, device, ddp)
        writer = JsonLog(run_.out_dir, run_.step) if ddp.is_main else None
        bar = tqdm(
            total=config.optim.max_steps, initial=run_.step, unit="step", desc=task.name, disable=not ddp.is_main
        )
        return _train(run_, writer, bar)
    except NonFiniteTrainingError:
        keep_state = False  # the checkpoint on disk stays the last good one
        raise
    finally:
        if bar is not None:
            bar.close()
        if run_ is not None and ddp.is_main and keep_state and run_.step > run_.saved_step:
            run_.save()
        if writer:
            writer.close()
        if ddp.world_size > 1:
            dist.destroy_process_group()
