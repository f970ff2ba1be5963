"""SMPL, SMPL-H, SMPL-X and MANO bodies from the user's own model files, posed through ``smplx``.

The model files are licensed, so we never ship them: ``--model-path`` names a folder (or a file)
the user downloaded. Which file is used (first match wins; names are matched case-insensitively,
``.npz`` before ``.pkl``):

* ``model_path`` is a file: that file (its gender is read from its name: ``female``/``_f_``,
  ``male``/``_m_``, else neutral);
* ``model_path`` is a folder: in ``model_path/<model_type>/`` then in ``model_path/`` itself,
  ``<PREFIX>_<GENDER>.npz|pkl`` (``SMPL_NEUTRAL.pkl``, ``SMPLX_FEMALE.npz``, ``MANO_RIGHT.pkl``,
  smplx's layout), ``<gender>/model.npz`` (AMASS's SMPL-H / SMPL-X layout) and, for SMPL, the
  official release names ``basicmodel_{neutral,m,f}_lbs_10_207_0_v1.*.pkl``.

Every file is read and checked here before ``smplx`` sees it, so a wrong file is a ``ValueError``
naming the file and key rather than a traceback from inside ``smplx``. Legacy ``.pkl`` files hold
``chumpy`` objects and scipy sparse matrices; a restricted unpickler (nothing outside numpy, the
sparse matrices and chumpy stand-ins can be loaded) turns them into plain arrays, so chumpy is not
needed. SMPL, SMPL-H and MANO get the checked arrays directly (``data_struct``); SMPL-X can only
read a file, so it gets a checked copy cached as ``$XDG_CACHE_HOME/crocohuman/smpl/<sha1>/``.

Frames: ``smplx`` works in the SMPL canonical frame with ``global_orient`` applied, and a clip's
``global_orient`` already rotates that frame into the Z-up world (``conventions``), so its output
plus ``transl`` *is* the world. Posed bodies give the 24 SMPL joints for SMPL/SMPL-H/SMPL-X (for
SMPL-H/X, SMPL's ``left_hand``/``right_hand`` are the middle-finger knuckles). MANO is a right hand
alone, outside the 24-joint contract: its ``PosedBody.joints`` are MANO's own 21 joints (wrist,
15 finger joints, 5 fingertip vertices), named in ``params["joint_names"]``; it is driven by the
clip's root (``global_orient``, ``transl``) and right-hand pose.

Textures: without ``texture_dir`` every identity gets a procedural texture (``texture``) painted
on the DensePose chart atlas (``parts.chart_texture_uvs``). With ``texture_dir`` (SURREAL-style
images in the model's UV layout, e.g. SURREAL's ``textures/``) each identity picks a random image
there (from ``texture_dir/<gender>/`` when that folder has images); this needs ``uv_obj``, the
model's UV template ``.obj`` (``v``, ``vt`` and ``f v/vt`` lines, e.g. SMPL's ``smpl_uv.obj``),
whose texture coordinates then replace the atlas.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import importlib
import io
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from crocohuman.render.body.base import BodyTopology, Identity, PosedBody
from crocohuman.render.body.parts import chart_texture_uvs, label_faces
from crocohuman.render.body.texture import TextureCanvas, bake_canvas, sample_texture
from crocohuman.render.conventions import NUM_BODY_JOINTS, SMPL_CANONICAL_TO_WORLD, SMPL_JOINT_NAMES
from crocohuman.render.motion.clip import MotionClip

GENDERS = ("neutral", "male", "female")
BETA_CLIP = 3.0  # betas ~ N(0, 1) clipped to +-3 std, as SURREAL's variety
FORWARD_CHUNK = 128  # frames per smplx forward: bounds lbs's (frames, vertices, 4, 4) temporaries
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")  # MANO / SMPL-H / SMPL-X finger order
_TIPS = ("thumb", "index", "middle", "ring", "pinky")
MANO_JOINT_NAMES: tuple[str, ...] = (
    "right_wrist",
    *(f"right_{finger}{k}" for finger in _FINGERS for k in (1, 2, 3)),
    *(f"right_{tip}_tip" for tip in _TIPS),
)
_COMMON_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
_HAND_KEYS = {"hands_componentsl": (45, 45), "hands_componentsr": (45, 45),
              "hands_meanl": (45,), "hands_meanr": (45,)}
_MANO_HAND_KEYS = {"hands_components": (45, 45), "hands_mean": (45,)}


@dataclass(frozen=True)
class ModelSpec:
    """What a model type's file must hold and how its joints relate to SMPL's 24."""

    model_type: str  # smplx.create's name
    label: str
    prefix: str  # file names are <PREFIX>_<GENDER or RIGHT>.npz|pkl
    num_joints: int
    body_pose_joints: int  # joints of ``body_pose`` after the root
    hand_start: int  # first left-hand joint (right hand for MANO); 0 = no hand joints
    min_shape_dirs: int = 1
    landmarks: bool = False  # SMPL-X: facial landmark embedding keys are required

    @property
    def is_hand(self) -> bool:
        return self.model_type == "mano"

    @property
    def hand_keys(self) -> dict[str, tuple[int, ...]]:
        """Hand PCA keys smplx reads; unused with full axis-angle hands, so zeros when absent."""
        if self.is_hand:
            return _MANO_HAND_KEYS
        return _HAND_KEYS if self.hand_start else {}

    def vertex_joint_map(self) -> np.ndarray:
        """The SMPL joint standing for each model joint when labelling parts by dominant joint.

        Fingers count as SMPL's hand joints (22/23), SMPL-X's jaw and eyes as the head (15); MANO's
        wrist is SMPL's right wrist and its fingers SMPL's right hand.
        """
        if self.is_hand:
            return np.array([21] + [23] * 15)
        mapping = np.arange(self.num_joints)
        if self.hand_start:
            mapping[22:] = 15
            mapping[self.hand_start:self.hand_start + 15] = 22
            mapping[self.hand_start + 15:self.hand_start + 30] = 23
        return mapping

    def smpl_joint_source(self) -> np.ndarray:
        """The model joint at each of SMPL's 24 joints (hands: the middle-finger knuckle).

        For MANO only the right wrist and hand are meaningful (the rest repeat the wrist); they set
        the axis of the hand's part chart.
        """
        if self.is_hand:
            source = np.zeros(24, np.int64)
            source[23] = 1 + 3 * _FINGERS.index("middle")
            return source
        if not self.hand_start:
            return np.arange(24)
        middle1 = 3 * _FINGERS.index("middle")
        return np.array([*range(22), self.hand_start + middle1, self.hand_start + 15 + middle1])


MODEL_SPECS: dict[str, ModelSpec] = {
    "smpl": ModelSpec("smpl", "SMPL", "SMPL", 24, 23, 0),
    "smplh": ModelSpec("smplh", "SMPL-H", "SMPLH", 52, NUM_BODY_JOINTS, 22),
    "smplx": ModelSpec("smplx", "SMPL-X", "SMPLX", 55, NUM_BODY_JOINTS, 25, min_shape_dirs=20, landmarks=True),
    "mano": ModelSpec("mano", "MANO", "MANO", 16, 0, 1),
}


# ---------------------------------------------------------------------------------------------
# Finding the files


def _file_patterns(spec: ModelSpec, gender: str) -> list[str]:
    """Lower-case file name patterns (may name one sub-folder) for one gender, best first."""
    variant = "right" if spec.is_hand else gender
    patterns = [f"{spec.prefix.lower()}_{variant}.npz", f"{spec.prefix.lower()}_{variant}.pkl"]
    if not spec.is_hand:
        patterns.append(f"{gender}/model.npz")
    if spec.model_type == "smpl":
        patterns.append(f"basicmodel_{gender if gender == 'neutral' else gender[0]}_lbs_10_207_0_v1.*.pkl")
    return patterns


def _match(folder: Path, pattern: str) -> Path | None:
    """The first file under ``folder`` whose (lower-cased) relative path matches ``pattern``."""
    current = folder
    for part in pattern.split("/"):
        if not current.is_dir():
            return None
        current = next((entry for entry in sorted(current.iterdir())
                        if fnmatch.fnmatchcase(entry.name.lower(), part)), None)
        if current is None:
            return None
    return current if current.is_file() else None


def _gender_from_name(path: Path) -> str:
    name = f"{path.parent.name}/{path.name}".lower()
    if "female" in name or "_f_" in name:
        return "female"
    if "male" in name or "_m_" in name:
        return "male"
    return "neutral"


def find_model_files(model_type: str, model_path: str | Path,
                     genders: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Gender -> model file, following the rules in the module docstring.

    ``genders=None`` takes every gender found; named genders must all be found.
    """
    spec = MODEL_SPECS[model_type]
    root = Path(model_path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"{spec.label} model path does not exist: {root}")
    if root.is_file():
        gender = _gender_from_name(root)
        if genders is not None and set(genders) != {gender}:
            raise ValueError(f"{root} is a single {gender} {spec.label} model; cannot provide genders {genders}")
        return {gender: root}
    folders = list(dict.fromkeys([root / model_type, root]))
    wanted = genders or (("neutral",) if spec.is_hand else GENDERS)
    found = {}
    for gender in wanted:
        hit = next((path for folder in folders for pattern in _file_patterns(spec, gender)
                    if (path := _match(folder, pattern)) is not None), None)
        if hit is not None:
            found[gender] = hit
    missing = [g for g in wanted if g not in found]
    if not found or (genders is not None and missing):
        looked_for = sorted({p for g in missing for p in _file_patterns(spec, g)})
        raise FileNotFoundError(
            f"no {spec.label} model file for gender(s) {', '.join(missing)} in "
            f"{' or '.join(str(f) for f in folders)}; looked for (case-insensitive) {', '.join(looked_for)}")
    return found


# ---------------------------------------------------------------------------------------------
# Reading model files without chumpy


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


_SPARSE_CLASSES = {name: type(name, (_PickledSparse,), {"layout": name[:3]})
                   for name in ("csc_matrix", "csr_matrix", "csc_array", "csr_array")}
_NUMPY_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
}
_SAFE_BUILTINS = {"object", "set", "frozenset", "slice", "complex"}


_CHUMPY_CLASSES: dict[str, type] = {}  # one stand-in per chumpy class name met, for error messages


class _ModelUnpickler(pickle.Unpickler):
    """Loads numpy arrays, dtypes, sparse matrices and chumpy stand-ins; refuses every other global."""

    def find_class(self, module: str, name: str) -> object:
        if module.split(".")[0] == "chumpy":
            qualified = f"{module}.{name}"
            if qualified not in _CHUMPY_CLASSES:
                _CHUMPY_CLASSES[qualified] = type(name, (_ChumpyObject,), {"chumpy_class": qualified})
            return _CHUMPY_CLASSES[qualified]
        if module.startswith("scipy.sparse") and name in _SPARSE_CLASSES:
            return _SPARSE_CLASSES[name]
        if (module.replace("numpy._core", "numpy.core"), name) in _NUMPY_GLOBALS:
            return _numpy_global(module, name)
        if (module, name) in {("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")}:
            import copyreg

            return copyreg._reconstructor
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        if module in ("__builtin__", "builtins") and name in _SAFE_BUILTINS:
            import builtins

            return getattr(builtins, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a body model file")


def _numpy_global(module: str, name: str) -> object:
    """``numpy.core`` became ``numpy._core`` in numpy 2; pickles name either."""
    for candidate in (module.replace("numpy.core", "numpy._core"), module.replace("numpy._core", "numpy.core")):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {module}.{name}")


def _plain_array(value: object, key: str, path: Path) -> np.ndarray:
    """A stored value as a numpy array (chumpy wrappers unwrapped, sparse matrices densified)."""
    if isinstance(value, _ChumpyObject):
        inner = value.state.get("x") if isinstance(value.state, dict) else None
        if inner is None:
            raise ValueError(f"{path}: '{key}' is a chumpy {value.chumpy_class} expression, not a stored "
                             "array; re-export the model with plain numpy arrays")
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
            stored = _ModelUnpickler(handle, encoding="latin1").load()
    except Exception as error:  # noqa: BLE001 - any failure to parse the file means the same to the user
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
        "v_template": (num_vertices, 3), "shapedirs": (num_vertices, 3, None),
        "posedirs": (num_vertices, 3, 9 * (j - 1)), "J_regressor": (j, num_vertices),
        "weights": (num_vertices, j), "kintree_table": (2, j), "f": (None, 3),
        "lmk_faces_idx": (None,), "lmk_bary_coords": (None, 3), **spec.hand_keys,
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
    keys = _COMMON_KEYS + tuple(spec.hand_keys)
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

    return [vertex_ids["mano"][tip] for tip in _TIPS]


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "crocohuman" / "smpl"


def _cached_npz(source: Path, name: str, arrays: dict[str, np.ndarray]) -> Path:
    """``arrays`` saved (once, atomically) as ``<cache>/<sha1 of source>/<name>``."""
    digest = hashlib.sha1()
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    target = _cache_root() / digest.hexdigest() / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as handle:
            try:
                np.savez(handle, **arrays)
            except BaseException:
                os.unlink(handle.name)
                raise
        os.replace(handle.name, target)
    return target


def _load_smplx_model(spec: ModelSpec, arrays: dict[str, np.ndarray], source: Path, gender: str, num_betas: int):
    """An smplx module built from checked arrays, with full axis-angle, flat-mean hands (as AMASS)."""
    import smplx
    import torch
    from smplx.utils import Struct

    kwargs = dict(model_type=spec.model_type, gender=gender, num_betas=num_betas,
                  use_pca=False, flat_hand_mean=True, ext="npz")
    if spec.model_type == "smplx":  # SMPL-X reads only files, whose name must say SMPLX
        model_path = _cached_npz(source, f"SMPLX_{gender.upper()}.npz", arrays)
    else:  # a folder: smplx then trusts model_type and reads nothing from it
        model_path, kwargs["data_struct"] = source.parent, Struct(**arrays)
    with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10-beta files
        model = smplx.create(str(model_path), **kwargs)
    # smplx appends landmark joints at vertex ids of the official meshes; we use only the
    # kinematic joints, so none are taken (the MANO tips are added in ``_forward``).
    model.vertex_joint_selector.extra_joints_idxs = torch.zeros(0, dtype=torch.long)
    return model.eval()


# ---------------------------------------------------------------------------------------------
# UV templates and texture folders


def read_obj_face_uvs(path: Path, faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """Texture coordinates (F, 3, 2) of ``faces`` from a UV template .obj of the same mesh.

    Faces are matched by their vertex ids, so the .obj's face order may differ from the model's.
    """
    vertex_count, uvs, obj_vertices, obj_uvs = 0, [], [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "v":
                vertex_count += 1
            elif fields[0] == "vt":
                uvs.append((float(fields[1]), float(fields[2])))
            elif fields[0] == "f":
                corners = [corner.split("/") for corner in fields[1:]]
                if any(len(c) < 2 or not c[1] for c in corners):
                    raise ValueError(f"{path}: face without texture coordinates: {line.strip()}")
                vi = [int(c[0]) - 1 if int(c[0]) > 0 else vertex_count + int(c[0]) for c in corners]
                ti = [int(c[1]) - 1 if int(c[1]) > 0 else len(uvs) + int(c[1]) for c in corners]
                for k in range(1, len(corners) - 1):  # fan-triangulate polygons
                    obj_vertices.append((vi[0], vi[k], vi[k + 1]))
                    obj_uvs.append((ti[0], ti[k], ti[k + 1]))
    if not obj_vertices:
        raise ValueError(f"{path} has no faces: not a UV template")
    if vertex_count != num_vertices:
        raise ValueError(f"{path} has {vertex_count} vertices but the body model has {num_vertices}: "
                         "not this model's UV template")
    obj_vertices, obj_uvs, uvs = np.array(obj_vertices), np.array(obj_uvs), np.array(uvs, np.float32)
    obj_order = np.argsort(obj_vertices, axis=1)
    obj_keys = _face_keys(np.take_along_axis(obj_vertices, obj_order, 1), num_vertices)
    obj_sorted_uvs = np.take_along_axis(obj_uvs, obj_order, 1)
    lookup = np.argsort(obj_keys)
    face_order = np.argsort(faces, axis=1)
    keys = _face_keys(np.take_along_axis(faces, face_order, 1), num_vertices)
    position = np.clip(np.searchsorted(obj_keys, keys, sorter=lookup), 0, len(lookup) - 1)
    match = lookup[position]
    unmatched = int((obj_keys[match] != keys).sum())
    if unmatched:
        raise ValueError(f"{path}: {unmatched} of the model's {len(faces)} faces are not in the .obj: "
                         "not this model's UV template")
    face_uv_ids = np.empty_like(faces, dtype=np.int64)
    np.put_along_axis(face_uv_ids, face_order, obj_sorted_uvs[match], 1)
    return uvs[face_uv_ids]


def _face_keys(sorted_faces: np.ndarray, num_vertices: int) -> np.ndarray:
    v = np.asarray(sorted_faces, np.int64)
    return (v[:, 0] * num_vertices + v[:, 1]) * num_vertices + v[:, 2]


class TextureFolder:
    """SURREAL-style texture images; unreadable ones are skipped with a warning."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"texture folder does not exist: {self.root}")
        self.images = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.images:
            raise ValueError(f"no {'/'.join(IMAGE_SUFFIXES)} images in texture folder {self.root}")
        self._unreadable: set[Path] = set()

    def pool(self, gender: str) -> list[Path]:
        """Images under ``<root>/<gender>/`` when there are any (SURREAL sorts by gender), else all."""
        gendered = [p for p in self.images if p.relative_to(self.root).parts[0].lower() == gender]
        return gendered or self.images

    def sample(self, rng: np.random.Generator, gender: str) -> tuple[np.ndarray, str]:
        from PIL import Image

        pool = self.pool(gender)
        for index in rng.permutation(len(pool)):
            path = pool[index]
            if path in self._unreadable:
                continue
            try:
                with Image.open(path) as image:
                    return np.asarray(image.convert("RGB"), np.uint8), str(path.relative_to(self.root))
            except (OSError, ValueError) as error:
                self._unreadable.add(path)
                warnings.warn(f"skipping unreadable texture {path}: {error}", stacklevel=2)
        raise ValueError(f"no readable texture image for {gender} bodies in {self.root}")


# ---------------------------------------------------------------------------------------------
# The body


class SmplFamilyBody:
    """``--body smpl|smplh|smplx|mano``: the user's model files, posed by SMPL-convention clips."""

    def __init__(self, model_type: str, model_path: str | Path, *,
                 genders: tuple[str, ...] | None = None, num_betas: int = 10,
                 texture_dir: str | Path | None = None, uv_obj: str | Path | None = None,
                 texture_size: int = 512):
        if model_type not in MODEL_SPECS:
            raise ValueError(f"unknown SMPL-family model type {model_type!r}; expected one of {', '.join(MODEL_SPECS)}")
        if genders is not None and (unknown := set(genders) - set(GENDERS)):
            raise ValueError(f"unknown gender(s) {sorted(unknown)}; expected some of {GENDERS}")
        if texture_dir is not None and uv_obj is None:
            raise ValueError("texture_dir needs uv_obj: the model's UV template .obj the images are laid out for")
        self.spec = MODEL_SPECS[model_type]
        self.name = model_type
        self.num_betas = num_betas
        self.texture_size = texture_size
        self.files = find_model_files(model_type, model_path, genders)
        self.genders = tuple(self.files)
        self._arrays = {self.genders[0]: read_model_file(self.files[self.genders[0]], self.spec)}
        self._models: dict[str, object] = {}
        self.textures = TextureFolder(texture_dir) if texture_dir is not None else None
        self.rest_vertices, self.topology = self._rest_topology(self._arrays[self.genders[0]], uv_obj)

    def _rest_topology(self, arrays: dict[str, np.ndarray], uv_obj: str | Path | None) -> tuple[np.ndarray, BodyTopology]:
        """Parts and charts from the zero-beta template, turned to face -Y in the Z-up world."""
        template = arrays["v_template"].astype(np.float64)
        rest_vertices = template @ SMPL_CANONICAL_TO_WORLD.T
        rest_joints = (arrays["J_regressor"] @ template)[self.spec.smpl_joint_source()] @ SMPL_CANONICAL_TO_WORLD.T
        faces = arrays["f"].astype(np.int32)
        vertex_joint = self.spec.vertex_joint_map()[arrays["weights"].argmax(1)]
        face_parts, face_iuv = label_faces(rest_vertices, faces, vertex_joint, rest_joints)
        if uv_obj is None:
            face_uvs = chart_texture_uvs(face_parts, face_iuv)
        else:
            face_uvs = read_obj_face_uvs(Path(uv_obj).expanduser(), faces, len(template))
        topology = BodyTopology(faces=faces, face_uvs=face_uvs, face_parts=face_parts, face_iuv=face_iuv)
        return rest_vertices, topology

    @cached_property
    def canvas(self) -> TextureCanvas:
        return bake_canvas(self.topology, self.rest_vertices, self.texture_size)

    def model(self, gender: str):
        """The smplx module of one gender, loaded on first use (all genders share the topology)."""
        if gender not in self._models:
            if gender not in self.files:
                raise ValueError(f"no {self.spec.label} model for gender {gender!r}; have {', '.join(self.genders)}")
            path = self.files[gender]
            arrays = self._arrays.pop(gender, None) or read_model_file(path, self.spec)
            if not np.array_equal(arrays["f"], self.topology.faces):
                raise ValueError(f"{path}: its faces differ from those of {self.files[self.genders[0]]}")
            self._models[gender] = _load_smplx_model(self.spec, arrays, path, gender, self.num_betas)
        return self._models[gender]

    def sample_identity(self, rng: np.random.Generator) -> Identity:
        gender = self.genders[int(rng.integers(len(self.genders)))]
        betas = np.clip(rng.standard_normal(self.num_betas), -BETA_CLIP, BETA_CLIP).astype(np.float32)
        if self.textures is None:
            texture, texture_name = sample_texture(rng, self.canvas), "procedural"
        else:
            texture, texture_name = self.textures.sample(rng, gender)
        params = {"betas": betas, "gender": np.array(gender), "model_type": np.array(self.name),
                  "texture": np.array(texture_name)}
        return Identity(params=params, texture=texture, description=f"{self.spec.label} {gender}, texture {texture_name}")

    def pose(self, identity: Identity, clip: MotionClip) -> PosedBody:
        gender = str(identity.params["gender"])
        model = self.model(gender)
        inputs = self._pose_inputs(model, clip)
        betas = np.zeros(model.num_betas, np.float32)
        given = np.asarray(identity.params["betas"], np.float32)[:model.num_betas]
        betas[:len(given)] = given
        vertices, joints = self._forward(model, betas, inputs)
        names = MANO_JOINT_NAMES if self.spec.is_hand else SMPL_JOINT_NAMES
        if not self.spec.is_hand:
            joints = joints[:, self.spec.smpl_joint_source()]
        params = {key: value.reshape(clip.num_frames, -1, 3) if key.endswith("pose") else value
                  for key, value in inputs.items() if key != "expression"}
        params.update(betas=betas, gender=np.array(gender), model_type=np.array(self.name),
                      joint_names=np.array(names))
        return PosedBody(vertices=vertices, joints=joints, params=params)

    def _pose_inputs(self, model, clip: MotionClip) -> dict[str, np.ndarray]:
        """smplx forward arguments (T, k) float32 for one clip; undriven joints stay at rest."""
        t = clip.num_frames
        hands = (np.zeros((t, 30, 3), np.float32) if clip.hand_pose is None
                 else np.asarray(clip.hand_pose, np.float32))
        inputs = {"global_orient": clip.global_orient, "transl": clip.transl}
        if self.spec.is_hand:
            inputs["hand_pose"] = hands[:, 15:].reshape(t, 45)
        else:
            body = np.zeros((t, self.spec.body_pose_joints, 3), np.float32)
            body[:, :NUM_BODY_JOINTS] = clip.body_pose
            inputs["body_pose"] = body.reshape(t, -1)
        if self.spec.hand_start and not self.spec.is_hand:
            inputs["left_hand_pose"] = hands[:, :15].reshape(t, 45)
            inputs["right_hand_pose"] = hands[:, 15:].reshape(t, 45)
        if self.spec.landmarks:
            for key in ("jaw_pose", "leye_pose", "reye_pose"):
                inputs[key] = np.zeros((t, 3), np.float32)
            inputs["expression"] = np.zeros((t, model.num_expression_coeffs), np.float32)
        return {key: np.asarray(value, np.float32) for key, value in inputs.items()}

    def _forward(self, model, betas: np.ndarray, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """World vertices (T, V, 3) and the model's joints (T, J, 3), in chunks of frames."""
        import torch

        vertices, joints = [], []
        frames = len(inputs["transl"])
        with torch.no_grad():
            for start in range(0, frames, FORWARD_CHUNK):
                chunk = {key: torch.from_numpy(value[start:start + FORWARD_CHUNK]) for key, value in inputs.items()}
                size = len(chunk["transl"])
                out = model(betas=torch.from_numpy(betas).expand(size, -1), return_verts=True, **chunk)
                chunk_joints = out.joints[:, :self.spec.num_joints]
                if self.spec.is_hand:
                    chunk_joints = torch.cat([chunk_joints, out.vertices[:, mano_tip_vertices()]], 1)
                vertices.append(out.vertices.numpy())
                joints.append(chunk_joints.numpy())
        return np.concatenate(vertices).astype(np.float32), np.concatenate(joints).astype(np.float32)
