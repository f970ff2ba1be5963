"""The 3DPW / Human3.6M joint protocol of SPIN and HMR 2.0 on SMPL meshes.

Both meshes go through the user's ``J_regressor_h36m.npy`` (17 x 6890, SMPL licence, never
shipped) to 17 H36M joints; each is translated by its own pelvis; the 14 LSP-order joints are
compared. SPIN's ``eval.py`` takes the pelvis as H36M joint 0 of the 17 (before selecting the 14),
VIBE's ``evaluate.py`` as the mid-point of the two hips of the 14; ``pelvis`` picks either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from crocohuman.eval.metrics import mpjpe, mpvpe, pa_mpjpe

NUM_SMPL_VERTICES = 6890
# nkolot/SPIN constants.py: H36M_TO_J17 = [6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10, 0, 7, 9]
# and H36M_TO_J14 = H36M_TO_J17[:14]: R ankle, R knee, R hip, L hip, L knee, L ankle, R wrist,
# R elbow, R shoulder, L shoulder, L elbow, L wrist, neck, head.
H36M_TO_J14 = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)
H36M_PELVIS = 0  # SPIN eval.py: gt_keypoints_3d[:, [0], :]
J14_HIPS = (2, 3)  # right and left hip in the 14 (VIBE's pelvis)

Pelvis = Literal["h36m", "mid_hips"]


def load_h36m_regressor(path: str | Path) -> np.ndarray:
    """``J_regressor_h36m.npy`` as float64 [17, 6890], with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"H36M joint regressor not found: {path} (J_regressor_h36m.npy, 17 x 6890, as distributed "
            "with SPIN's data; it falls under the SMPL licence, so download it yourself)"
        )
    regressor = np.load(path, allow_pickle=False)
    if regressor.shape != (17, NUM_SMPL_VERTICES):
        raise ValueError(f"{path}: expected a (17, {NUM_SMPL_VERTICES}) joint regressor, got {regressor.shape}")
    return regressor.astype(np.float64)


def h36m_j14(vertices: np.ndarray, regressor: np.ndarray, pelvis: Pelvis = "h36m") -> tuple[np.ndarray, np.ndarray]:
    """The 14 LSP-order joints [N, 14, 3], pelvis-relative, and the pelvis [N, 1, 3] they left."""
    vertices = np.asarray(vertices, np.float64)
    if vertices.ndim != 3 or vertices.shape[1:] != (NUM_SMPL_VERTICES, 3):
        raise ValueError(f"expected SMPL vertices [N, {NUM_SMPL_VERTICES}, 3], got {vertices.shape}")
    joints17 = np.einsum("jv,nvc->njc", regressor, vertices)
    joints14 = joints17[:, H36M_TO_J14]
    root = joints17[:, [H36M_PELVIS]] if pelvis == "h36m" else joints14[:, list(J14_HIPS)].mean(1, keepdims=True)
    return joints14 - root, root


@dataclass(frozen=True)
class SmplProtocolErrors:
    """Per-sample errors in millimetres, [N] each."""

    mpjpe: np.ndarray
    pa_mpjpe: np.ndarray
    mpvpe: np.ndarray  # both meshes translated by their own pelvis, as SPIN-derived evaluators do

    def mean(self) -> dict[str, float]:
        return {
            "mpjpe": float(self.mpjpe.mean()),
            "pa_mpjpe": float(self.pa_mpjpe.mean()),
            "mpvpe": float(self.mpvpe.mean()),
        }


def evaluate_smpl_meshes(
    pred_vertices: np.ndarray, gt_vertices: np.ndarray, regressor: str | Path | np.ndarray, pelvis: Pelvis = "h36m"
) -> SmplProtocolErrors:
    """MPJPE, PA-MPJPE (14 joints) and MPVPE in mm for SMPL meshes in metres, [N, 6890, 3] each."""
    if not isinstance(regressor, np.ndarray):
        regressor = load_h36m_regressor(regressor)
    pred_j14, pred_root = h36m_j14(pred_vertices, regressor, pelvis)
    gt_j14, gt_root = h36m_j14(gt_vertices, regressor, pelvis)
    return SmplProtocolErrors(
        mpjpe=1000.0 * mpjpe(pred_j14, gt_j14),
        pa_mpjpe=1000.0 * pa_mpjpe(pred_j14, gt_j14),
        mpvpe=1000.0 * mpvpe(np.asarray(pred_vertices) - pred_root, np.asarray(gt_vertices) - gt_root),
    )
