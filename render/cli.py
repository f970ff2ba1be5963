"""``croco-render``: render multi-view, multi-time takes of synthetic humans into tar shards."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig

BODIES = ("anny", "smpl", "smplh", "smplx", "mano")


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="Dataset folder.")
@click.option("--takes", default=16, help="Takes in the whole dataset (one body, one clip, all views).")
@click.option("--takes-per-shard", default=8)
@click.option("--views", default=8, help="Synchronised cameras per take.")
@click.option("--frames", default=4, help="Time steps per take (cross-pose pairs).")
@click.option("--fps", default=10.0, help="Rate of those time steps along the motion.")
@click.option("--size", default=256, help="Image width and height in pixels.")
@click.option("--body", type=click.Choice(BODIES), default="anny")
@click.option("--model-path", type=click.Path(path_type=Path), help="SMPL-family model files (smplx layout).")
@click.option("--gender", type=click.Choice(["any", "neutral", "male", "female"]), default="any",
              help="SMPL family: 'any' draws among the genders whose model files exist.")
@click.option("--texture-dir", type=click.Path(path_type=Path), help="SURREAL-style textures (SMPL UV layout).")
@click.option("--uv-obj", type=click.Path(path_type=Path), help="SMPL template .obj with UVs, for --texture-dir.")
@click.option("--motion", default="sampler", help="'sampler' (built-in) or 'amass:DIR'.")
@click.option("--background", default="procedural", help="'procedural', 'images:DIR' or 'scene:FILE'.")
@click.option("--azimuth-range", default=360.0, help="Degrees the cameras spread around the person.")
@click.option("--elevation", nargs=2, type=float, default=(-10.0, 35.0), help="Camera elevation range, degrees.")
@click.option("--distance", nargs=2, type=float, default=(2.0, 8.0), help="Camera distance range, metres.")
@click.option("--focal", nargs=2, type=float, default=(0.9, 2.6), help="Focal length range, in image widths.")
@click.option("--rgb-format", type=click.Choice(["jpg", "png"]), default="jpg")
@click.option("--seed", default=0)
@click.option("--shard-index", default=0, help="This process renders shards s with s %% num-shards == index.")
@click.option("--num-shards", default=1, help="How many processes/launcher tasks split the job.")
@click.option("--workers", default=1, help="Worker processes on this machine.")
@click.option("--verbose", "-v", is_flag=True)
def main(output, takes, takes_per_shard, views, frames, fps, size, body, model_path, gender, texture_dir,
         uv_obj, motion, background, azimuth_range, elevation, distance, focal, rgb_format, seed,
         shard_index, num_shards, workers, verbose) -> None:
    """Render SURREAL-style takes: T time steps x N views of one body per take."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from crocohuman.render.pipeline import run

    try:
        config = RenderConfig(
            output=output, takes=takes, takes_per_shard=takes_per_shard, frames=frames, fps=fps,
            width=size, height=size, body=body, model_path=model_path, gender=gender,
            texture_dir=texture_dir, uv_obj=uv_obj, motion=motion, background=background,
            rig=RigConfig(views=views, azimuth_range=azimuth_range, elevation=elevation,
                          distance=distance, focal=focal),
            rgb_format=rgb_format, seed=seed, shard_index=shard_index, num_shards=num_shards, workers=workers,
        )
        manifest = run(config)
    except (ValueError, FileNotFoundError, PermissionError, RuntimeError) as error:
        click.echo(f"croco-render: error: {error}", err=True)
        sys.exit(2)
    counts = manifest["counts"]
    click.echo(f"{output}: {counts['shards_done']}/{counts['shards_total']} shards, {counts['takes']} takes, "
               f"{counts['images']} images; preview: {output / 'preview.png'}")


if __name__ == "__main__":
    main()
