"""The default body: anny (Apache-2.0, ships its mesh, rig and UVs), driven by SMPL motion.

Shapes come from anny's population-calibrated sampler (sexes, ages, body types); poses from
``retarget``; textures are painted on anny's own UV atlas (``texture``), with its eye, mouth,
lip and nail regions taken from the masks anny ships and ring bands from its finger bones
(``hand_jewellery``).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from crocohuman.core.conventions import ANNY_PHENOTYPES, HAND_SIDES, MANO_TO_FREIHAND
from crocohuman.render.body import anny_hands, anny_rig, hand_jewellery
from crocohuman.render.body.anny_population import AnnyPopulation
from crocohuman.render.body.anny_shape import AnnyShape
from crocohuman.render.body.anny_skinning import AnnySkinning
from crocohuman.render.body.base import BodyTopology, Identity, PosedBody
from crocohuman.render.body.parts import label_faces
from crocohuman.render.body.retarget import anny_world_orient_pose
from crocohuman.render.body.texture import TextureCanvas, bake_canvas, sample_texture
from crocohuman.render.motion.clip import MotionClip

# Colours of anny's UV segmentation image (data/segmentation/body_parts_segmentation.yaml).
_FEATURE_COLORS = {
    "eye_white": [(255, 101, 0), (24, 170, 109)],
    "iris": [(16, 231, 186), (16, 115, 231)],
    "mouth": [(112, 172, 255), (206, 153, 167)],
}
_FEATURE_MASKS = {"lips": ["mpfb_lips.jpg"], "nails": ["mpfb_fingernails.jpg", "mpfb_toenails.jpg"]}


def _load_anny():
    """Construct anny quietly (its first construction builds a ~790 MB cache once, ~60 s)."""
    os.environ.setdefault("WARP_LOG_LEVEL", "error")
    import anny  # lazy: pulls NVIDIA warp, which prints a banner at import

    try:
        import warp

        warp.config.quiet = True
    except Exception:  # noqa: BLE001 - warp is anny's dependency; quietness is cosmetic
        pass
    return anny, anny.Anny().to(torch.float32)


class AnnyBody:
    """anny in its default topology (13,718 vertices, 104 bones, Z-up metres, facing -Y)."""

    name = "anny"

    def __init__(self, texture_size: int = 512, min_age: float = 5.0):
        self.anny, self.model = _load_anny()
        self.texture_size = texture_size
        self.bone_labels: list[str] = list(self.model.bone_labels)
        self.joint_bones = anny_rig.joint_bone_indices(self.bone_labels)
        self.bone_parents = np.array(self.model.bone_parents[1:])
        reference = self.model.reference_bone_orientations  # None: each shape's rest orientations
        self.reference_orientations = None if reference is None else reference.double().numpy()
        with torch.no_grad():
            rest = self.model(phenotype_kwargs={})
        self.rest_vertices = rest["rest_vertices"][0].numpy().astype(np.float64)
        rest_joints = rest["rest_bone_poses"][0, self.joint_bones, :3, 3].numpy().astype(np.float64)
        faces = self.model.faces.numpy().astype(np.int32)
        dominant = self.model.vertex_bone_indices.gather(1, self.model.vertex_bone_weights.argmax(1, keepdim=True))[
            :, 0
        ].numpy()
        drivers = np.array([anny_rig.driving_joint(label) for label in self.bone_labels])
        face_parts, face_iuv = label_faces(self.rest_vertices, faces, drivers[dominant], rest_joints)
        sides = range(len(HAND_SIDES))
        self.hand_bones = np.array([[self.bone_labels.index(b) for b in anny_hands.hand_bone_labels(s)] for s in sides])
        rest_heads = rest["rest_bone_poses"][0, :, :3, 3].numpy()
        self.tips = anny_hands.fingertip_vertices(self.rest_vertices, dominant, rest_heads, self.bone_labels)
        self.ring_positions = hand_jewellery.ring_positions(self.rest_vertices, dominant, rest_heads, self.bone_labels)
        uvs = self.model.texture_coordinates.numpy()[self.model.face_texture_coordinate_indices.numpy()]
        self.topology = BodyTopology(
            faces=faces, face_uvs=uvs.astype(np.float32), face_parts=face_parts, face_iuv=face_iuv, closed=True
        )
        self.shape = AnnyShape(self.model)
        self.skinning = AnnySkinning(self.model)
        self.population = AnnyPopulation(Path(self.anny.__file__).parent / "data" / "shape_calibration", min_age)

    @cached_property
    def canvas(self) -> TextureCanvas:
        rings = hand_jewellery.ring_masks(
            self.topology.faces, self.topology.face_uvs, self.ring_positions, self.texture_size
        )
        return bake_canvas(self.topology, self.rest_vertices, self.texture_size, self._feature_masks() | rings)

    def _feature_masks(self) -> dict[str, np.ndarray]:
        """Eye, mouth, lip and nail regions from anny's own UV masks, resized to the canvas."""
        from PIL import Image

        data = Path(self.anny.__file__).parent / "data"
        size = (self.texture_size, self.texture_size)
        segmentation = np.asarray(
            Image.open(data / "segmentation" / "body_parts_segmentation.png").convert("RGB").resize(size, Image.NEAREST)
        ).astype(np.int64)
        masks = {}
        for name, colors in _FEATURE_COLORS.items():
            masks[name] = np.any([(segmentation == c).all(-1) for c in colors], axis=0).astype(np.float32)
        for name, files in _FEATURE_MASKS.items():
            layers = [np.asarray(Image.open(data / "mpfb2" / "textures" / f).convert("L").resize(size)) for f in files]
            masks[name] = np.max(layers, axis=0).astype(np.float32) / 255.0
        return masks

    def sample_identity(self, rng: np.random.Generator) -> Identity:
        age, phenotypes = self.population.sample(rng)
        params = {key: np.float32(phenotypes[key]) for key in ANNY_PHENOTYPES}
        params["morphological_age"] = np.float32(age)
        gender = "female" if params["gender"] > 0.5 else "male"
        description = f"anny {gender}, age {float(params['morphological_age']):.0f}"
        return Identity(params=params, texture=sample_texture(rng, self.canvas), description=description)

    def pose(self, identity: Identity, clip: MotionClip) -> PosedBody:
        # the rest shape once per take (anny's forward would shape the body again per frame)
        rest_vertices, rest_bone_poses = self.shape.rest(self.shape.coefficients(identity.params))
        rest_hands = self._hands(rest_bone_poses[:, :3, 3], rest_vertices.astype(np.float64))
        pose = anny_world_orient_pose(clip, rest_bone_poses, self.bone_labels, rest_hands)
        rotations, translations = self.skinning.transforms(pose[..., :3, :3], pose[:, 0, :3, 3], rest_bone_poses)
        vertices = self.skinning.skin(rest_vertices, rotations, translations)
        heads = self.skinning.heads(rotations, translations, rest_bone_poses)
        local = self._local_bone_rotations(pose[..., :3, :3], rest_bone_poses[:, :3, :3])
        return PosedBody(
            vertices=vertices.astype(np.float32),
            joints=heads[:, self.joint_bones].astype(np.float32),
            hand_joints=self._hands(heads, vertices)[..., MANO_TO_FREIHAND, :].astype(np.float32),
            params={
                "global_orient": clip.global_orient.astype(np.float32),
                "body_pose": clip.body_pose.astype(np.float32),
                "hand_pose": clip.hand_pose.astype(np.float32),
                "anny_pose_local_bone": local.astype(np.float32),
            },
        )

    def _local_bone_rotations(self, world: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """anny's 'local-bone' rotations (T, bones, 3, 3) of bones in world orientations ``world``:
        the root's world rotation, then each bone's rotation relative to its parent, about the
        relative rotation of their reference orientations (those of ``get_pose_parameterization``,
        from the rotations alone: ~0.3 ms instead of its ~4 ms of rigid 4x4 algebra per take)."""
        reference = rest if self.reference_orientations is None else self.reference_orientations
        parents = self.bone_parents
        relative = np.swapaxes(world[:, parents], -1, -2) @ world[:, 1:]
        reference_relative = np.swapaxes(reference[parents], -1, -2) @ reference[1:]
        return np.concatenate([world[:, :1], np.swapaxes(reference_relative, -1, -2) @ relative], axis=1)

    def _hands(self, bone_heads: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        """Hand keypoints (..., 2, 21, 3) in MANO row order: wrist and finger bone heads, fingertip vertices."""
        return anny_hands.hand_keypoints(bone_heads, vertices, self.hand_bones, self.tips)
