"""Evaluation results as files a person reads: JSON, a Markdown table, and plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from crocohuman.core.atomic_files import write_atomic, write_atomic_with
from crocohuman.eval.config import EvalConfig


def write_text(path: Path, text: str) -> None:
    """``text`` (UTF-8) atomically: a killed eval never leaves half a file, and processes sharing a
    folder never mix their bytes."""
    write_atomic(path, text.encode())


def write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")


def _save_figure(figure, path: Path) -> str:
    """PNG bytes that depend on the data only (no software/version stamp), written atomically;
    returns the file's name, for the report's list of files."""
    figure.tight_layout()
    write_atomic_with(path, lambda handle: figure.savefig(handle, format="png", dpi=120, metadata={"Software": None}))
    return Path(path).name


def scored_fingerprint(eval_config: EvalConfig) -> dict:
    """What a report is the scoring of: the source file (path, size, mtime), the benchmark, data
    root and every option that changes a number. Batch size, workers and device change only the
    speed (CPU and CUDA agree within float tolerance), so they are left out."""
    source = eval_config.source.resolve()
    stat = source.stat()
    resolved = lambda path: str(Path(path).resolve()) if path else None  # noqa: E731
    fingerprint = {
        "source": str(source),
        "kind": "checkpoint" if eval_config.checkpoint is not None else "predictions",
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "benchmark": eval_config.benchmark,
        "data_root": resolved(eval_config.root),
        "options": eval_config.options,
        "limit": eval_config.limit,
        "precision": eval_config.precision if eval_config.checkpoint is not None else None,
        "densepose_points": eval_config.densepose_points,
        "smpl_model": resolved(eval_config.smpl_model),
        "h36m_regressor": resolved(eval_config.h36m_regressor),
        "model_path": resolved(eval_config.model_path),
    }
    return json.loads(json.dumps(fingerprint, sort_keys=True, default=str))  # as results.json reads back


def finished_report(out_dir: Path, fingerprint: dict) -> dict | None:
    """The report in ``out_dir`` if it is the scoring of ``fingerprint`` and all its files exist."""
    try:
        report = json.loads((out_dir / "results.json").read_text())
    except (OSError, ValueError):
        return None
    if report.get("scored") != fingerprint:
        return None
    if not all((out_dir / name).is_file() for name in report.get("files", ["results.md"])):
        return None
    return report


def markdown_table(title: str, rows: list[tuple[str, dict[str, float]]], units: dict[str, str]) -> str:
    """One row per model/baseline, one column per metric, in the paper's units."""
    metrics = list(dict.fromkeys(key for _, values in rows for key in values))
    header = "| | " + " | ".join(f"{m} {units.get(m, '')}".strip() for m in metrics) + " |"
    lines = [f"### {title}", "", header, "|---|" + "---|" * len(metrics)]
    for name, values in rows:
        cells = [
            f"{values[m]:.3f}" if m in values and abs(values[m]) < 10 else f"{values[m]:.1f}" if m in values else "-"
            for m in metrics
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def comparison(rows: dict[str, dict[str, float]], metric: str | None, units: dict[str, str]) -> dict | None:
    """Which row is best on ``metric`` (an error: lower is better), with a sentence saying it, e.g.
    ``**model** beats mean-hand baseline on PA-MPJPE: 9.8 vs 11.2 [mm]``; None without a metric or
    when fewer than two rows have it (no baseline to beat)."""
    scored = {name: values[metric] for name, values in rows.items() if metric in values}
    if metric is None or len(scored) < 2:
        return None
    best, *others = sorted(scored, key=scored.get)
    numbers = " vs ".join(f"{scored[name]:.1f}" for name in (best, *others))
    sentence = f"**{best}** beats {', '.join(others)} on {metric}: {numbers} {units.get(metric, '')}".rstrip()
    return {"metric": metric, "best": best, "sentence": sentence}


def _figure():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_per_joint_errors(path: Path, names: list[str], errors_mm: dict[str, np.ndarray]) -> str:
    """Bars of mean per-joint error (mm), one colour per model."""
    plt = _figure()
    figure, axis = plt.subplots(figsize=(max(6, len(names) * 0.45), 3.5))
    width = 0.8 / len(errors_mm)
    for k, (label, values) in enumerate(errors_mm.items()):
        axis.bar(np.arange(len(names)) + k * width, values, width, label=label)
    axis.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=70, fontsize=7)
    axis.set_ylabel("mean error [mm]")
    axis.legend(fontsize=8)
    name = _save_figure(figure, path)
    plt.close(figure)
    return name


def plot_curves(path: Path, thresholds: np.ndarray, curves: dict[str, np.ndarray], xlabel: str, ylabel: str) -> str:
    """Fractions in [0, 1] against a threshold, one line per model: DensePose's RCP, FreiHAND's PCK."""
    plt = _figure()
    figure, axis = plt.subplots(figsize=(4.5, 3.5))
    for label, curve in curves.items():
        axis.plot(thresholds, curve, label=label)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    name = _save_figure(figure, path)
    plt.close(figure)
    return name
