"""Finding the user's SMPL, SMPL-H, SMPL-X and MANO model files, and what each model type's file holds.

The model files are licensed, so we never ship them: ``model_path`` names a folder (or a file)
the user downloaded. Which file is used (first match wins; names are matched case-insensitively,
``.npz`` before ``.pkl``):

* ``model_path`` is a file: that file (its gender is read from its name: ``female``/``_f_``,
  ``male``/``_m_``, else neutral);
* ``model_path`` is a folder: in ``model_path/<model_type>/`` then in ``model_path/`` itself,
  ``<PREFIX>_<GENDER>.npz|pkl`` (``SMPL_NEUTRAL.pkl``, ``SMPLX_FEMALE.npz``, ``MANO_RIGHT.pkl``,
  smplx's layout), ``<gender>/model.npz`` (AMASS's SMPL-H / SMPL-X layout) and, for SMPL, the
  official release names ``basicmodel_{neutral,m,f}_lbs_10_207_0_v1.*.pkl``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crocohuman.core.conventions import GENDERS, MANO_FINGERS, NUM_BODY_JOINTS

COMMON_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
_HAND_KEYS = {"hands_componentsl": (45, 45), "hands_componentsr": (45, 45), "hands_meanl": (45,), "hands_meanr": (45,)}
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
            mapping[self.hand_start : self.hand_start + 15] = 22
            mapping[self.hand_start + 15 : self.hand_start + 30] = 23
        return mapping

    def smpl_joint_source(self) -> np.ndarray:
        """The model joint at each of SMPL's 24 joints (hands: the middle-finger knuckle).

        For MANO only the right wrist and hand are meaningful (the rest repeat the wrist); they set
        the axis of the hand's part chart.
        """
        if self.is_hand:
            source = np.zeros(24, np.int64)
            source[23] = 1 + 3 * MANO_FINGERS.index("middle")
            return source
        if not self.hand_start:
            return np.arange(24)
        middle1 = 3 * MANO_FINGERS.index("middle")
        return np.array([*range(22), self.hand_start + middle1, self.hand_start + 15 + middle1])


MODEL_SPECS: dict[str, ModelSpec] = {
    "smpl": ModelSpec("smpl", "SMPL", "SMPL", 24, 23, 0),
    "smplh": ModelSpec("smplh", "SMPL-H", "SMPLH", 52, NUM_BODY_JOINTS, 22),
    "smplx": ModelSpec("smplx", "SMPL-X", "SMPLX", 55, NUM_BODY_JOINTS, 25, min_shape_dirs=20, landmarks=True),
    "mano": ModelSpec("mano", "MANO", "MANO", 16, 0, 1),
}


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
        current = next(
            (entry for entry in sorted(current.iterdir()) if fnmatch.fnmatchcase(entry.name.lower(), part)), None
        )
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


def find_model_files(
    model_type: str, model_path: str | Path, genders: tuple[str, ...] | None = None
) -> dict[str, Path]:
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
        hit = next(
            (
                path
                for folder in folders
                for pattern in _file_patterns(spec, gender)
                if (path := _match(folder, pattern)) is not None
            ),
            None,
        )
        if hit is not None:
            found[gender] = hit
    missing = [g for g in wanted if g not in found]
    if not found or (genders is not None and missing):
        looked_for = sorted({p for g in missing for p in _file_patterns(spec, g)})
        raise FileNotFoundError(
            f"no {spec.label} model file for gender(s) {', '.join(missing)} in "
            f"{' or '.join(str(f) for f in folders)}; looked for (case-insensitive) {', '.join(looked_for)}"
        )
    return found
