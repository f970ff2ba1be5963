"""The one restricted unpickler: dataset and body-model pickles come from the internet, and a plain
``pickle.load`` would run whatever callable they name.

By default only numpy arrays, dtypes and scalars, ``_codecs.encode`` (how Python 3 writes bytes at
protocol 2) and builtin containers can be built; a reader widens that with ``extra`` (body-model
files: chumpy and scipy.sparse stand-ins) or swaps allowed globals with ``substitutes`` (the
memory-mapped DensePose distance matrix). Any other global raises ``UnsafePickleError``.
``latin1`` decodes Python-2 ``str`` (3DPW, SMPL) so numpy gets its raw buffers back.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from crocohuman.core.errors import CorruptSampleError, UnsafePickleError


def _numpy_core() -> str:
    """Where numpy's pickle helpers live: ``numpy._core`` from numpy 2, ``numpy.core`` before."""
    try:
        importlib.import_module("numpy._core.multiarray")
    except ImportError:
        return "numpy.core"
    return "numpy._core"


NUMPY_CORE = _numpy_core()
RECONSTRUCT = (f"{NUMPY_CORE}.multiarray", "_reconstruct")  # how ndarray.__reduce__ rebuilds an array
FROMBUFFER = (f"{NUMPY_CORE}.numeric", "_frombuffer")  # how protocol 5 rebuilds one from raw bytes
_MODULE_ALIASES = {  # Python-2 and numpy-1 module names as they appear in old pickles
    "__builtin__": "builtins",
    "copy_reg": "copyreg",
    "numpy.core.multiarray": f"{NUMPY_CORE}.multiarray",
    "numpy.core.numeric": f"{NUMPY_CORE}.numeric",
    "numpy._core.multiarray": f"{NUMPY_CORE}.multiarray",
    "numpy._core.numeric": f"{NUMPY_CORE}.numeric",
}
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        RECONSTRUCT,
        FROMBUFFER,
        (f"{NUMPY_CORE}.multiarray", "scalar"),
        ("_codecs", "encode"),
        *(
            ("builtins", name)
            for name in (
                "dict",
                "list",
                "tuple",
                "set",
                "frozenset",
                "str",
                "bytes",
                "bytearray",
                "int",
                "float",
                "complex",
                "bool",
                "slice",
                "range",
            )
        ),
    }
)
ANNOTATION_PURPOSE = "annotation pickles may only hold numpy arrays and builtin containers"

ExtraGlobals = Callable[[str, str], object | None]


class RestrictedUnpickler(pickle.Unpickler):
    """Builds the allowed globals only (module docstring); refusals name the global and ``purpose``.

    ``substitutes`` maps canonical ``(module, name)`` pairs (e.g. ``RECONSTRUCT``) to what to build
    instead; ``extra(module, name)`` may allow more, returning None to refuse.
    """

    def __init__(
        self,
        file: IO[bytes],
        *,
        purpose: str = ANNOTATION_PURPOSE,
        extra: ExtraGlobals | None = None,
        substitutes: Mapping[tuple[str, str], object] | None = None,
        encoding: str = "latin1",
    ) -> None:
        super().__init__(file, encoding=encoding)
        self.purpose, self.extra, self.substitutes = purpose, extra, substitutes or {}

    def find_class(self, module: str, name: str) -> Any:
        canonical = (_MODULE_ALIASES.get(module, module), name)
        if canonical in self.substitutes:
            return self.substitutes[canonical]
        if canonical in _ALLOWED_GLOBALS:
            return getattr(importlib.import_module(canonical[0]), name)
        if self.extra is not None and (found := self.extra(*canonical)) is not None:
            return found
        raise UnsafePickleError(f"refusing global {module}.{name}: {self.purpose}")


def load_pickle(path: str | Path, *, purpose: str = ANNOTATION_PURPOSE, extra: ExtraGlobals | None = None) -> Any:
    """Load a pickle through ``RestrictedUnpickler``; every failure names the file.

    Missing: ``FileNotFoundError``; a refused global: ``UnsafePickleError``; truncated or garbled:
    ``CorruptSampleError`` (a ``BadInputError``, so a ``ValueError``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such pickle")
    try:
        with open(path, "rb") as handle:
            return RestrictedUnpickler(handle, purpose=purpose, extra=extra).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: {err}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        ImportError,
        UnicodeDecodeError,
    ) as err:
        raise CorruptSampleError(f"{path}: cannot unpickle ({type(err).__name__}: {err})") from err
