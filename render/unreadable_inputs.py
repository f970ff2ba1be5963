"""Input files (background photos, AMASS motions) found unreadable while rendering.

A process remembers every bad file it met, so each one warns once. A shard reports the bad files
its own takes drew, known ones included, so what the manifest lists depends on the takes alone,
not on which process rendered them or what that process had met before.
"""

from __future__ import annotations

from pathlib import Path


class UnreadableInputs:
    """The bad files met so far in this process, and those drawn since the last ``drain``."""

    def __init__(self) -> None:
        self._known: dict[Path, None] = {}  # in the order they were found
        self._drawn: set[Path] = set()

    def __contains__(self, path: Path) -> bool:
        return path in self._known

    def __len__(self) -> int:
        return len(self._known)

    @property
    def known(self) -> list[Path]:
        return list(self._known)

    def drawn(self, path: Path) -> bool:
        """Note that ``path`` (found unreadable) was drawn; returns whether it was already known."""
        self._drawn.add(path)
        if path in self._known:
            return True
        self._known[path] = None
        return False

    def drain(self) -> list[Path]:
        """The bad files drawn since the last call, sorted, and forget them."""
        drawn, self._drawn = sorted(self._drawn), set()
        return drawn
