"""Evaluation results as files a person reads: JSON, a Markdown table, and plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")
    temporary.replace(path)


def markdown_table(title: str, rows: list[tuple[str, dict[str, float]]], units: dict[str, str]) -> str:
    """One row per model/baseline, one column per metric, in the paper's units."""
    metrics = list(dict.fromkeys(key for _, values in rows for key in values))
    header = "| | " + " | ".join(f"{m} {units.get(m, '')}".strip() for m in metrics) + " |"
    lines = [f"### {title}", "", header, "|---|" + "---|" * len(metrics)]
    for name, values in rows:
        cells = [f"{values[m]:.3f}" if m in values and abs(values[m]) < 10 else
                 f"{values[m]:.1f}" if m in values else "-" for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _figure():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_per_joint_errors(path: Path, names: list[str], errors_mm: dict[str, np.ndarray]) -> None:
    """Bars of mean per-joint error (mm), one colour per model."""
    plt = _figure()
    figure, axis = plt.subplots(figsize=(max(6, len(names) * 0.45), 3.5))
    width = 0.8 / len(errors_mm)
    for k, (label, values) in enumerate(errors_mm.items()):
        axis.bar(np.arange(len(names)) + k * width, values, width, label=label)
    axis.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=70, fontsize=7)
    axis.set_ylabel("mean error [mm]")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_curves(path: Path, thresholds: np.ndarray, curves: dict[str, np.ndarray], xlabel: str, ylabel: str) -> None:
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
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
