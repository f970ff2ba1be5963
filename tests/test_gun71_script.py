"""scripts/gun71.py: both GUN-71 protocols fine-tuned and scored on a generated release folder."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

from fake_benchmarks import make_gun71

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gun71.py"


def test_gun71_script_runs_both_protocols(tmp_path, monkeypatch, capsys):
    make_gun71(tmp_path / "gun71")
    runs = tmp_path / "runs"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            str(SCRIPT),
            "--data-root",
            str(tmp_path / "gun71"),
            "--config",
            "finetune-tiny-cpu",
            "--runs",
            str(runs),
            "batch_size=2",
            "num_workers=0",
            "log_every=1",
            "ckpt_every=2",
            "optim.max_steps=2",
            "optim.warmup_steps=1",
            "optim.schedule_steps=2",
        ],
    )
    runpy.run_path(str(SCRIPT), run_name="__main__")
    table = capsys.readouterr().out
    assert "| Best View |" in table and "| All |" in table
    best = json.loads((runs / "best_view" / "eval" / "results.json").read_text())
    every = json.loads((runs / "all" / "eval" / "results.json").read_text())
    assert (best["samples"], every["samples"]) == (1, 2)  # test images of grasps 1-33: best view, all
    assert (runs / "gun71.md").read_text() == table.rstrip("\n") + "\n"
