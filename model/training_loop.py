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

from crocohuman.model.checkpointing import LAST, load_training_checkpoint, save_training_checkpoint
from crocohuman.model.recon_grid import save_grid

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

    def loss(self, model, core, batch: dict, generator: torch.Generator,
             device: torch.device) -> tuple[torch.Tensor, dict]: ...  # (loss, what `pictures` needs)

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


class JsonLog:
    """Appends one JSON object per line; the main process also mirrors scalars to TensorBoard.

    On resume, entries past the checkpoint's step (written by the run that was killed) are
    dropped from both, so the curves show each step once.
    """

    def __init__(self, out_dir: Path, resume_step: int):
        from torch.utils.tensorboard import SummaryWriter

        self.path = out_dir / "log.jsonl"
        if self.path.exists():
            kept = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line)["step"] <= resume_step]
            self.path.write_text("".join(line + "\n" for line in kept))
        self.tensorboard = SummaryWriter(str(out_dir / "tensorboard"), purge_step=resume_step + 1)

    def write(self, step: int, values: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **values}) + "\n")
        for key, value in values.items():
            if isinstance(value, (int, float)):
                self.tensorboard.add_scalar(key, value, step)

    def close(self) -> None:
        self.tensorboard.close()


def changed_settings(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config trees."""
    keys = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            keys += changed_settings(old, new, f"{prefix}{key}.")
        elif old != new:
            keys.append(prefix + key)
    return keys


def run(task: Task, config) -> dict:
    """Train until ``optim.max_steps``, resuming from ``out_dir/checkpoint-last.pt`` if present.

    Returns the last logged values.
    """
    from crocohuman.model.pairs.mixture import make_loader

    device = pick_device(config.device)
    ddp = setup_distributed(device)
    out_dir = Path(config.out_dir)
    torch.manual_seed(config.seed)  # initial weights; everything later is seeded by position
    model = task.build_model().to(device)
    optimizer = task.configure_optimizer(model)
    step = 0
    last_path = out_dir / LAST
    if last_path.exists():
        state = load_training_checkpoint(last_path)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as error:  # another model: say which settings changed, keep the run as it is
            changed = changed_settings(state.get("train_config") or {}, config.to_dict())
            raise ValueError(f"{last_path}: cannot resume, the checkpoint's model does not fit this config "
                             f"({', '.join(changed) or 'model shapes'} changed since it was written); "
                             "resume with its settings or choose another --out") from error
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
        if ddp.is_main:
            log.info("resuming %s at step %d", last_path, step)
    if ddp.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

    samples_per_step = config.batch_size * config.accum_steps
    loader = make_loader(task.dataset(), config.batch_size, start=step * samples_per_step,
                         num_workers=config.num_workers, world_size=ddp.world_size, rank=ddp.rank, seed=config.seed)
    batches = iter(loader)

    core = model
    if config.compile:
        model = torch.compile(model)
    if ddp.world_size > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=task.find_unused_parameters)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" and config.dtype == "bf16"
                else nullcontext())
    peak_lr = config.optim.base_lr * samples_per_step * ddp.world_size / 256
    peak_flops = next((v for k, v in PEAK_BF16_FLOPS.items() if device.type == "cuda"
                       and k in torch.cuda.get_device_name(device)), None)
    flops = task.flops_per_sample(core) if peak_flops else None

    def save(path: Path) -> None:
        save_training_checkpoint(path, core, optimizer, config.to_dict(), step, task.checkpoint_meta(core))

    writer = JsonLog(out_dir, step) if ddp.is_main else None
    skipped_total = 0
    values: dict = {}
    bar = tqdm(total=config.optim.max_steps, initial=step, unit="step", desc=task.name, disable=not ddp.is_main)
    try:
        while step < config.optim.max_steps:
            lr = learning_rate(step, peak_lr, config.optim)
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step * 1009 + ddp.rank)
            data_time = compute_time = loss_sum = 0.0
            for micro in range(config.accum_steps):
                tick = time.perf_counter()
                batch = next(batches)
                skipped_total += int(batch["n_skipped"].sum()) if "n_skipped" in batch else 0
                tock = time.perf_counter()
                sync = model.no_sync() if ddp.world_size > 1 and micro < config.accum_steps - 1 else nullcontext()
                with sync, autocast:
                    loss, outputs = task.loss(model, core, batch, generator, device)
                    (loss / config.accum_steps).backward()
                loss_sum += loss.item() / config.accum_steps
                data_time += tock - tick
                compute_time += time.perf_counter() - tock
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            rate = samples_per_step * ddp.world_size / (data_time + compute_time)
            values = {"loss": loss_sum, "lr": lr, "samples_per_s": rate, "data_s": data_time,
                      "step_s": compute_time, "skipped_samples": skipped_total}
            if flops:
                values["mfu"] = flops * rate / ddp.world_size / peak_flops
            bar.set_postfix(loss=f"{loss_sum:.4f}", lr=f"{lr:.2e}")
            if writer and (step % config.log_every == 0 or step == config.optim.max_steps):
                writer.write(step, values)
            if ddp.is_main and config.grid_every and step % config.grid_every == 0:
                save_grid(task.pictures(core, outputs), out_dir / "grids" / f"step-{step:07d}.png")
            if ddp.is_main and step % config.ckpt_every == 0:
                save(last_path)
                if config.keep_every and step % config.keep_every == 0:
                    save(out_dir / f"checkpoint-{step:07d}.pt")
    finally:
        bar.close()
        if ddp.is_main and step > 0:
            save(last_path)
        if writer:
            writer.close()
        if ddp.world_size > 1:
            dist.destroy_process_group()
    return values
