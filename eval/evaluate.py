"""Score a fine-tuned checkpoint, or a file of anyone's predictions, on a benchmark split.

With a checkpoint (``croco-train finetune``: the task, the backbone shape and the trivial baseline
measured on its training split) the model runs over the split on ``device`` and its predictions
are written to ``predictions.npz`` (``eval/predictions.py``, docs/predictions.md); with a
predictions file, that file is checked against the split's sample ids and scored. Either way the
stored predictions and the split's targets go through ``scoring.score_task``, and the report
(``results.json``, ``results.md``, plots) lands in ``out_dir``, each file written atomically.

``results.json`` records what was scored (``scored``: the source file with its size and mtime, the
data root, the options); re-running the same command finds it and rewrites nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from crocohuman.core.typed_config import from_mapping
from crocohuman.datasets import open_benchmark
from crocohuman.eval.config import EvalConfig, check_config, resolve_device
from crocohuman.eval.predictions import (
    Predictions,
    check_sample_count,
    check_sample_keys,
    load_predictions,
    normalised_baseline,
    stored_predictions,
    write_predictions,
)
from crocohuman.eval.report import (
    comparison,
    finished_report,
    markdown_table,
    scored_fingerprint,
    write_json,
    write_text,
)
from crocohuman.eval.scoring import JOINT_UNITS, score_task
from crocohuman.model.croco import CroCoConfig
from crocohuman.model.finetune import FinetuneTask, finetune, run_model
from crocohuman.model.finetune_data import FinetuneDataset
from crocohuman.model.run_checkpoint import load_training_checkpoint
from crocohuman.model.task_catalog import TASK_INFO, task_reader_options, task_spec, tasks_on
from crocohuman.model.train_config import FinetuneConfig, TrainConfig, load_config

log = logging.getLogger("crocohuman.eval")
PREDICTIONS_FILE = "predictions.npz"
NOT_TARGETS = ("img", "img_top", "index", "crop", "key")  # batch entries that are inputs or bookkeeping

__all__ = ["JOINT_UNITS", "EvalConfig", "evaluate", "finetune_and_evaluate", "load_finetuned"]


def load_finetuned(path: Path, model_path: str | None = None) -> tuple[torch.nn.Module, TrainConfig, dict]:
    """The model of a fine-tuning checkpoint (on the CPU), its training config and its stored
    baseline; ``model_path`` replaces the body-model files the run used (hand-mesh poses MANO)."""
    state = load_training_checkpoint(path)
    if state.get("train_config", {}).get("finetune") is None:
        raise ValueError(f"{path}: not a fine-tuning checkpoint (croco-train finetune writes those)")
    config = from_mapping(TrainConfig, state["train_config"], "the checkpoint's train_config")
    if model_path:
        config.finetune.model_path = model_path
    model = FinetuneTask(config).build_model(CroCoConfig(**state["croco_config"]))
    model.load_state_dict(state["model"])
    return model.eval(), config, state.get("baseline", {})


class EvalCrops(FinetuneDataset):
    """The benchmark in order with the evaluation crop, each item carrying its benchmark ``key``
    (the predictions' sample id); ``with_pixels=False`` skips the crop images when only the
    targets are needed (scoring a predictions file)."""

    def __init__(self, benchmark, size: int, top_crop: float = 0.0, with_pixels: bool = True):
        super().__init__(benchmark, size, train=False, top_crop=top_crop)
        self.with_pixels = with_pixels

    def encode(self, sample, crop) -> dict:
        return {**super().encode(sample, crop), "key": sample.key}

    def pixels(self, sample, crop) -> torch.Tensor:
        return super().pixels(sample, crop) if self.with_pixels else torch.zeros(0)


def _float32(tree):
    """Model outputs (nested dicts, tuples, lists of tensors) with bf16 tensors as float32."""
    if isinstance(tree, torch.Tensor):
        return tree.float() if tree.is_floating_point() else tree
    if isinstance(tree, dict):
        return {key: _float32(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_float32(value) for value in tree)
    return tree


def _numpy(value: torch.Tensor) -> np.ndarray:
    value = value.detach().cpu()
    return (value.float() if value.is_floating_point() else value).numpy()


@dataclass
class ModelRunner:
    """A fine-tuned model on ``device``: batch -> predictions in the targets' units (numpy, CPU)."""

    model: torch.nn.Module
    spec: FinetuneConfig
    device: torch.device
    bf16: bool = False

    def __call__(self, batch: dict) -> dict[str, np.ndarray]:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            output = run_model(self.model, self.spec, batch, self.device)
        predictions = task_spec(self.spec.task).predict(_float32(output))
        return {key: _numpy(value) for key, value in predictions.items()}


@dataclass
class Collected:
    """One pass over the split, stacked in benchmark order."""

    keys: list[str]
    crops: np.ndarray  # (N, 4) crop boxes, image pixels
    targets: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]  # empty without a model


def _stack(parts: dict[str, list]) -> dict[str, np.ndarray]:
    return {key: np.concatenate(value) for key, value in parts.items()}


@torch.no_grad()
def collect(dataset: EvalCrops, eval_config: EvalConfig, count: int, runner: ModelRunner | None = None) -> Collected:
    """Targets (and, with ``runner``, predictions) of the first ``count`` samples, by batches
    from ``num_workers`` loader processes (pinned memory when the model runs on CUDA)."""
    pin = runner is not None and runner.device.type == "cuda"
    loader = DataLoader(
        torch.utils.data.Subset(dataset, range(count)),
        batch_size=eval_config.batch_size,
        num_workers=eval_config.num_workers,
        pin_memory=pin,
    )
    keys, crops, targets, predictions = [], [], {}, {}
    start = time.perf_counter()
    for batch in tqdm(loader, desc=f"eval {eval_config.benchmark}", unit="batch"):
        keys += batch["key"]
        crops.append(_numpy(batch["crop"]))
        for key, value in (runner(batch) if runner is not None else {}).items():
            predictions.setdefault(key, []).append(value)
        for key, value in batch.items():
            if key not in NOT_TARGETS:
                targets.setdefault(key, []).append(_numpy(value))
    seconds = time.perf_counter() - start
    log.info("%d samples in %.1f s (%.1f samples/s)", count, seconds, count / max(seconds, 1e-9))
    return Collected(keys, np.concatenate(crops), _stack(targets), _stack(predictions))


def check_task_fits(benchmark: str, task: str, source: Path) -> None:
    """A task is scored only on its benchmarks (``TaskInfo.benchmarks``): FreiHAND scores hand meshes
    (21 joints in its order), HaGRID gestures, 3DPW body joints, ..."""
    scored_on = TASK_INFO[task].benchmarks
    if benchmark in scored_on:
        return
    fitting = " or ".join(f"--task {name}" for name in tasks_on(benchmark))
    advice = (
        f"for {benchmark}, fine-tune with croco-train finetune {fitting}"
        if fitting
        else f"no task is scored on {benchmark}"
    )
    raise ValueError(
        f"{source} was made for task {task!r}: score it with croco-eval "
        f"{' or croco-eval '.join(scored_on)}, not {benchmark}; {advice}"
    )


def _count(eval_config: EvalConfig, benchmark) -> int:
    return len(benchmark) if eval_config.limit is None else min(eval_config.limit, len(benchmark))


def open_task_split(eval_config: EvalConfig, task: str):
    """The split as ``task`` reads it: the ``--option``s and those the task needs (``focus=hands``)."""
    options = task_reader_options(task, eval_config.benchmark, eval_config.reader_options())
    return open_benchmark(eval_config.benchmark, eval_config.root, **options)


def predict_split(eval_config: EvalConfig) -> tuple[Predictions, dict[str, np.ndarray]]:
    """Run the checkpoint over the split: its predictions (stored form) and the split's targets."""
    device = resolve_device(eval_config.device)
    model, config, baseline = load_finetuned(eval_config.checkpoint, eval_config.model_path)
    task = config.finetune.task
    check_task_fits(eval_config.benchmark, task, eval_config.checkpoint)
    benchmark = open_task_split(eval_config, task)
    dataset = EvalCrops(benchmark, config.image_size, config.finetune.top_crop)
    runner = ModelRunner(model.to(device), config.finetune, device, eval_config.precision == "bf16")
    collected = collect(dataset, eval_config, _count(eval_config, benchmark), runner)
    predictions = Predictions(
        task,
        collected.keys,
        stored_predictions(collected.predictions),
        normalised_baseline(baseline),
        eval_config.benchmark,
        collected.crops,
        config.image_size,
    )
    return predictions, collected.targets


def read_split_predictions(eval_config: EvalConfig) -> tuple[Predictions, dict[str, np.ndarray]]:
    """A predictions file and the split's targets, after checking that the file holds exactly the
    split's samples (count, then ids, in order)."""
    path = Path(eval_config.predictions)
    predictions = load_predictions(path)
    check_task_fits(eval_config.benchmark, predictions.task, path)
    if predictions.benchmark not in (None, eval_config.benchmark):
        raise ValueError(f"{path}: predictions for {predictions.benchmark}, not {eval_config.benchmark}")
    benchmark = open_task_split(eval_config, predictions.task)
    what = f"the {eval_config.benchmark} split at {eval_config.root}"
    count = _count(eval_config, benchmark)
    check_sample_count(path, len(predictions), count, what)
    parts = predictions.arrays.get("parts")  # dense targets on the predictions' own crop grid
    size = parts.shape[-1] if parts is not None else predictions.image_size or 224
    collected = collect(EvalCrops(benchmark, size, with_pixels=False), eval_config, count)
    check_sample_keys(path, predictions.keys, collected.keys, what)
    return predictions, collected.targets


def evaluate(eval_config: EvalConfig) -> dict:
    """Write ``results.json``, ``results.md``, plots (and, from a checkpoint, ``predictions.npz``)
    into ``out_dir``; return the results. A finished identical run is returned as it is, with
    ``up_to_date`` set, and nothing is rewritten."""
    check_config(eval_config)
    out_dir = Path(eval_config.out_dir)
    fingerprint = scored_fingerprint(eval_config)
    report = finished_report(out_dir, fingerprint)
    if report is not None:
        log.info("%s: up to date (%s already scored with these options)", out_dir, eval_config.source)
        return {**report, "up_to_date": True}
    from_checkpoint = eval_config.checkpoint is not None
    predictions, targets = predict_split(eval_config) if from_checkpoint else read_split_predictions(eval_config)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").unlink(missing_ok=True)  # written last: its presence means a finished report
    files = []
    if from_checkpoint:
        write_predictions(out_dir / PREDICTIONS_FILE, predictions)
        files.append(PREDICTIONS_FILE)
    results = {**targets, **{f"pred_{key}": value for key, value in predictions.arrays.items()}}
    scores = score_task(predictions.task, results, predictions.baseline, eval_config, out_dir)
    summary = {
        "benchmark": eval_config.benchmark,
        "task": predictions.task,
        "checkpoint": str(eval_config.checkpoint) if from_checkpoint else None,
        "predictions": None if from_checkpoint else str(eval_config.predictions),
        "samples": len(predictions),
        "results": scores.rows,
        "scored": fingerprint,
        "files": sorted([*files, *scores.plots, "results.md"]),
    }
    verdict = comparison(scores.rows, scores.compared_on, scores.units)
    if verdict is not None:
        summary["comparison"] = verdict
    title = f"{eval_config.benchmark} / {predictions.task} ({summary['samples']} samples)"
    table = markdown_table(title, list(scores.rows.items()), scores.units)
    write_text(out_dir / "results.md", table + (f"\n{verdict['sentence']}\n" if verdict else ""))
    write_json(out_dir / "results.json", summary)
    return summary


def finetune_and_evaluate(
    preset: str, overrides: Sequence[str], values: dict[str, Any], test_options: dict[str, Any]
) -> dict:
    """Fine-tune one run (resuming from its folder) and score its last checkpoint: the step the few-shot
    and GUN-71 scripts repeat. ``preset``, ``overrides`` and ``values`` go to ``load_config``; the run
    folder, benchmark and root are read back from ``values`` so the model is scored where it trained."""
    out = Path(values["out_dir"])
    finetune(load_config(preset, overrides, values))
    benchmark, root = values["finetune.benchmark"], values["finetune.root"]
    return evaluate(EvalConfig(out / "checkpoint-last.pt", benchmark, root, out / "eval", test_options))
