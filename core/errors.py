"""One family of error types for bad inputs, so a command catches them all with one clause.

Every message names the file or value at fault and, where it helps, what was expected.
"""

from __future__ import annotations

import pickle


class BadInputError(ValueError):
    """A file or value the user gave is missing, malformed or unsafe; the message names it."""


class CorruptSampleError(BadInputError):
    """One sample could not be read (truncated shard, unreadable image); the message names the file.

    The pair mixture skips only these and counts them; any other error stops the run.
    """


class UnsafePickleError(BadInputError, pickle.UnpicklingError):
    """A pickle asked for a global outside what its reader allows (numpy arrays, builtin containers)."""


class CorruptSourceError(BadInputError):
    """Every draw in a long run failed: a source's files are unreadable. The message names the sources
    (``kind:root``); raised in a DataLoader worker, it reaches the main process inside torch's
    wrapper text, from which ``headline`` takes the original message back."""

    def headline(self) -> str:
        """The original one-line message, also when torch re-raised it with the worker's traceback."""
        lines = [line for line in str(self).splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        marker = f"{type(self).__name__}: "
        return last.split(marker, 1)[1] if marker in last else last
