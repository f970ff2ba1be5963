"""``croco-render verify DIR``: which shards of a dataset folder are complete, missing or corrupt.

A shard is complete when its tar is whole (every header and the end-of-archive marker are there)
and it holds exactly the takes and files the job's settings call for. The images are not decoded,
so a large dataset is checked at the speed of reading its tar headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crocohuman.core.shard_names import shard_name, take_fields
from crocohuman.core.shards import index_shard
from crocohuman.render.job_folder import JOB, RECORDS, read_job, shard_takes, shards_total


@dataclass
class DatasetCheck:
    """What ``verify_dataset`` found; ``ok`` when every shard of the job is complete."""

    root: Path
    shards_total: int
    takes_expected: int
    images_per_take: int
    complete: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: dict[str, str] = field(default_factory=dict)  # shard name -> what is wrong
    takes: int = 0
    temporaries: list[str] = field(default_factory=list)  # files of writers still at work, or dead

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt

    @property
    def images(self) -> int:
        return self.takes * self.images_per_take

    def report(self) -> str:
        """A summary line, then one line per missing or corrupt shard."""
        state = "complete" if self.ok else (f"INCOMPLETE ({len(self.missing)} missing, {len(self.corrupt)} corrupt)")
        lines = [
            f"{self.root}: {state}: {len(self.complete)}/{self.shards_total} shards, "
            f"{self.takes}/{self.takes_expected} takes, "
            f"{self.images}/{self.takes_expected * self.images_per_take} images"
        ]
        lines += [f"missing: {name}" for name in self.missing]
        lines += [f"corrupt: {name}: {reason}" for name, reason in self.corrupt.items()]
        if self.temporaries:
            lines.append(
                f"{len(self.temporaries)} temporary files (writers at work, or gone): {', '.join(self.temporaries)}"
            )
        return "\n".join(lines)


def verify_dataset(root: str | Path) -> DatasetCheck:
    """Check every shard the job in ``root`` calls for. ValueError if ``root`` holds no job."""
    root = Path(root)
    job = read_job(root) if root.is_dir() else None
    if job is None:
        raise ValueError(f"{root}: no {JOB}: not a croco-render dataset folder")
    config = job["config"]
    check = DatasetCheck(
        root=root,
        shards_total=shards_total(config),
        takes_expected=config["takes"],
        images_per_take=config["frames"] * config["rig"]["views"],
    )
    for shard in range(check.shards_total):
        name = shard_name(shard)
        if not (root / name).exists():
            check.missing.append(name)
        elif (problem := shard_problem(root / name, config, shard)) is not None:
            check.corrupt[name] = problem
        else:
            check.complete.append(name)
            check.takes += shard_takes(config, shard)
    check.temporaries = sorted(path.name for folder in (root, root / RECORDS) for path in folder.glob("*.tmp"))
    return check


def shard_problem(path: Path, config: dict, shard: int) -> str | None:
    """What is wrong with shard ``shard`` at ``path`` for a job of these settings, None if nothing."""
    try:
        index = index_shard(path)
    except ValueError as error:
        return str(error).removeprefix(f"{path}: ")
    first = shard * config["takes_per_shard"]
    keys = {f"{k:09d}" for k in range(first, first + shard_takes(config, shard))}
    if set(index) != keys:
        missing, extra = sorted(keys - set(index)), sorted(set(index) - keys)
        return f"takes {', '.join(missing) or 'none'} missing, {', '.join(extra) or 'none'} unexpected"
    fields = take_fields(config["frames"], config["rig"]["views"], config["rgb_format"])
    for key in sorted(index):
        if set(index[key]) != fields:
            lacking = sorted(fields - set(index[key]))
            return f"take {key} has {len(set(index[key]) & fields)} of its {len(fields)} files" + (
                f" (lacks {', '.join(lacking[:3])}{', ...' if len(lacking) > 3 else ''})"
                if lacking
                else f" and {len(set(index[key]) - fields)} unexpected ones"
            )
    return None
