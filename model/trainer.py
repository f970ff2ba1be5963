"""The pretraining loop: one explicit loop, auto-resume, DDP through torchrun, logs and grids.

Everything random is a function of the config's seed and a position: pair ``i`` of the stream
is drawn from (seed, i) by the dataset, and the masks of step ``s`` from (seed, s, rank). So a
checkpoint (model, optimizer, step) is all that resuming needs, and a resumed run takes exactly
the steps the uninterrupted one would have taken.
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

import torch
import torch.distributed as dist
from tqdm import tqdm

from crocohuman.model.checkpoint import load_croco_checkpoint, load_croco_weights
from crocohuman.model.checkpointing import LAST, load_training_checkpoint, save_training_checkpoint
from crocohuman.model.criterion import masked_mse
from crocohuman.model.croco import CroCoConfig, CroCoNet, preset_config
from crocohuman.model.masking import human_centric_mask, person_patches, uniform_mask
from crocohuman.model.recon_grid import reconstruction_rows, save_grid
from crocohuman.model.train_config import TrainConfig

log = logging.getLogger("crocohuman.train")

# Dense bf16 peak FLOP/s by device-name fragment, for MFU (nanoGPT style).
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: torch.device) -> Distributed:
    """torchrun sets RANK/WORLD_SIZE/LOCAL_RANK; without them this is a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(dist.get_rank(), world_size, int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(f"cuda:{local_rank}") if name == "cuda" else torch.device(name)


def learning_rate(step: int, peak: float, config: TrainConfig) -> float:
    """Linear warmup then a half cosine to min_lr over ``schedule_steps``, per iteration."""
    optim = config.optim
    if step < optim.warmup_steps:
        return peak * (step + 1) / optim.warmup_steps
    progress = min(1.0, (step - optim.warmup_steps) / max(1, optim.schedule_steps - optim.warmup_steps))
    return optim.min_lr + (peak - optim.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def build_model(config: TrainConfig) -> CroCoNet:
    """A random network of the configured size, or one initialised from ``config.init``."""
    kind, _, path = config.init.partition(":")
    if kind == "croco":
        model = load_croco_checkpoint(path)
    elif kind == "weights":
        model = load_croco_weights(path)
    elif kind == "random":
        model = CroCoNet(preset_config(config.model, **config.model_overrides))
    else:
        raise ValueError(f"init must be 'random', 'croco:PATH' or 'weights:PATH', not {config.init!r}")
    if model.config.img_size != config.image_size:
        raise ValueError(f"the model takes {model.config.img_size}px images but image_size is {config.image_size}")
    return model


def draw_mask(config: TrainConfig, model: CroCoNet, batch: dict, generator: torch.Generator) -> torch.Tensor:
    """The hidden patches of img1 for this batch: human-centric (Sec. 3.1) or uniform."""
    size = batch["img1"].shape[0]
    num_patches = (config.image_size // model.config.patch_size) ** 2
    if config.masking == "uniform":
        return uniform_mask(size, num_patches, config.mask_ratio, generator)
    person = person_patches(batch["mask1"], model.config.patch_size)
    return human_centric_mask(person, config.mask_ratio, batch["has_mask1"], generator, pad_to=config.pad_to)


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
            if isinstance(value, (int, float)) and value is not None:
                self.tensorboard.add_scalar(key, value, step)

    def close(self) -> None:
        self.tensorboard.close()


def train(config: TrainConfig) -> dict:
    """Pretrain until ``optim.max_steps``, resuming from ``out_dir/checkpoint-last.pt`` if present.

    Returns the last logged values.
    """
    from crocohuman.model.pairs.mixture import PairMixture, make_loader
    from crocohuman.model.pairs.transforms import PairTransform

    device = pick_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    ddp = setup_distributed(device)
    out_dir = Path(config.out_dir)
    if ddp.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

    torch.manual_seed(config.seed)  # initial weights; everything later is seeded by position
    model = build_model(config).to(device)
    optimizer = model.configure_optimizers(config.optim.weight_decay, config.optim.base_lr, config.optim.betas)
    step = 0
    last_path = out_dir / LAST
    if last_path.exists():
        state = load_training_checkpoint(last_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
        if ddp.is_main:
            log.info("resuming %s at step %d", last_path, step)

    dataset = PairMixture.from_configs(config.data, transform=PairTransform(size=config.image_size),
                                       objective=config.objective, seed=config.seed)
    samples_per_step = config.batch_size * config.accum_steps
    loader = make_loader(dataset, config.batch_size, start=step * samples_per_step, num_workers=config.num_workers,
                         world_size=ddp.world_size, rank=ddp.rank, seed=config.seed)
    batches = iter(loader)

    core = model
    if config.compile:
        model = torch.compile(model)
    if ddp.world_size > 1:
        # MAE never uses the cross-attention weights: DDP must not wait for their gradients.
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=config.objective == "mae")
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" and config.dtype == "bf16"
                else nullcontext())
    peak_lr = config.optim.base_lr * samples_per_step * ddp.world_size / 256
    peak_flops = next((v for k, v in PEAK_BF16_FLOPS.items() if device.type == "cuda"
                       and k in torch.cuda.get_device_name(device)), None)
    writer = JsonLog(out_dir, step) if ddp.is_main else None
    skipped_total = 0
    values: dict = {}
    bar = tqdm(total=config.optim.max_steps, initial=step, unit="step", desc="pretrain", disable=not ddp.is_main)
    try:
        while step < config.optim.max_steps:
            lr = learning_rate(step, peak_lr, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step * 1009 + ddp.rank)
            data_time = compute_time = 0.0
            loss_sum = 0.0
            for micro in range(config.accum_steps):
                tick = time.perf_counter()
                batch = next(batches)
                skipped_total += int(batch["n_skipped"].sum())
                mask = draw_mask(config, core, batch, generator).to(device)
                img1 = batch["img1"].to(device, non_blocking=True)
                img2 = batch["img2"].to(device, non_blocking=True)
                tock = time.perf_counter()
                sync = model.no_sync() if ddp.world_size > 1 and micro < config.accum_steps - 1 else nullcontext()
                with sync, autocast:
                    pred, mask, target = model(img1, img2 if config.objective == "croco" else None, mask=mask)
                    loss = masked_mse(pred.float(), target.float(), mask, norm_pix=config.norm_pix)
                    (loss / config.accum_steps).backward()
                loss_sum += loss.item() / config.accum_steps
                data_time += tock - tick
                compute_time += time.perf_counter() - tock
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            pairs_per_second = samples_per_step * ddp.world_size / (data_time + compute_time)
            values = {"loss": loss_sum, "lr": lr, "pairs_per_s": pairs_per_second, "data_s": data_time,
                      "step_s": compute_time, "skipped_samples": skipped_total}
            if peak_flops:
                values["mfu"] = core.estimate_mfu(pairs_per_second / ddp.world_size, peak_flops)
            bar.set_postfix(loss=f"{loss_sum:.4f}", lr=f"{lr:.2e}")
            if writer and (step % config.log_every == 0 or step == config.optim.max_steps):
                writer.write(step, values)
            if ddp.is_main and config.grid_every and step % config.grid_every == 0:
                rows = reconstruction_rows(core, img1[:4], img2[:4], pred[:4], mask[:4], config.norm_pix)
                save_grid(rows, out_dir / "grids" / f"step-{step:07d}.png")
            if ddp.is_main and step % config.ckpt_every == 0:
                save_training_checkpoint(last_path, core, optimizer, config.to_dict(), step)
                if config.keep_every and step % config.keep_every == 0:
                    save_training_checkpoint(out_dir / f"checkpoint-{step:07d}.pt", core, optimizer, config.to_dict(), step)
    finally:
        bar.close()
        if ddp.is_main and step > 0:
            save_training_checkpoint(last_path, core, optimizer, config.to_dict(), step)
        if writer:
            writer.close()
        if ddp.world_size > 1:
            dist.destroy_process_group()
    return values
