"""``croco-eval``: score a fine-tuned checkpoint on a benchmark in its native layout."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

BENCHMARK_NAMES = ["3dpw", "freihand", "densepose", "hagrid", "gun71", "interhand", "synthetic", "eft-coco"]


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("benchmark", type=click.Choice(BENCHMARK_NAMES))
@click.option("--checkpoint", type=click.Path(path_type=Path), required=True, help="croco-train finetune checkpoint.")
@click.option("--data-root", required=True, help="The benchmark's folder, as downloaded.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Report folder [default: <checkpoint dir>/eval-<benchmark>].")
@click.option("--option", "options", multiple=True, help="Reader option KEY=VALUE (e.g. split=test, densepose_assets=DIR).")
@click.option("--batch-size", default=32)
@click.option("--workers", default=2)
@click.option("--limit", type=int, help="Score only the first N samples.")
@click.option("--smpl-model", help="Folder of your SMPL model files: adds the SPIN/HMR 2.0 3DPW protocol (hmr task).")
@click.option("--h36m-regressor", help="Your J_regressor_h36m.npy (17 x 6890), for that protocol.")
@click.option("--model-path", help="Your MANO folder (hand-mesh), if not where the checkpoint was fine-tuned.")
def main(benchmark, checkpoint, data_root, out_dir, options, batch_size, workers, limit, smpl_model,
         h36m_regressor, model_path) -> None:
    """Write results.json, results.md and plots for BENCHMARK."""
    import yaml

    from crocohuman.eval.evaluate import EvalConfig, evaluate

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    reader_options = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--option")
        reader_options[key] = yaml.safe_load(value)
    out_dir = out_dir or Path(checkpoint).parent / f"eval-{benchmark}"
    try:
        summary = evaluate(EvalConfig(checkpoint, benchmark, data_root, out_dir, reader_options, batch_size,
                                      workers, limit, smpl_model=smpl_model, h36m_regressor=h36m_regressor,
                                      model_path=model_path))
    except (ValueError, FileNotFoundError) as error:
        click.echo(f"croco-eval: error: {error}", err=True)
        sys.exit(2)
    click.echo((out_dir / "results.md").read_text())
    click.echo(f"{out_dir}: results.json, results.md and plots ({summary['samples']} samples)")


if __name__ == "__main__":
    main()
