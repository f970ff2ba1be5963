"""A rendering job: which shards this process owns, resuming, worker processes, manifest, preview.

Each take's random stream is derived from (seed, take index) alone, so a shard's bytes do not
depend on which process, worker or launcher rendered it, and a job can be split with
``--shard-index/--num-shards`` by any launcher and re-launched blindly: finished shards are
skipped.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

from crocohuman.render.config import RenderConfig
from crocohuman.render.preview import contact_sheet
from crocohuman.render.shards import encode_take, list_shards, read_shard, shard_name, write_json_atomic, write_shard

log = logging.getLogger("crocohuman.render")
MANIFEST = "manifest.json"
PREVIEW = "preview.png"


def take_rng(seed: int, take_index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, take_index]))


def make_body(config: RenderConfig):
    if config.body == "anny":
        from crocohuman.render.body.anny_body import AnnyBody

        return AnnyBody(texture_size=config.texture_size)
    from crocohuman.render.body.smpl_family import SmplFamilyBody

    if config.model_path is None:
        raise ValueError(f"--body {config.body} needs --model-path, the folder of your {config.body.upper()} model files")
    genders = None if config.gender == "any" else [config.gender]
    return SmplFamilyBody(model_type=config.body, model_path=config.model_path, genders=genders,
                          texture_dir=config.texture_dir, uv_obj=config.uv_obj, texture_size=config.texture_size)


def make_take_renderer(config: RenderConfig):
    from crocohuman.render.background import ProceduralBackgrounds, SceneMesh, background_source
    from crocohuman.render.motion import motion_source
    from crocohuman.render.scene_stage import SceneStage
    from crocohuman.render.take import TakeRenderer

    background = background_source(config.background)
    scene = None
    if isinstance(background, SceneMesh):
        background, scene = ProceduralBackgrounds(), SceneStage(background)
    return TakeRenderer(make_body(config), motion_source(config.motion), background, config.rig,
                        config.width, config.height, config.frames, config.fps, scene=scene)


_renderers: dict[str, object] = {}  # per process, by configuration: built on its first shard


def render_shard(config: RenderConfig, shard: int) -> tuple[int, list[str]]:
    """Render and atomically write one shard; returns its number of takes and the input files
    skipped so far as unreadable (background images, AMASS files)."""
    key = json.dumps(config.to_json(), sort_keys=True)
    if key not in _renderers:
        _renderers.clear()
        _renderers[key] = make_take_renderer(config)
    renderer = _renderers[key]
    first = shard * config.takes_per_shard
    members = []
    indices = range(first, min(first + config.takes_per_shard, config.takes))
    for take_index in indices:
        take = renderer.render(take_rng(config.seed, take_index))
        members += encode_take(f"{take_index:09d}", take, [config.seed, take_index],
                               config.rgb_format, config.jpeg_quality)
    write_shard(config.output / shard_name(shard), members)
    skipped = [str(p) for source in (renderer.background, renderer.motion) for p in getattr(source, "skipped", [])]
    return len(indices), skipped


def code_version() -> str:
    version = metadata.version("croco-human")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        commit = ""
    return f"{version}+{commit}" if commit else version


def _prepare_output(config: RenderConfig) -> None:
    """Create the folder, and refuse to mix two different configurations in it."""
    try:
        config.output.mkdir(parents=True, exist_ok=True)
        probe = config.output / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise PermissionError(f"{config.output}: cannot write the dataset there ({error.strerror or error})") from error
    manifest = config.output / MANIFEST
    if manifest.exists():
        previous = json.loads(manifest.read_text()).get("config")
        if previous != config.to_json():
            changed = sorted(k for k in config.to_json() if (previous or {}).get(k) != config.to_json()[k])
            raise ValueError(f"{manifest}: this folder holds a dataset rendered with other settings "
                             f"({', '.join(changed)} differ); choose another --output")


def _write_manifest(config: RenderConfig, skipped: set[str]) -> dict:
    shards = list_shards(config.output)
    takes = sum(min(config.takes_per_shard, config.takes - int(p.stem.split("-")[1]) * config.takes_per_shard)
                for p in shards)
    manifest = {
        "config": config.to_json(), "code_version": code_version(),
        "counts": {"shards_done": len(shards), "shards_total": config.total_shards, "takes": takes,
                   "images": takes * config.frames * config.rig.views},
        "shards": [p.name for p in shards], "format": "docs/data-format.md",
        "skipped_inputs": sorted(skipped),
    }
    write_json_atomic(config.output / MANIFEST, manifest)
    return manifest


def run(config: RenderConfig) -> dict:
    """Render every shard this process owns that is not on disk yet; returns the manifest."""
    _prepare_output(config)
    mine = [s for s in range(config.total_shards) if s % config.num_shards == config.shard_index]
    todo = [s for s in mine if not (config.output / shard_name(s)).exists()]
    for stale in config.output.glob("shard-*.tar.tmp"):
        stale.unlink()
    log.info("%s: %d of %d shards of this process already done, rendering %d (%d takes x %d frames x %d views)",
             config.output, len(mine) - len(todo), len(mine), len(todo), config.takes_per_shard,
             config.frames, config.rig.views)
    total_takes = sum(min(config.takes_per_shard, config.takes - s * config.takes_per_shard) for s in todo)
    manifest_path = config.output / MANIFEST
    skipped = set(json.loads(manifest_path.read_text()).get("skipped_inputs", [])) if manifest_path.exists() else set()
    with tqdm(total=total_takes, unit="take", desc="rendering", disable=not todo) as bar:
        def collect(results) -> None:
            for count, bad in results:
                bar.update(count)
                skipped.update(bad)

        if config.workers <= 1 or len(todo) <= 1:
            collect(render_shard(config, shard) for shard in todo)
        else:
            with multiprocessing.get_context("spawn").Pool(min(config.workers, len(todo))) as pool:
                collect(pool.imap_unordered(_render_shard_star, [(config, s) for s in todo]))
    if skipped:
        log.warning("%d unreadable input files were skipped (listed in %s)", len(skipped), manifest_path)
    if mine and not (config.output / PREVIEW).exists():
        takes = []
        for take in read_shard(config.output / shard_name(mine[0])):
            takes.append(take)
            if len(takes) == config.preview_takes:
                break
        contact_sheet(takes, config.output / PREVIEW)
    return _write_manifest(config, skipped)


def _render_shard_star(args: tuple[RenderConfig, int]) -> tuple[int, list[str]]:
    return render_shard(*args)
