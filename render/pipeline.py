"""A rendering job: which shards this process owns, resuming, worker processes, manifest, preview.

Each take's random stream is derived from (seed, take index) alone, so a shard's bytes do not
depend on which process, worker or launcher rendered it, and a job can be split with
``--shard-index/--num-shards`` by any launcher and re-launched blindly: finished shards are
skipped, and a finished job is a quick no-op that writes nothing. Several processes may write one
folder at once; ``job_folder`` says how they share it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np

from crocohuman.core.atomic_files import remove_stale_temporaries, temporary_path
from crocohuman.core.shard_names import shard_name
from crocohuman.render.config import RenderConfig
from crocohuman.render.job_folder import (
    MANIFEST,
    PREVIEW,
    RECORDS,
    check_settings,
    claim_job,
    publish,
    read_job,
    shard_takes,
    write_record,
)
from crocohuman.render.shard_writer import encode_take, write_shard

__all__ = [
    "MANIFEST",
    "PREVIEW",
    "code_version",
    "drain_skipped",
    "make_take_renderer",
    "render_shard",
    "renderer_for",
    "run",
    "take_rng",
]

log = logging.getLogger("crocohuman.render")


def take_rng(seed: int, take_index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, take_index]))


def make_body(config: RenderConfig):
    if config.body == "anny":
        from crocohuman.render.body.anny_body import AnnyBody

        return AnnyBody(texture_size=config.texture_size)
    from crocohuman.render.body.smpl_family import SmplFamilyBody

    genders = None if config.gender == "any" else [config.gender]
    return SmplFamilyBody(
        model_type=config.body,
        model_path=config.model_path,
        genders=genders,
        texture_dir=config.texture_dir,
        uv_obj=config.uv_obj,
        texture_size=config.texture_size,
    )


def make_take_renderer(config: RenderConfig):
    from crocohuman.render.background import ProceduralBackgrounds, SceneMesh, background_source
    from crocohuman.render.hand_rig import INTERACTION_P
    from crocohuman.render.motion import motion_source
    from crocohuman.render.scene_stage import SceneStage
    from crocohuman.render.take_renderer import TakeRenderer

    background = background_source(config.background)
    scene = None
    if isinstance(background, SceneMesh):
        background, scene = ProceduralBackgrounds(), SceneStage(background)
    return TakeRenderer(
        make_body(config),
        motion_source(config.motion, INTERACTION_P if config.focus == "hands" else 0.0),
        background,
        config.rig,
        config.width,
        config.height,
        config.frames,
        config.fps,
        scene=scene,
        focus=config.focus,
    )


_renderers: dict[tuple[int, str], object] = {}  # (process id, configuration): built once, kept across shards


def renderer_for(config: RenderConfig):
    """This process's take renderer for ``config`` (loading the body and GL context the first time).
    Keyed by process id too: a forked child (a DataLoader worker) builds its own."""
    key = (os.getpid(), json.dumps(config.to_json(), sort_keys=True))
    if key not in _renderers:
        _renderers.clear()
        _renderers[key] = make_take_renderer(config)
    return _renderers[key]


def drain_skipped(renderer) -> list[str]:
    """Unreadable inputs the renderer's sources drew since the last call (background photos, AMASS files)."""
    return sorted(
        str(path)
        for source in (renderer.background, renderer.motion)
        for path in getattr(source, "drain_skipped", list)()
    )


def render_shard(config: RenderConfig, shard: int) -> int:
    """Render one shard and write its record, then the shard itself (atomically); returns its
    number of takes, 0 when another writer finished it meanwhile."""
    path = config.output / shard_name(shard)
    if path.exists():
        return 0
    renderer = renderer_for(config)
    drain_skipped(renderer)  # forget draws of an earlier shard that failed half-way
    first = shard * config.takes_per_shard
    indices = range(first, first + shard_takes(config.to_json(), shard))
    members = []
    for take_index in indices:
        take = renderer.render(take_rng(config.seed, take_index))
        members += encode_take(
            f"{take_index:09d}", take, [config.seed, take_index], config.rgb_format, config.jpeg_quality
        )
    write_record(config.output, shard, drain_skipped(renderer))
    write_shard(path, members)
    return len(indices)


def code_version() -> str:
    version = metadata.version("croco-human")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except OSError:
        commit = ""
    return f"{version}+{commit}" if commit else version


def _todo(config: RenderConfig) -> list[int]:
    """This process's shards (s % num_shards == shard_index) that are not on disk yet."""
    mine = range(config.shard_index, config.total_shards, config.num_shards)
    return [s for s in mine if not (config.output / shard_name(s)).exists()]


def _prepare_output(config: RenderConfig) -> dict:
    """Create the folder, prove it writable, record the job's settings (or refuse other ones)."""
    try:
        config.output.mkdir(parents=True, exist_ok=True)
        (config.output / RECORDS).mkdir(exist_ok=True)
        probe = temporary_path(config.output / "write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise PermissionError(f"{config.output}: cannot write the dataset there ({error.strerror or error})") from error
    current = code_version()
    job = claim_job(config.output, config.to_json(), current)
    if job["code_version"] != current:
        log.warning(
            "%s: the job was started by croco-human %s, this is %s; its shards may differ from the earlier ones",
            config.output,
            job["code_version"],
            current,
        )
    for stale in remove_stale_temporaries([config.output, config.output / RECORDS]):
        log.info("removed %s, left by a writer of this host that is gone", stale.name)
    return job


def run(config: RenderConfig) -> dict:
    """Render every shard this process owns that is not on disk yet; returns the manifest.

    A finished job loads nothing and writes nothing: it only checks the settings and returns the
    manifest of what is on disk.
    """
    job = read_job(config.output) if config.output.is_dir() else None
    if job is not None:
        check_settings(config.output, job, config.to_json())
    todo = _todo(config)
    if job is None or todo:
        job = _prepare_output(config)
        todo = _todo(config)
    if todo:
        total_takes = sum(shard_takes(job["config"], s) for s in todo)
        log.info(
            "%s: rendering %d shards of this process (%d takes x %d frames x %d views)",
            config.output,
            len(todo),
            total_takes,
            config.frames,
            config.rig.views,
        )
        _render(config, todo, total_takes)
    else:
        log.info("%s: every shard of this process is on disk, nothing to render", config.output)
    manifest = publish(config.output, job, config.preview_takes)
    if manifest["skipped_inputs"]:
        log.warning(
            "%d unreadable input files were skipped (listed in %s)",
            len(manifest["skipped_inputs"]),
            config.output / MANIFEST,
        )
    return manifest


def _render(config: RenderConfig, todo: list[int], total_takes: int) -> None:
    """Render ``todo`` here or in ``config.workers`` processes, behind a progress bar. The inputs are
    loaded (and so checked) before the bar starts."""
    from tqdm import tqdm

    renderer_for(config)
    workers = min(config.workers, len(todo))
    if workers > 1:
        _renderers.clear()  # only the check: the workers build their own
    with tqdm(total=total_takes, unit="take", desc="rendering") as bar:
        if workers <= 1:
            for shard in todo:
                bar.update(render_shard(config, shard))
        else:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                for count in pool.imap_unordered(_render_shard_star, [(config, s) for s in todo]):
                    bar.update(count)


def _render_shard_star(args: tuple[RenderConfig, int]) -> int:
    return render_shard(*args)
