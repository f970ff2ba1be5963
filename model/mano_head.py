"""Hand mesh recovery (paper Sec. 4.1, FreiHAND): MANO parameters from HMR's iterative regressor
(``HandMeshHead``), or model-free, the mesh's vertices themselves (``model_free_hand_head``).

The paper's "vanilla iterative regressor" regresses MANO's global orientation and 15 finger
rotations (6D) and 10 betas; every iterate is posed by smplx's differentiable linear blend
skinning (``smplx.lbs``) with the arrays of the smplx MANO layer that our loader
(``crocohuman.core.bodymodel``) builds from the user's own MANO_RIGHT file. Conventions, written once:

- joints: MANO's 16 kinematic joints and the 5 fingertip vertices of FreiHAND's toolbox
  (``FREIHAND_TIP_VERTICES``), reordered to FreiHAND's order ``FREIHAND_JOINT_NAMES`` by
  ``MANO_TO_FREIHAND``. Joints and vertices are
  relative to the wrist, in metres, camera axes, as the targets (``finetune_data``).
- hand pose: FreiHAND's (and InterHand2.6M's) fits pose MANO with ``flat_hand_mean=False``: their
  ``hand_pose`` is an axis-angle offset from MANO's mean hand pose ``hands_mean``. Our loader
  builds a flat layer (``flat_hand_mean=True``, as AMASS), so the head regresses the offset, the
  data's convention (targets, rotation loss and predictions compare as they are), and adds
  ``hands_mean`` in axis-angle, as MANO does, before skinning. An untrained head gives the mean hand.
- no camera: the targets are root-relative 3D and FreiHAND's metrics align every prediction.
The MANO arrays are non-persistent buffers: checkpoints never hold the licensed model.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from smplx.lbs import lbs
from torch import Tensor

from crocohuman.core.bodymodel.smplx_layer import BodyModelLayers
from crocohuman.core.conventions import FREIHAND_TIP_VERTICES, MANO_TO_FREIHAND
from crocohuman.core.rotations import axis_angle_to_matrix

from .heads import IterativeRegressor, VertexRegressor, mesh_downsample_matrix, param_spec_for
from .rotation6d import matrix_to_axis_angle, rot6d_to_matrix

HAND_MESH_SPEC = {name: size for name, size in param_spec_for("mano").items() if name != "cam"}
NUM_FINGER_JOINTS = 15
MANO_HELP = (
    "--task hand-mesh and hand-mesh-free need the MANO hand model, which is licensed and never downloaded "
    "by croco-human: "
    "register at https://mano.is.tue.mpg.de, download the models and pass --model-path DIR "
    "(or finetune.model_path=DIR), DIR holding MANO_RIGHT.pkl (or .npz), or the file itself"
)
NUM_COARSE_VERTICES = 195  # METRO's coarse hand mesh (778 -> 195)
_LBS_ARRAYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "parents", "lbs_weights")


def load_mano(model_path: str) -> tuple[nn.Module, Tensor]:
    """The smplx MANO layer of the user's right-hand file (our loader's, flat hand mean) and the
    file's ``hands_mean`` [15, 3], the pose FreiHAND's ``hand_pose`` is an offset from."""
    if not model_path:
        raise ValueError(MANO_HELP)
    try:
        layers = BodyModelLayers("mano", model_path)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}\n{MANO_HELP}") from error
    gender = layers.genders[0]
    hands_mean = layers.arrays(gender)["hands_mean"]
    return layers.model(gender), torch.as_tensor(hands_mean, dtype=torch.float32).view(NUM_FINGER_JOINTS, 3)


class HandMeshHead(nn.Module):
    """The iterative regressor of MANO parameters, every iterate posed into joints and a mesh.

    forward returns (final, per_iteration) as ``IterativeRegressor`` does, each a dict of
    root-relative ``joints`` [B, 21, 3] (FreiHAND order) and ``vertices`` [B, V, 3], rotation
    matrices ``global_orient`` [B, 3, 3] and ``hand_pose`` [B, 15, 3, 3] (offsets from the mean
    hand), and ``betas`` [B, 10].
    """

    all_blocks = False

    def __init__(self, in_dim: int, model_path: str) -> None:
        super().__init__()
        self.regressor = IterativeRegressor(in_dim, HAND_MESH_SPEC)
        layer, hands_mean = load_mano(model_path)
        for name in _LBS_ARRAYS:  # rebuilt from the user's file with the head, kept out of checkpoints
            self.register_buffer(name, getattr(layer, name).detach().clone(), persistent=False)
        self.register_buffer("hands_mean", hands_mean, persistent=False)
        self.register_buffer("tips", torch.tensor(FREIHAND_TIP_VERTICES), persistent=False)

    def pose(self, params: dict[str, Tensor]) -> dict[str, Tensor]:
        """One iterate's parameters -> root-relative joints and vertices, rotations, betas."""
        with torch.autocast(params["betas"].device.type, enabled=False):  # skinning in float32 (bf16: ~0.5 mm)
            params = {name: value.float() for name, value in params.items()}
            orient = rot6d_to_matrix(params["global_orient"])  # (B, 3, 3)
            offsets = rot6d_to_matrix(params["hand_pose"].view(-1, NUM_FINGER_JOINTS, 6))  # (B, 15, 3, 3)
            fingers = axis_angle_to_matrix(matrix_to_axis_angle(offsets) + self.hands_mean)  # MANO adds in axis-angle
            rotations = torch.cat([orient[:, None], fingers], 1)  # (B, 16, 3, 3)
            vertices, joints = lbs(
                params["betas"],
                rotations,
                self.v_template,
                self.shapedirs,
                self.posedirs,
                self.J_regressor,
                self.parents,
                self.lbs_weights,
                pose2rot=False,
            )
        joints = torch.cat([joints, vertices[:, self.tips]], 1)[:, MANO_TO_FREIHAND]  # (B, 21, 3)
        root = joints[:, :1]
        return {
            "joints": joints - root,
            "vertices": vertices - root,
            "global_orient": orient,
            "hand_pose": offsets,
            "betas": params["betas"],
        }

    def forward(self, tokens: Tensor) -> tuple[dict[str, Tensor], list[dict[str, Tensor]]]:
        _, steps = self.regressor(tokens)
        posed = [self.pose(step) for step in steps]
        return posed[-1], posed


def freihand_joint_regressor(layer: nn.Module) -> Tensor:
    """[21, V]: FreiHAND's joints as a linear map of a MANO mesh, in FreiHAND's order: MANO's
    joint regressor (16 rows) and one-hot rows for the fingertip vertices."""
    tips = torch.zeros(len(FREIHAND_TIP_VERTICES), layer.J_regressor.shape[1])
    tips[range(len(FREIHAND_TIP_VERTICES)), list(FREIHAND_TIP_VERTICES)] = 1.0
    return torch.cat([layer.J_regressor.float(), tips])[MANO_TO_FREIHAND]


def model_free_hand_head(in_dim: int, model_path: str, num_coarse: int = NUM_COARSE_VERTICES) -> VertexRegressor:
    """METRO-style hand mesh (``--task hand-mesh-free``): coarse vertices regressed from the tokens,
    upsampled to MANO's topology, joints regressed from the mesh as METRO scores them. The user's
    MANO file gives only the topology and the regressor (fixed maps, kept out of checkpoints)."""
    layer, _ = load_mano(model_path)
    _, upsample = mesh_downsample_matrix(layer.v_template, layer.faces_tensor, num_coarse)
    return VertexRegressor(in_dim, num_coarse, upsample, joint_regressor=freihand_joint_regressor(layer))
