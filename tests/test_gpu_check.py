"""scripts/gpu_check.sh in its tiny CPU mode: the GPU check's code runs, and its one table has every
row, each with a positive measured number, its unit and, where the issue sets one, its goal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROWS = {  # row prefix: unit, goal (None: no goal)
    "EGL rendering, 1 process": ("img/s", 2000.0),
    "EGL rendering, 2 worker processes": ("img/s", 2000.0),
    "render: pairs rendered on the fly, 2 spawned DataLoader workers": ("pairs/s", None),
    "tiny CroCo pretraining, fp32, SDPA, compile": ("pairs/s", None),
    "MFU of that": ("%", 40.0),
    "croco-eval synthetic": ("samples/s", None),
    "peak memory": ("MiB", None),
}


def test_tiny_gpu_check_prints_every_row(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "CROCO_GPU_CHECK_TINY": "1"}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(re.match(r"device: cpu; torch \S+; .*GL renderer: \S+", line) for line in lines), result.stdout
    rows = [line.strip("|").split("|") for line in lines if line.startswith("| ") and "---" not in line]
    assert [cell.strip() for cell in rows[0]] == ["measurement", "value", "unit", "goal", "ratio to goal"]
    table = {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows[1:]}
    assert len(table) == len(ROWS), table
    for prefix, (unit, goal) in ROWS.items():
        (name,) = [name for name in table if name.startswith(prefix)]
        value, row_unit, row_goal, ratio = table[name]
        assert float(value) > 0 and row_unit == unit, (name, table[name])
        if goal is None:
            assert row_goal == ratio == "-", (name, table[name])
        else:
            assert row_goal == f"{goal:g} {unit}"
            assert float(ratio.removesuffix("x")) == pytest.approx(float(value) / goal, abs=0.006)
    assert (tmp_path / "eval" / "results.json").is_file()  # croco-eval really ran
