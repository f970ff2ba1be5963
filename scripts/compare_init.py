"""The paper's comparison of initialisations, in small: Random vs MAE vs CroCo, same budget.

On the embedded default (rendered anny takes): pretrain the tiny model with the CroCo objective
(cross-view + cross-pose completion) and with MAE (single images) on the same takes and steps;
fine-tune each, and a randomly initialised model, on the same 3D-joint task and budget; score all
on held-out takes and print one table (paper Fig. 3a, in miniature). Every stage resumes.

Run ``bash scripts/quickstart.sh`` first (it renders out/quick/), then
``.venv/bin/python scripts/compare_init.py [--pretrain-steps 600] [--finetune-steps N]``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from crocohuman.eval.evaluate import JOINT_UNITS, EvalConfig, evaluate
from crocohuman.eval.report import markdown_table
from crocohuman.model.finetune import finetune
from crocohuman.model.pretrain import pretrain
from crocohuman.model.task_catalog import TASK_INFO
from crocohuman.model.train_config import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="out/quick", help="folder with pretrain/, train/ and test/ takes")
    parser.add_argument("--runs", default="runs/compare")
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument(
        "--finetune-steps", type=int, help="default: the finetune-joints-cpu preset's, as the quickstart"
    )
    parser.add_argument(
        "--task",
        default="hmr-free",
        choices=[name for name, info in TASK_INFO.items() if info.score_kind == "body_joints"],
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data, runs = Path(args.data), Path(args.runs)

    steps = {"optim.max_steps": args.pretrain_steps, "optim.schedule_steps": args.pretrain_steps}
    for objective in ("croco", "mae"):
        pretrain(
            load_config(
                "tiny-cpu",
                values={
                    "objective": objective,
                    "out_dir": str(runs / objective),
                    **steps,
                    "data": [{"kind": "rendered", "root": str(data / "pretrain")}],
                },
            )
        )

    finetune_steps = (
        {"optim.max_steps": args.finetune_steps, "optim.schedule_steps": args.finetune_steps}
        if args.finetune_steps
        else {}
    )
    rows = []
    for name, init in (
        ("Random", "random"),
        ("MAE", f"croco:{runs / 'mae' / 'checkpoint-last.pt'}"),
        ("CroCo", f"croco:{runs / 'croco' / 'checkpoint-last.pt'}"),
    ):
        out = runs / f"finetune-{name.lower()}"
        finetune(
            load_config(
                "finetune-joints-cpu",
                values={
                    "init": init,
                    "out_dir": str(out),
                    "finetune.task": args.task,
                    "finetune.benchmark": "synthetic",
                    "finetune.root": str(data / "train"),
                    **finetune_steps,
                },
            )
        )
        report = evaluate(EvalConfig(out / "checkpoint-last.pt", "synthetic", str(data / "test"), out / "eval"))
        rows.append((f"{name} init", report["results"]["model"]))
        baseline = report["results"].get("mean-pose baseline")
    rows.append(("mean-pose baseline", baseline))
    table = markdown_table(f"Initialisation, {args.task} on held-out rendered takes (same budget)", rows, JOINT_UNITS)
    (runs / "comparison.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
