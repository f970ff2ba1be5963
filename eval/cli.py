"""``croco-eval``: score a fine-tuned checkpoint, or anyone's predictions file, on a benchmark in
its native layout."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from crocohuman.datasets import BENCHMARKS

BENCHMARK_NAMES = list(BENCHMARKS)  # the registry's names: listing them imports no reader


def parse_options(items: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` strings as a dict, each value read as YAML (numbers, lists, strings)."""
    import yaml

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {item!r}: expected KEY=VALUE")
        options[key] = yaml.safe_load(value)
    return options


def default_out_dir(benchmark: str, checkpoint: Path | None, predictions: Path | None) -> Path:
    """<checkpoint dir>/eval-<benchmark>, or <predictions dir>/<predictions stem>-<benchmark>."""
    if checkpoint is not None:
        return checkpoint.parent / f"eval-{benchmark}"
    return predictions.parent / f"{predictions.stem}-{benchmark}"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("benchmark", type=click.Choice(BENCHMARK_NAMES))
@click.option("--checkpoint", type=click.Path(path_type=Path), help="croco-train finetune checkpoint to run.")
@click.option(
    "--predictions",
    type=click.Path(path_type=Path),
    help="A predictions.npz to score instead (any method's; docs/predictions.md).",
)
@click.option("--data-root", required=True, help="The benchmark's folder, as downloaded.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Report folder [default: <checkpoint dir>/eval-<benchmark>, <predictions dir>/<stem>-<benchmark>].",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    help="Reader option KEY=VALUE (e.g. split=test); densepose needs densepose_assets=DIR.",
)
@click.option("--batch-size", default=32, help=">= 1.")
@click.option("--workers", type=int, help="Loader processes, >= 0 [default: min(8, CPU cores)].")
@click.option("--limit", type=int, help="Score only the first N samples (>= 1).")
@click.option("--device", help="cpu, cuda or cuda:N [default: cuda when available, else cpu].")
@click.option("--precision", default="fp32", help="fp32, or bf16 (autocast; CUDA only).")
@click.option("--smpl-model", help="Folder of your SMPL model files: adds the SPIN/HMR 2.0 3DPW protocol (hmr task).")
@click.option("--h36m-regressor", help="Your J_regressor_h36m.npy (17 x 6890), for that protocol.")
@click.option("--model-path", help="Your MANO folder (hand-mesh), if not where the checkpoint was fine-tuned.")
def main(
    benchmark,
    checkpoint,
    predictions,
    data_root,
    out_dir,
    options,
    batch_size,
    workers,
    limit,
    device,
    precision,
    smpl_model,
    h36m_regressor,
    model_path,
) -> None:
    """Write results.json, results.md, plots (and predictions.npz, from a checkpoint) for BENCHMARK.

    Re-running a finished command rewrites nothing and prints the report."""
    from crocohuman.eval.config import EvalConfig, check_config, default_workers
    from crocohuman.eval.report import finished_report, scored_fingerprint

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out_dir = out_dir or default_out_dir(benchmark, checkpoint, predictions or Path("predictions.npz"))
        config = EvalConfig(
            checkpoint,
            benchmark,
            data_root,
            out_dir,
            parse_options(options),
            batch_size,
            default_workers() if workers is None else workers,
            limit,
            smpl_model=smpl_model,
            h36m_regressor=h36m_regressor,
            model_path=model_path,
            predictions=predictions,
            device=device,
            precision=precision,
        )
        check_config(config)
        summary = finished_report(out_dir, scored_fingerprint(config))  # before importing torch: a quick no-op
        up_to_date = summary is not None
        if not up_to_date:
            from crocohuman.eval.evaluate import evaluate

            summary = evaluate(config)
            up_to_date = summary.get("up_to_date", False)
    except (ValueError, FileNotFoundError) as error:
        click.echo(f"croco-eval: error: {error}", err=True)
        sys.exit(2)
    click.echo((out_dir / "results.md").read_text())
    if up_to_date:
        click.echo(
            f"{out_dir}: up to date, nothing rewritten ({config.source} was scored with these options; "
            "delete results.json to score again)"
        )
    else:
        click.echo(f"{out_dir}: {', '.join(summary['files'])}, results.json ({summary['samples']} samples)")


if __name__ == "__main__":
    main()
