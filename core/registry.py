"""A name -> class (or function) table that imports each entry's module only when it is asked for.

So listing the names (command-line choices, config checks) and opening one reader never import
the others: the 3DPW reader does not load the shard reader, ``--help`` loads no reader at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any


class LazyRegistry(Mapping[str, Any]):
    """``{"name": "package.module:Attribute"}``, in a fixed order; ``kind`` names the entries in errors."""

    def __init__(self, kind: str, entries: dict[str, str]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __getitem__(self, name: str) -> Any:
        module, _, attribute = self._entries[name].partition(":")
        return getattr(importlib.import_module(module), attribute)

    def __contains__(self, name: object) -> bool:  # without importing the entry (Mapping's would)
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_raise(self, name: str) -> Any:
        """The entry ``name``; an unknown name raises ValueError listing the known ones."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}")
        return self[name]
