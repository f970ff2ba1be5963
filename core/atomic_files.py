"""Atomic writes that several writers (processes, possibly on several hosts) can do in one folder:
shards, job records, reports, checkpoints, caches all go through here.

A file is written under a temporary name unique to its writer (host and pid), flushed, then
renamed over its final name, so a reader sees the old file or the whole new one, and no writer
ever touches another writer's temporary file. A temporary file may be removed only by its writer
or once it is provably stale: its writer ran on this host and that pid is gone.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

_TEMPORARY = re.compile(r"\.(?P<host>[A-Za-z0-9-]+)_(?P<pid>\d+)\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def writer_tag() -> str:
    """``host_pid``: who writes, in a form that survives in a file name."""
    return f"{_host()}_{os.getpid()}"


def temporary_path(path: Path) -> Path:
    """Where this writer prepares ``path``: ``NAME.host_pid.tmp`` next to it (same filesystem)."""
    path = Path(path)
    return path.with_name(f"{path.name}.{writer_tag()}.tmp")


def write_atomic_with(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """``write(handle)`` into a temporary file of this writer, fsync it, then rename it over ``path``:
    a killed writer never leaves half a file, and no temporary file is left behind on any error."""
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file of this writer, fsync it, then rename it over ``path``."""
    write_atomic_with(path, lambda handle: handle.write(data))


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``path`` atomically unless it already holds exactly ``data`` (then neither bytes nor
    mtime change); returns whether it wrote."""
    try:
        if Path(path).read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, data)
    return True


def write_if_absent(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` only if no file is there, atomically (a hard link of a
    complete temporary file); returns whether this writer created it. Where the filesystem has no
    hard links, a rename is the fallback (then two writers racing may both think they created it)."""
    path = Path(path)
    temporary = temporary_path(path)
    try:
        temporary.write_bytes(data)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:  # no hard links here (some network or FUSE filesystems)
            if path.exists():
                return False
            os.replace(temporary, path)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def is_stale(path: Path) -> bool:
    """Whether ``path`` is a temporary file nobody can still be writing: ours (this pid), or of a
    dead pid on this host. Other hosts' files and foreign names are never judged stale."""
    match = _TEMPORARY.search(Path(path).name)
    if match is None or match["host"] != _host():
        return False
    pid = int(match["pid"])
    return pid == os.getpid() or not _pid_alive(pid)


def remove_stale_temporaries(folders: Iterable[Path]) -> list[Path]:
    """Remove the stale temporary files (``is_stale``) of ``folders``; returns what was removed."""
    removed = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.tmp")):
            if is_stale(path):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
