"""``croco-train``: pretrain CroCo-Body/Hand (or the MAE baseline) and export weights."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from crocohuman.model.task_catalog import TASK_NAMES  # torch-free: the registry of fine-tuning tasks


def _interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt(f"signal {signum}")


def _parse_source(text: str) -> dict:
    """``KIND:ROOT`` or ``KIND:ROOT:WEIGHT`` (a Windows-free world: ROOT has no colon)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError(f"--data must be KIND:ROOT or KIND:ROOT:WEIGHT, e.g. rendered:out/demo, got {text!r}")
    try:
        weight = float(parts[2]) if len(parts) == 3 else 1.0
    except ValueError:
        raise ValueError(f"--data's WEIGHT must be a number, got {parts[2]!r} in {text!r}") from None
    return {"kind": parts[0], "root": parts[1], "weight": weight}


def _parse_benchmark(text: str) -> tuple[str, str]:
    """``BENCHMARK:ROOT``."""
    benchmark, sep, root = text.partition(":")
    if not sep or not benchmark or not root:
        raise ValueError(f"--data must be BENCHMARK:ROOT, e.g. synthetic:out/train or hagrid:~/hagrid, got {text!r}")
    return benchmark, root


def _common_values(init: str | None, out_dir: Path | None) -> dict:
    """The typed values of --init and --out, set on the config as they are (never parsed as YAML)."""
    values = {}
    if init is not None:
        values["init"] = init
    if out_dir is not None:
        values["out_dir"] = str(out_dir)
    return values


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Pretrain and export CroCo-Body / CroCo-Hand."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command(context_settings={"show_default": True})
@click.option("--config", "preset", default="tiny-cpu", help="Preset in assets/configs/ or a YAML file.")
@click.option(
    "--data", "sources", multiple=True, help="KIND:ROOT[:WEIGHT], replaces the preset's sources; repeat to mix."
)
@click.option("--init", help="random | croco:PATH (official CroCo or our checkpoint) | weights:PATH.safetensors")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Run folder (checkpoints, logs, grids).")
@click.argument("overrides", nargs=-1)
def pretrain(preset, sources, init, out_dir, overrides) -> None:
    """Pretrain; re-running the same command resumes from the run folder's last checkpoint.

    OVERRIDES are key=value pairs on the config, e.g. batch_size=32 optim.max_steps=2000.
    """

    def job() -> dict:
        from crocohuman.model.pretrain import pretrain
        from crocohuman.model.train_config import load_config

        values = _common_values(init, out_dir)
        if sources:
            values["data"] = [_parse_source(s) for s in sources]
        return pretrain(load_config(preset, overrides, values))

    _run(job)


def _run(job) -> None:
    """Run a training job with clear errors; SIGTERM (a scheduler's stop) still saves the checkpoint."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        values = job()
    except (ValueError, FileNotFoundError) as error:
        click.echo(f"croco-train: error: {error}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("croco-train: interrupted; the last checkpoint is saved, re-run the command to resume", err=True)
        sys.exit(130)
    loss = values.get("loss")
    loss = f"{loss:.4f}" if isinstance(loss, float) else "not finite"
    if values.get("complete"):
        click.echo(f"already complete at step {values['step']}, nothing to do (last logged loss {loss})")
    else:
        click.echo(f"done, loss {loss}")


@main.command(context_settings={"show_default": True})
@click.option("--task", type=click.Choice(TASK_NAMES), required=True)
@click.option("--config", "preset", default="finetune-tiny-cpu", help="Preset in assets/configs/ or a YAML file.")
@click.option("--data", "data", required=True, help="BENCHMARK:ROOT, e.g. synthetic:out/train or hagrid:~/hagrid.")
@click.option("--init", help="random | croco:PATH (official CroCo or our checkpoint) | weights:PATH.safetensors")
@click.option("--binocular", is_flag=True, help="Encoder and decoder on two images (paper Table 6).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Run folder (checkpoints, logs, grids).")
@click.option("--model-path", help="hand-mesh(-free): your MANO folder or MANO_RIGHT.pkl/.npz (mano.is.tue.mpg.de).")
@click.argument("overrides", nargs=-1)
def finetune(task, preset, data, init, binocular, out_dir, model_path, overrides) -> None:
    """Fine-tune a task head (and the backbone) on a benchmark's training split; resumes like pretrain."""

    def job() -> dict:
        from crocohuman.model.finetune import finetune as run_finetune
        from crocohuman.model.train_config import load_config

        benchmark, root = _parse_benchmark(data)
        values = {
            "finetune.task": task,
            "finetune.benchmark": benchmark,
            "finetune.root": root,
            **_common_values(init, out_dir),
        }
        if binocular:
            values["finetune.mode"] = "binocular"
        if model_path is not None:
            values["finetune.model_path"] = model_path
        return run_finetune(load_config(preset, overrides, values))

    _run(job)


@main.command()
@click.option("--checkpoint", type=click.Path(path_type=Path), required=True)
@click.option("--output", type=click.Path(path_type=Path), required=True, help="A .safetensors file.")
@click.option("--encoder-only", is_flag=True, help="Only the encoder (monocular fine-tuning).")
def export(checkpoint, output, encoder_only) -> None:
    """Write a checkpoint's encoder (+ decoder) weights as safetensors, for fine-tuning."""
    from crocohuman.model.croco_weights import load_croco_checkpoint, save_croco_weights

    try:
        model = load_croco_checkpoint(checkpoint)
        save_croco_weights(model, output, encoder_only=encoder_only)
    except (ValueError, FileNotFoundError) as error:
        click.echo(f"croco-train: error: {error}", err=True)
        sys.exit(2)
    click.echo(f"{output}: {'encoder' if encoder_only else 'encoder + decoder'} of {checkpoint}")


if __name__ == "__main__":
    main()
