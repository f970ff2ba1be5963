"""Reading a body-model file (``.npz`` or a legacy ``.pkl``) into checked numpy arrays, without chumpy.

Every file is read and checked here before ``smplx`` sees it, so a wrong file is a ``ValueError``
naming the file and key rather than a traceback from inside ``smplx``. Legacy ``.pkl`` files hold
``chumpy`` objects and scipy sparse matrices; the restricted unpickler of ``crocohuman.core.pickles``,
widened here with stand-ins for those two (nothing else outside numpy can be loaded), turns them
into plain arrays, so chumpy is not needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crocohuman.core.bodymodel.files import COMMON_KEYS, ModelSpec
from crocohuman.core.conventions import MANO_TIPS
from crocohuman.core.pickles import RestrictedUnpickler


class _ChumpyObject:
    """Stand-in for a pickled chumpy object: keeps its state (a plain ``Ch`` stores its array as ``x``)."""

    chumpy_class = "chumpy"

    def __setstate__(self, state: object) -> None:
        self.state = state


class _PickledSparse:
    """Stand-in for a pickled scipy CSC/CSR matrix (SMPL's ``J_regressor``), rebuilt from its arrays."""

    layout = "csc"

    def __setstate__(self, state: dict) -> None:
        self.state = state

    def toarray(self) -> np.ndarray:
        import scipy.sparse

        state = self.state
        shape = tuple(state.get("_shape", state.get("shape")))
        parts = (np.asarray(state["data"]), np.asarray(state["indices"]), np.asarray(state["indptr"]))
        matrix = scipy.sparse.csc_matrix if self.layout == "csc" else scipy.sparse.csr_matrix
        return matrix(parts, shape=shape).toarray()


_SPARSE_CLASSES = {
    name: type(name, (_PickledSparse,), {"layout": name[:3]})
    for name in ("csc_matrix", "csr_matrix", "csc_array", "csr_array")
}
_CHUMPY_CLASSES: dict[str, type] = {}  # one stand-in per chumpy class name met, for error messages
_BODY_MODEL_PURPOSE = "not part of a body model file"


def _body_model_global(module: str, name: str) -> object | None:
    """What body-model pickles need beyond numpy: chumpy and sparse-matrix stand-ins, ``object``."""
    if module.split(".")[0] == "chumpy":
        qualified = f"{module}.{name}"
        if qualified not in _CHUMPY_CLASSES:
            _CHUMPY_CLASSES[qualified] = type(name, (_ChumpyObject,), {"chumpy_class": qualified})
        return _CHUMPY_CLASSES[qualified]
    if module.startswith("scipy.sparse") and name in _SPARSE_CLASSES:
        return _SPARSE_CLASSES[name]
    if (module, name) == ("copyreg", "_reconstructor"):
        import copyreg

        return copyreg._reconstructor
    if (module, name) == ("builtins", "object"):
        return object
    return None


def _plain_array(value: object, key: str, path: Path) -> np.ndarray:
    """A stored value as a numpy array (chumpy wrappers unwrapped, sparse matrices densified)."""
    if isinstance(value, _ChumpyObject):
        inner = value.state.get("x") if isinstance(value.state, dict) else None
        if inner is None:
            raise ValueError(
                f"{path}: '{key}' is a chumpy {value.chumpy_class} expression, not a stored "
                "array; re-export the model with plain numpy arrays"
            )
        return _plain_array(inner, key, path)
    if isinstance(value, _PickledSparse):
        return value.toarray()
    array = np.asarray(value)
    if array.dtype == object:
        raise ValueError(f"{path}: '{key}' is not a numeric array")
    return array


def _read_raw(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays stored under ``keys`` (those present) in a model .npz or .pkl file."""
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".pkl"):
        raise ValueError(f"{path}: unsupported model file type {suffix!r} (expected .npz or .pkl)")
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                return {key: stored[key] for key in keys if key in stored.files}
        with open(path, "rb") as handle:
            stored = RestrictedUnpickler(handle, purpose=_BODY_MODEL_PURPOSE, extra=_body_model_global).load()
    except Exception as error:  # any failure to parse the file means the same to the user
        raise ValueError(f"{path} is not a readable {suffix[1:]} body model file: {error}") from error
    if not isinstance(stored, dict):
        raise ValueError(f"{path} is not a body model file: it holds a {type(stored).__name__}, not a dict of arrays")
    return {key: _plain_array(stored[key], key, path) for key in keys if key in stored}


def _shape_problem(key: str, array: np.ndarray, expected: tuple[int | None, ...]) -> str | None:
    if not np.issubdtype(array.dtype, np.number):
        return f"'{key}' has non-numeric dtype {array.dtype}"
    if array.ndim != len(expected) or any(e is not None and s != e for s, e in zip(array.shape, expected)):
        wanted = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        return f"'{key}' has shape {array.shape}, expected {wanted}"
    return None


def _model_problem(arrays: dict[str, np.ndarray], spec: ModelSpec, keys: tuple[str, ...]) -> str | None:
    """What makes ``arrays`` unusable as a ``spec`` model (None when nothing does)."""
    missing = [key for key in keys if key not in arrays and key not in spec.hand_keys]
    if missing:
        return f"missing key '{missing[0]}'"
    num_vertices, j = len(arrays["v_template"]), spec.num_joints
    expected: dict[str, tuple[int | None, ...]] = {
        "v_template": (num_vertices, 3),
        "shapedirs": (num_vertices, 3, None),
        "posedirs": (num_vertices, 3, 9 * (j - 1)),
        "J_regressor": (j, num_vertices),
        "weights": (num_vertices, j),
        "kintree_table": (2, j),
        "f": (None, 3),
        "lmk_faces_idx": (None,),
        "lmk_bary_coords": (None, 3),
        **spec.hand_keys,
    }
    for key, array in arrays.items():
        if problem := _shape_problem(key, array, expected[key]):
            return problem
    if arrays["shapedirs"].shape[2] < spec.min_shape_dirs:
        return f"'shapedirs' has {arrays['shapedirs'].shape[2]} components, {spec.label} needs {spec.min_shape_dirs}"
    parents = arrays["kintree_table"][0, 1:].astype(np.int64)
    if ((parents < 0) | (parents >= np.arange(1, j))).any():
        return "'kintree_table' has a parent that does not precede its joint"
    faces = arrays["f"]
    if faces.size and (faces.min() < 0 or faces.max() >= num_vertices):
        return f"'f' indexes vertices outside 0..{num_vertices - 1}"
    if spec.is_hand and num_vertices <= max(mano_tip_vertices()):
        return f"only {num_vertices} vertices, but MANO's fingertips are vertices {mano_tip_vertices()}"
    return None


def read_model_file(path: Path, spec: ModelSpec) -> dict[str, np.ndarray]:
    """The checked arrays of one model file, with the hand keys smplx needs (zeros when absent)."""
    keys = COMMON_KEYS + tuple(spec.hand_keys)
    if spec.landmarks:
        keys += ("lmk_faces_idx", "lmk_bary_coords")
    arrays = _read_raw(path, keys)
    if problem := _model_problem(arrays, spec, keys):
        raise ValueError(f"{path} is not a valid {spec.label} model file: {problem}")
    for key, shape in spec.hand_keys.items():
        arrays.setdefault(key, np.zeros(shape, np.float32))
    return arrays


def mano_tip_vertices() -> list[int]:
    """The vertices standing for the fingertips, thumb to pinky (smplx's ids): MANO joints 16-20."""
    from smplx.vertex_ids import vertex_ids

    return [vertex_ids["mano"][tip] for tip in MANO_TIPS]
