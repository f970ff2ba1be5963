"""Few-shot classification protocol (paper Sec. 4.1, HaGRID 16/32/64 shots per class).

For each number of shots and each seed: fine-tune a classifier on k training samples per class
(`finetune.shots`, `finetune.shot_seed`), score it on the full test split, and report accuracy as
mean +- std over seeds, one row per k. Every run resumes (run folders under --runs).

``.venv/bin/python scripts/few_shot.py --data hagrid:~/hagrid --init weights:croco-hand.safetensors``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crocohuman.eval.evaluate import finetune_and_evaluate
from crocohuman.eval.metrics import mean_std
from crocohuman.model.task_catalog import TASK_INFO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="BENCHMARK:ROOT (hagrid or gun71)")
    parser.add_argument("--init", default="random")
    parser.add_argument("--config", default="finetune-hand")
    parser.add_argument(
        "--task", default="gesture", choices=[name for name, info in TASK_INFO.items() if info.needs_classes]
    )
    parser.add_argument("--num-classes", type=int, default=18)
    parser.add_argument("--shots", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--test-split", default="test")
    parser.add_argument("--runs", default="runs/few-shot")
    parser.add_argument("overrides", nargs="*", help="config key=value overrides (e.g. optim.max_steps=500)")
    args = parser.parse_args()
    benchmark, _, root = args.data.partition(":")

    lines = ["| shots | accuracy % (mean ± std) | mean per-class % | runs |", "|---|---|---|---|"]
    for shots in args.shots:
        accuracies, per_class = [], []
        for seed in args.seeds:
            report = finetune_and_evaluate(
                args.config,
                args.overrides,
                {
                    "init": args.init,
                    "out_dir": str(Path(args.runs) / f"{shots}-shot-seed{seed}"),
                    "finetune.task": args.task,
                    "finetune.benchmark": benchmark,
                    "finetune.root": root,
                    "finetune.num_classes": args.num_classes,
                    "finetune.shots": shots,
                    "finetune.shot_seed": seed,
                    "finetune.options": {"split": args.train_split},
                },
                {"split": args.test_split},
            )
            accuracies.append(report["results"]["model"]["accuracy %"])
            per_class.append(report["results"]["model"]["mean per-class %"])
        (mean, std), (class_mean, _) = mean_std(accuracies), mean_std(per_class)
        lines.append(f"| {shots} | {mean:.2f} ± {std:.2f} | {class_mean:.2f} | {len(args.seeds)} |")
    table = "\n".join(lines) + "\n"
    (Path(args.runs) / "few_shot.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
