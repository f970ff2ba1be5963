"""A training run's log: ``log.jsonl`` in the run folder, one JSON object per logged step, written
and trimmed on resume by the loop, read back by the check that finds a finished run."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from crocohuman.core.atomic_files import write_atomic

log = logging.getLogger("crocohuman.train")

LOG = "log.jsonl"


def read_log(path: Path, until_step: int) -> list[str]:
    """The lines of a log.jsonl up to ``until_step``. A partial last line (a write cut by a power loss)
    is dropped with a warning; any other unreadable line is an error naming the file and line."""
    lines = path.read_text().splitlines()
    kept = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            step = json.loads(line)["step"]
        except (ValueError, KeyError, TypeError) as error:
            if number == len(lines):
                log.warning("%s: dropping its cut-off last line %d (%r)", path, number, line[:80])
                continue
            raise ValueError(
                f"{path}:{number}: not a log entry with a step ({type(error).__name__}: {error}); "
                "remove the line or the file to resume"
            ) from None
        if step <= until_step:
            kept.append(line)
    return kept


def last_logged(path: Path) -> dict:
    """The last complete entry of a log.jsonl ({} if there is none)."""
    if not path.exists():
        return {}
    for line in reversed(path.read_text().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {}


class JsonLog:
    """Appends one JSON object per line; the main process also mirrors scalars to TensorBoard.

    On resume, entries past the checkpoint's step (written by the run that was killed) are
    dropped from both, so the curves show each step once.
    """

    def __init__(self, out_dir: Path, resume_step: int):
        from torch.utils.tensorboard import SummaryWriter

        self.path = out_dir / LOG
        if self.path.exists():
            kept = "".join(line + "\n" for line in read_log(self.path, resume_step))
            if kept != self.path.read_text():
                write_atomic(self.path, kept.encode())
        self.tensorboard = SummaryWriter(str(out_dir / "tensorboard"), purge_step=resume_step + 1)

    def write(self, step: int, values: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **values}) + "\n")
        for key, value in values.items():
            if isinstance(value, (int, float)):
                self.tensorboard.add_scalar(key, value, step)

    def close(self) -> None:
        self.tensorboard.close()
