"""What ``croco-eval`` scores and how, as one typed config, checked in full before any work.

``check_config`` raises ``ValueError`` (or the reader's ``FileNotFoundError`` naming its expected
layout) with one line that names the option, what it must be and what it got, so a typo fails in a
second instead of after loading a model and walking a benchmark.
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

PRECISIONS = ("fp32", "bf16")
# benchmark -> the folders its scorer needs as --option KEY=DIR (read by the scorer, not the reader),
# each with what it holds
SCORING_OPTIONS = {
    "densepose": {
        "densepose_assets": "DensePose's evaluation assets: SMPL_subdiv.mat, "
        "SMPL_SUBDIV_TRANSFORM.mat, Pdist_matrix.pkl"
    }
}
_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


def default_workers() -> int:
    """Loader processes: image decoding is the bottleneck on large splits (3DPW: 35k crops)."""
    return min(8, os.cpu_count() or 1)


@dataclass
class EvalConfig:
    checkpoint: Path | None  # croco-train finetune checkpoint (or None with ``predictions``)
    benchmark: str
    root: str
    out_dir: Path
    options: dict = field(default_factory=dict)  # reader options (split, ...) and densepose_assets
    batch_size: int = 32
    num_workers: int = field(default_factory=default_workers)
    limit: int | None = None  # score only the first N samples (quick looks)
    densepose_points: int = 200  # ground-truth points sampled per image for geodesic errors
    smpl_model: str | None = None  # folder of your SMPL files: enables the SPIN/HMR 2.0 3DPW protocol
    h36m_regressor: str | None = None  # your J_regressor_h36m.npy, for that protocol
    model_path: str | None = None  # your MANO folder/file, if not where the checkpoint was fine-tuned
    predictions: Path | None = None  # a predictions.npz to score instead of running a checkpoint
    device: str | None = None  # cpu, cuda, cuda:N; None: CUDA when available, else cpu
    precision: str = "fp32"  # bf16: autocast on CUDA

    @property
    def source(self) -> Path:
        """The file that is scored: the checkpoint, or the predictions file."""
        return Path(self.checkpoint if self.checkpoint is not None else self.predictions)

    def reader_options(self) -> dict:
        """``options`` without the scorer's own keys: what the benchmark reader takes."""
        scoring = SCORING_OPTIONS.get(self.benchmark, {})
        return {key: value for key, value in self.options.items() if key not in scoring}


def resolve_device(name: str | None):
    """The torch device ``name`` asks for (None: CUDA when available, else cpu), or ValueError
    saying why it cannot be used here."""
    import torch

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not _DEVICE.fullmatch(name):
        raise ValueError(f"--device must be cpu, cuda or cuda:N, got {name!r}")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            built = "with CUDA " + torch.version.cuda if torch.version.cuda else "without CUDA"
            raise ValueError(
                f"--device {name}: CUDA is not available here (torch {torch.__version__} built "
                f"{built}); use --device cpu"
            )
        index, count = int(name.partition(":")[2] or 0), torch.cuda.device_count()
        if index >= count:
            raise ValueError(f"--device {name}: only {count} CUDA device(s) visible (cuda:0..cuda:{count - 1})")
    return torch.device(name)


def _check_device(name: str | None, precision: str) -> None:
    """A device string of the right form that is present here, and a precision it can run; torch
    (seconds to import) is asked only when CUDA is involved, so a no-op re-run stays quick."""
    if name is not None and not _DEVICE.fullmatch(name):
        raise ValueError(f"--device must be cpu, cuda or cuda:N, got {name!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if name in (None, "cpu") and precision == "fp32":  # nothing to ask the hardware
        return
    device = resolve_device(name)
    if precision == "bf16" and device.type != "cuda":
        raise ValueError(
            f"--precision bf16 needs a CUDA device, got --device {device}: on CPUs bf16 is "
            "mostly emulated (slower than fp32) and would change the numbers for nothing"
        )


def _check_numbers(config: EvalConfig) -> None:
    for option, value, least in (
        ("--batch-size", config.batch_size, 1),
        ("--workers", config.num_workers, 0),
        ("--limit", config.limit, 1),
        ("densepose_points", config.densepose_points, 1),
    ):
        if value is not None and value < least:
            raise ValueError(f"{option} must be >= {least}, got {value}")


def _check_file(option: str, path, what: str) -> None:
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {path}: a folder, not a file ({what})")
    if not path.is_file():
        raise ValueError(f"{option} {path}: no such file ({what})")


def _check_source(config: EvalConfig) -> None:
    """Exactly one of checkpoint / predictions, an existing file; checkpoint-only options."""
    if (config.checkpoint is None) == (config.predictions is None):
        raise ValueError(
            "give exactly one of --checkpoint (a fine-tuned model to run) or --predictions (a predictions.npz to score)"
        )
    if config.checkpoint is not None:
        _check_file("--checkpoint", config.checkpoint, "a croco-train finetune checkpoint")
        _check_device(config.device, config.precision)
        return
    _check_file("--predictions", config.predictions, "a predictions.npz, docs/predictions.md")
    if config.model_path:
        raise ValueError(
            "--model-path is for running a hand-mesh --checkpoint; a --predictions file already holds the meshes"
        )


def reader_option_names(benchmark: str) -> tuple[str, ...]:
    """The keyword options of ``benchmark``'s reader (its constructor's parameters after ``root``)."""
    from crocohuman.datasets import BENCHMARKS

    parameters = list(inspect.signature(BENCHMARKS[benchmark].__init__).parameters)
    return tuple(parameters[2:])  # self, root


def _check_options(config: EvalConfig) -> None:
    scoring = SCORING_OPTIONS.get(config.benchmark, {})
    known = (
        reader_option_names(config.benchmark) + tuple(scoring) if config.options else ()
    )  # a reader module can be slow to import: only when needed
    for key in config.options:
        if key not in known:
            raise ValueError(f"--option {key}: not an option of {config.benchmark}; known: {', '.join(known)}")
    for key, holds in scoring.items():
        folder = config.options.get(key)
        if folder is None or not Path(str(folder)).is_dir():
            where = "is required" if folder is None else f"{folder}: no such folder"
            raise ValueError(f"--option {key}=DIR {where} (the folder of {holds})")


def _check_data_root(config: EvalConfig) -> None:
    """A missing data root fails with its reader's own message, which shows the expected layout."""
    if Path(config.root).is_dir():
        return
    from crocohuman.datasets import open_benchmark

    open_benchmark(config.benchmark, config.root, **config.reader_options())
    raise ValueError(f"--data-root {config.root}: no such folder")


def _check_body_models(config: EvalConfig) -> None:
    if bool(config.smpl_model) != bool(config.h36m_regressor):
        raise ValueError("--smpl-model and --h36m-regressor go together (the SPIN / HMR 2.0 3DPW protocol needs both)")
    if config.smpl_model and not Path(config.smpl_model).is_dir():
        raise ValueError(f"--smpl-model {config.smpl_model}: no such folder (your SMPL model files)")
    if config.h36m_regressor:
        _check_file("--h36m-regressor", config.h36m_regressor, "J_regressor_h36m.npy, 17 x 6890")
    if config.model_path and not Path(config.model_path).exists():
        raise ValueError(f"--model-path {config.model_path}: no such file or folder (your MANO model files)")


def check_config(config: EvalConfig) -> None:
    """Every option, before a model or a benchmark is loaded; raises ValueError naming the option."""
    from crocohuman.datasets import BENCHMARKS

    if config.benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {config.benchmark!r}; known: {', '.join(BENCHMARKS)}")
    _check_numbers(config)
    _check_source(config)
    _check_body_models(config)
    _check_options(config)
    _check_data_root(config)
    if Path(config.out_dir).is_file():
        raise ValueError(f"--out {config.out_dir}: a file, not a folder")
