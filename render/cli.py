"""``croco-render``: render multi-view, multi-time takes of synthetic humans into tar shards.

``croco-render --output DIR ...`` renders (``render`` is the default command, so it may be left
out); ``croco-render verify DIR`` checks a dataset folder. Every option is checked by the typed
config before anything is imported, created or rendered.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import BODIES, FOCI, GENDERS, RGB_FORMATS, RenderConfig

CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


class RenderByDefault(click.Group):
    """A group whose arguments go to ``render`` unless they start with another command's name,
    so ``croco-render --output DIR`` keeps working beside ``croco-render verify DIR``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["render", *args]
        return super().parse_args(ctx, args)


@click.group(cls=RenderByDefault, context_settings=CONTEXT)
def main() -> None:
    """Render datasets of synthetic humans (default command: render), or verify one."""


@main.command(context_settings=CONTEXT)
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="Dataset folder.")
@click.option("--takes", default=16, help="Takes in the whole dataset (one body, one clip, all views).")
@click.option("--takes-per-shard", default=8)
@click.option("--views", default=8, help="Synchronised cameras per take.")
@click.option("--frames", default=4, help="Time steps per take (cross-pose pairs).")
@click.option("--fps", default=10.0, help="Rate of those time steps along the motion.")
@click.option("--size", default=256, help="Image width and height in pixels (16 to 8192).")
@click.option("--body", type=click.Choice(BODIES), default="anny")
@click.option("--model-path", type=click.Path(path_type=Path), help="SMPL-family model files (smplx layout).")
@click.option(
    "--gender",
    type=click.Choice(GENDERS),
    default="any",
    help="SMPL family: 'any' draws among the genders whose model files exist.",
)
@click.option("--texture-dir", type=click.Path(path_type=Path), help="SURREAL-style textures (SMPL UV layout).")
@click.option("--uv-obj", type=click.Path(path_type=Path), help="SMPL template .obj with UVs, for --texture-dir.")
@click.option("--motion", default="sampler", help="'sampler', 'sampler:KIND' or 'amass:DIR'.")
@click.option("--background", default="procedural", help="'procedural', 'images:DIR' or 'scene:FILE'.")
@click.option(
    "--focus",
    type=click.Choice(FOCI),
    default="body",
    help="What the cameras frame: the whole person, or one or both hands close up from all around (anny).",
)
@click.option("--azimuth-range", default=360.0, help="Degrees the cameras spread around the person (0 to 360).")
@click.option(
    "--elevation",
    nargs=2,
    type=float,
    default=(-10.0, 35.0),
    help="Camera elevation range, degrees (-90 <= LO <= HI <= 90).",
)
@click.option(
    "--distance", nargs=2, type=float, default=(2.0, 8.0), help="Camera distance range, metres (0 < LO <= HI)."
)
@click.option(
    "--focal", nargs=2, type=float, default=(0.9, 2.6), help="Focal length range, in image widths (0 < LO <= HI)."
)
@click.option("--rgb-format", type=click.Choice(RGB_FORMATS), default="jpg")
@click.option("--seed", default=0, help="Any integer >= 0; a take's randomness is (seed, take index).")
@click.option("--shard-index", default=0, help="This process renders shards s with s %% num-shards == index.")
@click.option("--num-shards", default=1, help="How many processes/launcher tasks split the job.")
@click.option("--workers", default=1, help="Worker processes on this machine.")
@click.option("--verbose", "-v", is_flag=True)
def render(verbose: bool, **options) -> None:
    """Render SURREAL-style takes: T time steps x N views of one body per take.

    Re-running the same command resumes; on a finished folder it changes nothing.
    Check a folder with `croco-render verify DIR`.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = _render_config(**options)
        from crocohuman.render.pipeline import run

        manifest = run(config)
    except (ValueError, FileNotFoundError, PermissionError, RuntimeError) as error:
        _fail(error)
    click.echo(_summary(options["output"], manifest))


def _render_config(
    views: int,
    azimuth_range: float,
    elevation: tuple[float, float],
    distance: tuple[float, float],
    focal: tuple[float, float],
    size: int,
    **options,
) -> RenderConfig:
    """The typed config of ``render``'s options: the camera options make the rig, ``--size`` both sides;
    every other option is the config field of the same name."""
    rig = RigConfig(views=views, azimuth_range=azimuth_range, elevation=elevation, distance=distance, focal=focal)
    return RenderConfig(width=size, height=size, rig=rig, **options)


def _summary(output: Path, manifest: dict) -> str:
    """One line on the dataset folder: shards done of the job's, takes, images and the preview."""
    counts = manifest["counts"]
    preview = f"; preview: {output / 'preview.png'}" if manifest["preview"] else ""
    return (
        f"{output}: {counts['shards_done']}/{counts['shards_total']} shards, {counts['takes']} takes, "
        f"{counts['images']} images{preview}"
    )


@main.command(context_settings=CONTEXT)
@click.argument("folder", type=click.Path(path_type=Path))
def verify(folder: Path) -> None:
    """Check a dataset folder: complete, missing and corrupt shards, takes and images counted.

    Exit status 0 when every shard of the job is complete, 1 when some are missing or corrupt,
    2 when FOLDER holds no dataset.
    """
    from crocohuman.render.verify import verify_dataset

    try:
        check = verify_dataset(folder)
    except ValueError as error:
        _fail(error)
    click.echo(check.report())
    sys.exit(0 if check.ok else 1)


def _fail(error: Exception) -> NoReturn:
    click.echo(f"croco-render: error: {error}", err=True)
    sys.exit(2)


if __name__ == "__main__":
    main()
