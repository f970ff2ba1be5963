"""Pretraining throughput: pairs/s and MFU of CroCo steps, and the loader's pairs/s, in one run.

Variants of one training step (forward, masked MSE, backward, AdamW) on random pairs:
fp32 vs bf16 autocast (CUDA), SDPA vs explicit attention, torch.compile off/on; the ratio column
is against the first row (fp32, explicit attention, eager), measured in the same run. Then the
data loader alone on rendered shards (``--data DIR``), to compare with the step time.

GPU: ``python scripts/bench_train.py --model croco-v2-base-small --batch 64 --data out/demo``
CPU (ratios only): ``python scripts/bench_train.py --tiny --batch 8 --data out/demo``
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import torch

from crocohuman.model.criterion import masked_mse
from crocohuman.model.croco import CroCoNet, preset_config
from crocohuman.model.masking import uniform_mask
from crocohuman.model.training_loop import PEAK_BF16_FLOPS

TINY = {
    "img_size": 112,
    "enc_embed_dim": 192,
    "enc_depth": 4,
    "enc_num_heads": 3,
    "dec_embed_dim": 128,
    "dec_depth": 2,
    "dec_num_heads": 4,
}


def time_steps(
    model: CroCoNet, batch: int, dtype: str, device: torch.device, steps: int, warmup: int, seconds: float | None = None
) -> float:
    """Pairs per second of full training steps after ``warmup`` steps: ``steps`` steps, or fewer
    when ``seconds`` (if given) have passed."""
    size = model.config.img_size
    img1 = torch.randn(batch, 3, size, size, device=device)
    img2 = torch.randn(batch, 3, size, size, device=device)
    mask = uniform_mask(batch, (size // model.config.patch_size) ** 2, 0.75).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dtype == "bf16" else nullcontext()
    timed = 0
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        with autocast:
            pred, hidden, target = model(img1, img2, mask=mask)
            loss = masked_mse(pred.float(), target.float(), hidden)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        timed += i >= warmup
        if seconds is not None and timed and time.perf_counter() - start >= seconds:
            break  # the clock reads the launch, not the GPU: close enough once steps are many
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * timed / (time.perf_counter() - start)


def loader_rate(root: str, size: int, batch: int, workers: int, batches: int) -> float:
    from crocohuman.model.pairs.mixture import PairMixture, SourceConfig, make_loader
    from crocohuman.model.pairs.transforms import PairTransform

    dataset = PairMixture.from_configs([SourceConfig("rendered", root)], transform=PairTransform(size=size), seed=0)
    loader = iter(make_loader(dataset, batch, start=0, num_workers=workers, seed=0))
    next(loader)  # worker start-up is not throughput
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batch * batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="croco-v2-base-small")
    parser.add_argument("--tiny", action="store_true", help="the tiny CPU model of the tiny-cpu preset")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--data", help="rendered dataset folder for the loader benchmark")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    overrides = TINY if args.tiny else {}
    peak = next(
        (v for k, v in PEAK_BF16_FLOPS.items() if device.type == "cuda" and k in torch.cuda.get_device_name(device)),
        None,
    )
    variants = [("fp32", "math", False), ("fp32", "sdpa", False)]
    if device.type == "cuda":
        variants += [("bf16", "math", False), ("bf16", "sdpa", False), ("bf16", "sdpa", True)]
    else:
        variants += [("fp32", "sdpa", True)]
    name = "tiny" if args.tiny else args.model
    print(
        f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; model {name}; "
        f"batch {args.batch}; 75% masking"
    )
    print("| dtype | attention | compile | pairs/s | MFU | ratio |")
    print("|---|---|---|---|---|---|")
    baseline = None
    for dtype, attention, compiled in variants:
        torch.manual_seed(0)
        model = CroCoNet(preset_config(args.model, attn_impl=attention, mask_ratio=0.75, **overrides)).to(device)
        runnable = torch.compile(model) if compiled else model
        rate = time_steps(runnable, args.batch, dtype, device, args.steps, args.warmup)
        baseline = baseline or rate
        mfu = f"{100 * model.estimate_mfu(rate, peak):.1f} %" if peak else "-"
        print(
            f"| {dtype} | {attention} | {'on' if compiled else 'off'} | {rate:.1f} | {mfu} | {rate / baseline:.2f}x |"
        )
        del model, runnable
    if args.data:
        size = TINY["img_size"] if args.tiny else preset_config(args.model).img_size
        rate = loader_rate(args.data, size, args.batch, args.workers, max(5, args.steps // 2))
        print(f"\nloader: {rate:.1f} pairs/s from {args.data} ({args.workers} workers, {size}px crops)")


if __name__ == "__main__":
    main()
