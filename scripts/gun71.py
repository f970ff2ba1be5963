"""GUN-71 grasp classification under both protocols of Rogez et al. (paper Table 5b).

For each protocol ('Best View', 'All'): fine-tune the grasp classifier on the protocol's training
images, score it on the protocol's test images, and print one table row (accuracy and mean
per-class accuracy, %). Training and testing use the same protocol; the split names and the
33-class subset come from the protocol file (see ``crocohuman.datasets.gun71``). Every run
resumes (run folders under --runs).

``.venv/bin/python scripts/gun71.py --data-root ~/GUN-71 --init weights:croco-hand.safetensors``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crocohuman.datasets.gun71 import NUM_CLASSES, PROTOCOLS
from crocohuman.eval.evaluate import finetune_and_evaluate

TITLES = {"best_view": "Best View", "all": "All"}


def run_protocol(args: argparse.Namespace, protocol: str) -> dict:
    """Fine-tune and score one protocol; the evaluation summary."""
    options = {"protocol": protocol, **({"annotations": args.annotations} if args.annotations else {})}
    return finetune_and_evaluate(
        args.config,
        args.overrides,
        {
            "init": args.init,
            "out_dir": str(Path(args.runs) / protocol),
            "finetune.task": "grasp",
            "finetune.benchmark": "gun71",
            "finetune.root": args.data_root,
            "finetune.num_classes": NUM_CLASSES,
            "finetune.options": {**options, "split": args.train_split},
        },
        {**options, "split": args.test_split},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, help="the GUN-71 release folder (Subject1..Subject8)")
    parser.add_argument("--annotations", help="protocol file (default <data-root>/gun71_protocol.json)")
    parser.add_argument("--init", default="random")
    parser.add_argument("--config", default="finetune-hand")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--test-split", default="test")
    parser.add_argument("--runs", default="runs/gun71")
    parser.add_argument("overrides", nargs="*", help="config key=value overrides (e.g. optim.max_steps=500)")
    args = parser.parse_args()

    lines = ["| protocol | accuracy % | mean per-class % | majority class % | test images |", "|---|---|---|---|---|"]
    for protocol in args.protocols:
        report = run_protocol(args, protocol)
        model, majority = report["results"]["model"], report["results"].get("majority-class baseline", {})
        lines.append(
            f"| {TITLES[protocol]} | {model['accuracy %']:.1f} | {model['mean per-class %']:.1f} "
            f"| {majority.get('accuracy %', float('nan')):.1f} | {report['samples']} |"
        )
    table = "\n".join(lines) + "\n"
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    (Path(args.runs) / "gun71.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
