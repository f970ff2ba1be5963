"""anny's forward kinematics and skinning in numpy (``anny_skinning``) against anny's own torch and warp."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from crocohuman.core.conventions import ANNY_PHENOTYPES
from crocohuman.render.body.anny_shape import AnnyShape
from crocohuman.render.body.anny_skinning import AnnySkinning


@pytest.fixture(scope="module")
def model():
    from crocohuman.render.body.anny_body import _load_anny

    return _load_anny()[1]


@pytest.mark.parametrize("seed", range(3))
def test_world_orient_posing_matches_anny(model, seed):
    rng = np.random.default_rng(seed)
    shape = AnnyShape(model)
    phenotypes = dict(zip(ANNY_PHENOTYPES, rng.uniform(0, 1, len(ANNY_PHENOTYPES)), strict=True))
    rest_vertices, rest_poses = shape.rest(shape.coefficients(phenotypes))
    frames, bones = 3, len(model.bone_labels)
    pose = np.tile(np.eye(4), (frames, bones, 1, 1))  # world orientations far from the rest ones
    rotations = Rotation.from_rotvec(rng.normal(0, 0.8, (frames * bones, 3))).as_matrix()
    pose[..., :3, :3] = rotations.reshape(frames, bones, 3, 3)
    pose[:, 0, :3, 3] = rng.normal(0, 1.0, (frames, 3))  # the root's head
    with torch.no_grad():
        transforms, bone_poses = model.get_bone_transforms(
            torch.from_numpy(pose).float(),
            torch.from_numpy(rest_poses[None]).float(),
            pose_parameterization="world-orient",
        )
        vertices = model.get_skinned_vertices(torch.from_numpy(rest_vertices)[None].expand(frames, -1, -1), transforms)
    skinning = AnnySkinning(model)
    rotations, translations = skinning.transforms(pose[..., :3, :3], pose[:, 0, :3, 3], rest_poses)
    np.testing.assert_allclose(rotations, transforms[..., :3, :3].numpy(), atol=2e-5)
    np.testing.assert_allclose(translations, transforms[..., :3, 3].numpy(), atol=2e-5)  # metres
    heads = skinning.heads(rotations, translations, rest_poses)
    np.testing.assert_allclose(heads, bone_poses[..., :3, 3].numpy(), atol=2e-5)
    np.testing.assert_allclose(skinning.skin(rest_vertices, rotations, translations), vertices.numpy(), atol=2e-5)
