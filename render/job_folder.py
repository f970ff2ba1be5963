"""One dataset folder shared by every writer of a job: its settings, per-shard records, manifest, preview.

Several writers (``--shard-index/--num-shards`` under a SLURM array or a shell loop, on one host
or on several over a shared filesystem, or ``--workers``) may fill one folder at once, so:

- ``job.json`` (the settings and the code version) is created once, atomically and only if absent,
  before the first shard; every writer compares its settings with it before rendering anything;
- ``records/shard-NNNNNN.json`` (the unreadable inputs a shard's takes skipped) is written before
  its shard appears, so nothing a writer learnt is lost when it is killed;
- ``manifest.json`` and ``preview.png`` are pure functions of what is on disk, rebuilt by each
  writer when it ends and written only when their bytes change: whichever writer ends last leaves
  them right, and re-running a finished job changes no byte.
"""

from __future__ import annotations

import json
from pathlib import Path

from crocohuman.core.atomic_files import write_if_absent, write_if_changed
from crocohuman.core.shard_names import shard_name, shard_number
from crocohuman.core.shards import list_shards
from crocohuman.render.config import LATER_SETTINGS

JOB = "job.json"
MANIFEST = "manifest.json"
PREVIEW = "preview.png"
RECORDS = "records"
FORMAT_DOC = "docs/data-format.md"


def json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def normalised(data):
    """``data`` as JSON gives it back (tuples become lists, paths strings): the one form settings are compared in."""
    return json.loads(json.dumps(data, default=str))


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: unreadable ({error})") from error


def read_job(root: Path) -> dict | None:
    """The job's settings, from ``job.json`` or, in a folder written before it existed, from the
    manifest's config; None for a folder holding no job."""
    job = _read_json(root / JOB)
    if job is None:
        legacy = _read_json(root / MANIFEST)
        if legacy is not None and "config" in legacy:
            job = {
                "config": legacy["config"],
                "code_version": legacy.get("code_version", "unknown"),
                "format": FORMAT_DOC,
            }
    return job


def check_settings(root: Path, job: dict, config: dict) -> None:
    """Refuse to mix two datasets: every setting must equal the recorded one (both JSON-normalised)."""
    recorded, asked = normalised({**LATER_SETTINGS, **job["config"]}), normalised(config)
    changed = sorted(key for key in recorded.keys() | asked.keys() if recorded.get(key) != asked.get(key))
    if changed:
        details = "; ".join(f"{key}: {recorded.get(key)!r} recorded, {asked.get(key)!r} asked" for key in changed)
        raise ValueError(
            f"{root / JOB}: this folder holds a dataset rendered with other settings "
            f"({', '.join(changed)} differ: {details}); choose another --output"
        )


def claim_job(root: Path, config: dict, code_version: str) -> dict:
    """The job recorded in ``root``, created from ``config`` if there is none yet; ValueError if its
    settings differ. Writers racing to create it all succeed when their settings agree."""
    existing = read_job(root)
    if existing is not None:
        check_settings(root, existing, config)
    if not (root / JOB).exists():
        fresh = {"config": normalised(config), "code_version": code_version, "format": FORMAT_DOC}
        write_if_absent(root / JOB, json_bytes(existing or fresh))
    job = read_job(root)
    check_settings(root, job, config)
    return job


def shards_total(config: dict) -> int:
    return -(-config["takes"] // config["takes_per_shard"])


def shard_takes(config: dict, shard: int) -> int:
    """How many takes shard ``shard`` holds (the last one may hold fewer)."""
    return min(config["takes_per_shard"], config["takes"] - shard * config["takes_per_shard"])


def job_shards(root: Path, config: dict) -> list[Path]:
    """The finished shards on disk that belong to the job, sorted."""
    total = shards_total(config)
    return [path for path in list_shards(root) if (number := shard_number(path)) is not None and number < total]


def record_path(root: Path, shard: int) -> Path:
    return root / RECORDS / shard_name(shard).replace(".tar", ".json")


def write_record(root: Path, shard: int, skipped: list[str]) -> None:
    """What rendering shard ``shard`` learnt about the inputs; written before the shard appears."""
    (root / RECORDS).mkdir(exist_ok=True)
    record = {"shard": shard_name(shard), "skipped_inputs": sorted(skipped)}
    write_if_changed(record_path(root, shard), json_bytes(record))


def build_manifest(root: Path, job: dict) -> dict:
    """The manifest of what is on disk now: counts, finished shards, skipped inputs of their records."""
    config = job["config"]
    shards = job_shards(root, config)
    numbers = [shard_number(path) for path in shards]
    takes = sum(shard_takes(config, number) for number in numbers)
    skipped = set()
    for number in numbers:
        skipped.update((_read_json(record_path(root, number)) or {}).get("skipped_inputs", []))
    total = shards_total(config)
    return {
        "config": config,
        "code_version": job["code_version"],
        "format": FORMAT_DOC,
        "counts": {
            "shards_done": len(shards),
            "shards_total": total,
            "takes": takes,
            "images": takes * config["frames"] * config["rig"]["views"],
        },
        "complete": len(shards) == total,
        "shards": [path.name for path in shards],
        "skipped_inputs": sorted(skipped),
        "preview": PREVIEW if 0 in numbers else None,
    }


def preview_bytes(root: Path, takes: int) -> bytes:
    """The contact sheet of shard 0's first takes: the same bytes whichever writer makes it."""
    from crocohuman.core.shards import read_shard
    from crocohuman.render.preview import contact_sheet

    first = []
    for take in read_shard(root / shard_name(0)):
        first.append(take)
        if len(first) == takes:
            break
    return contact_sheet(first)


def publish(root: Path, job: dict, preview_takes: int) -> dict:
    """Bring manifest and preview in line with the disk, and again while shards keep appearing, so
    the writer that ends last leaves them complete. Nothing is written when nothing changed."""
    while True:
        manifest = build_manifest(root, job)
        data = json_bytes(manifest)
        stale = not (root / MANIFEST).exists() or (root / MANIFEST).read_bytes() != data
        if manifest["preview"] and (stale or not (root / PREVIEW).exists()):
            write_if_changed(root / PREVIEW, preview_bytes(root, preview_takes))
        if stale:
            write_if_changed(root / MANIFEST, data)
        if [path.name for path in job_shards(root, job["config"])] == manifest["shards"]:
            return manifest
