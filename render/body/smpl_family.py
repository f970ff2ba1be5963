"""SMPL, SMPL-H, SMPL-X and MANO bodies from the user's own model files, posed through ``smplx``.

Which files are used and how they are read and checked: ``crocohuman.core.bodymodel`` (the model
files are licensed, so we never ship them; ``--model-path`` names a folder or a file the user
downloaded).

Frames: ``smplx`` works in the SMPL canonical frame with ``global_orient`` applied, and a clip's
``global_orient`` already rotates that frame into the Z-up world (``conventions``), so its output
plus ``transl`` *is* the world. Posed bodies give the 24 SMPL joints for SMPL/SMPL-H/SMPL-X (for
SMPL-H/X, SMPL's ``left_hand``/``right_hand`` are the middle-finger knuckles). MANO is a right hand
alone, outside the 24-joint contract: its ``PosedBody.joints`` are MANO's own 21 joints (wrist,
15 finger joints, 5 fingertip vertices), named in ``params["joint_names"]``; it is driven by the
clip's root (``global_orient``, ``transl``) and right-hand pose. SMPL-H/SMPL-X fingers follow the
clip's ``hand_pose`` and give the hand keypoint labels (``PosedBody.hand_joints``, FreiHAND's order):
SMPL's wrists, the model's 15 finger joints per side and smplx's fingertip vertices of the official
meshes (``hand_tip_vertices``); a mesh without those vertices (not an official one) gives none.

Textures: without ``texture_dir`` every identity gets a procedural texture (``texture``) painted
on the DensePose chart atlas (``parts.chart_texture_uvs``). With ``texture_dir`` (SURREAL-style
images in the model's UV layout, e.g. SURREAL's ``textures/``) each identity picks a random image
there (from ``texture_dir/<gender>/`` when that folder has images); this needs ``uv_obj``, the
model's UV template ``.obj`` (``uv_template``), whose texture coordinates then replace the atlas.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from crocohuman.core.bodymodel.reader import mano_tip_vertices
from crocohuman.core.bodymodel.smplx_layer import BodyModelLayers, check_model_choice
from crocohuman.core.conventions import (
    HAND_SIDES,
    MANO_JOINT_NAMES,
    MANO_TIPS,
    MANO_TO_FREIHAND,
    NUM_BODY_JOINTS,
    NUM_HAND_JOINTS,
    SMPL_CANONICAL_TO_WORLD,
    SMPL_JOINT_NAMES,
)
from crocohuman.render.body.base import BodyTopology, Identity, PosedBody
from crocohuman.render.body.parts import chart_texture_uvs, label_faces
from crocohuman.render.body.texture import TextureCanvas, bake_canvas, sample_texture
from crocohuman.render.body.texture_folder import TextureFolder
from crocohuman.render.body.uv_template import read_obj_face_uvs
from crocohuman.render.motion.clip import MotionClip

WRISTS = (SMPL_JOINT_NAMES.index("left_wrist"), SMPL_JOINT_NAMES.index("right_wrist"))
BETA_CLIP = 3.0  # betas ~ N(0, 1) clipped to +-3 std, as SURREAL's variety
FORWARD_CHUNK = 128  # frames per smplx forward: bounds lbs's (frames, vertices, 4, 4) temporaries


def hand_tip_vertices(model_type: str) -> np.ndarray:
    """(2, 5) fingertip vertex ids of the official SMPL-H/SMPL-X meshes, left then right, thumb to
    pinky (smplx's ``vertex_ids``, as its fingertip joints)."""
    from smplx.vertex_ids import vertex_ids

    return np.array([[vertex_ids[model_type][side[0] + tip] for tip in MANO_TIPS] for side in HAND_SIDES])


class SmplFamilyBody:
    """``--body smpl|smplh|smplx|mano``: the user's model files, posed by SMPL-convention clips."""

    def __init__(
        self,
        model_type: str,
        model_path: str | Path,
        *,
        genders: tuple[str, ...] | None = None,
        num_betas: int = 10,
        texture_dir: str | Path | None = None,
        uv_obj: str | Path | None = None,
        texture_size: int = 512,
    ):
        check_model_choice(model_type, genders)
        if texture_dir is not None and uv_obj is None:
            raise ValueError("texture_dir needs uv_obj: the model's UV template .obj the images are laid out for")
        self.layers = BodyModelLayers(model_type, model_path, genders=genders, num_betas=num_betas)
        self.spec, self.files, self.genders = self.layers.spec, self.layers.files, self.layers.genders
        self.name = model_type
        self.num_betas = num_betas
        self.texture_size = texture_size
        self.textures = TextureFolder(texture_dir) if texture_dir is not None else None
        self.rest_vertices, self.topology = self._rest_topology(self.layers.arrays(self.genders[0]), uv_obj)

    def _rest_topology(
        self, arrays: dict[str, np.ndarray], uv_obj: str | Path | None
    ) -> tuple[np.ndarray, BodyTopology]:
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
        return self.layers.model(gender)

    def sample_identity(self, rng: np.random.Generator) -> Identity:
        gender = self.genders[int(rng.integers(len(self.genders)))]
        betas = np.clip(rng.standard_normal(self.num_betas), -BETA_CLIP, BETA_CLIP).astype(np.float32)
        if self.textures is None:
            texture, texture_name = sample_texture(rng, self.canvas), "procedural"
        else:
            texture, texture_name = self.textures.sample(rng, gender)
        params = {
            "betas": betas,
            "gender": np.array(gender),
            "model_type": np.array(self.name),
            "texture": np.array(texture_name),
        }
        return Identity(
            params=params, texture=texture, description=f"{self.spec.label} {gender}, texture {texture_name}"
        )

    def pose(self, identity: Identity, clip: MotionClip) -> PosedBody:
        gender = str(identity.params["gender"])
        model = self.model(gender)
        inputs = self._pose_inputs(model, clip)
        betas = np.zeros(model.num_betas, np.float32)
        given = np.asarray(identity.params["betas"], np.float32)[: model.num_betas]
        betas[: len(given)] = given
        vertices, joints = self._forward(model, betas, inputs)
        names = MANO_JOINT_NAMES if self.spec.is_hand else SMPL_JOINT_NAMES
        hands = None if self.spec.is_hand else self._hand_keypoints(joints, vertices)
        if not self.spec.is_hand:
            joints = joints[:, self.spec.smpl_joint_source()]
        params = {
            key: value.reshape(clip.num_frames, -1, 3) if key.endswith("pose") else value
            for key, value in inputs.items()
            if key != "expression"
        }
        params.update(betas=betas, gender=np.array(gender), model_type=np.array(self.name), joint_names=np.array(names))
        return PosedBody(vertices=vertices, joints=joints, params=params, hand_joints=hands)

    def _hand_keypoints(self, joints: np.ndarray, vertices: np.ndarray) -> np.ndarray | None:
        """(T, 2, 21, 3) hand keypoints in FreiHAND's order, left then right, from the model's joints
        (T, J, 3) and vertices; None for a model without finger joints or fingertip vertices."""
        tips = hand_tip_vertices(self.name) if self.spec.hand_start else None
        if tips is None or vertices.shape[1] <= tips.max():
            return None
        sides = []
        for side, wrist in enumerate(WRISTS):
            start = self.spec.hand_start + side * NUM_HAND_JOINTS
            rows = [joints[:, wrist : wrist + 1], joints[:, start : start + NUM_HAND_JOINTS], vertices[:, tips[side]]]
            sides.append(np.concatenate(rows, axis=1)[:, MANO_TO_FREIHAND])  # MANO's rows, then our order
        return np.stack(sides, axis=1).astype(np.float32)

    def _pose_inputs(self, model, clip: MotionClip) -> dict[str, np.ndarray]:
        """smplx forward arguments (T, k) float32 for one clip; undriven joints stay at rest."""
        t = clip.num_frames
        hands = np.asarray(clip.hand_pose, np.float32)  # (T, 2, 15, 3): left, right
        inputs = {"global_orient": clip.global_orient, "transl": clip.transl}
        if self.spec.is_hand:
            inputs["hand_pose"] = hands[:, 1].reshape(t, 45)
        else:
            body = np.zeros((t, self.spec.body_pose_joints, 3), np.float32)
            body[:, :NUM_BODY_JOINTS] = clip.body_pose
            inputs["body_pose"] = body.reshape(t, -1)
        if self.spec.hand_start and not self.spec.is_hand:
            inputs["left_hand_pose"] = hands[:, 0].reshape(t, 45)
            inputs["right_hand_pose"] = hands[:, 1].reshape(t, 45)
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
                chunk = {key: torch.from_numpy(value[start : start + FORWARD_CHUNK]) for key, value in inputs.items()}
                size = len(chunk["transl"])
                out = model(betas=torch.from_numpy(betas).expand(size, -1), return_verts=True, **chunk)
                chunk_joints = out.joints[:, : self.spec.num_joints]
                if self.spec.is_hand:
                    chunk_joints = torch.cat([chunk_joints, out.vertices[:, mano_tip_vertices()]], 1)
                vertices.append(out.vertices.numpy())
                joints.append(chunk_joints.numpy())
        return np.concatenate(vertices).astype(np.float32), np.concatenate(joints).astype(np.float32)
