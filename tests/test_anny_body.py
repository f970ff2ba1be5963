"""The anny body: retargeting SMPL motion, part labels, textures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crocohuman.core.conventions import HAND_PART_IDS, SMPL_JOINT_NAMES, SMPL_TPOSE_JOINTS
from crocohuman.core.kinematics import smpl_forward_kinematics
from crocohuman.render.body.anny_body import AnnyBody
from crocohuman.render.body.hand_jewellery import RING_BAND
from crocohuman.render.body.texture import RING_PREFIX
from crocohuman.render.motion import MOTION_KINDS, sample_clip

J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
LIMBS = [
    (a, b)
    for side in ("left", "right")
    for a, b in (
        (f"{side}_hip", f"{side}_knee"),
        (f"{side}_knee", f"{side}_ankle"),
        (f"{side}_ankle", f"{side}_foot"),
        (f"{side}_collar", f"{side}_shoulder"),
        (f"{side}_shoulder", f"{side}_elbow"),
        (f"{side}_elbow", f"{side}_wrist"),
        (f"{side}_wrist", f"{side}_hand"),
    )
] + [("spine1", "spine2"), ("spine2", "spine3"), ("spine3", "neck"), ("neck", "head")]


@pytest.fixture(scope="module")
def anny():
    return AnnyBody(texture_size=256)


def _directions(joints: np.ndarray) -> np.ndarray:
    d = np.stack([joints[:, J[b]] - joints[:, J[a]] for a, b in LIMBS], 1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


@pytest.mark.parametrize("kind", MOTION_KINDS)
def test_retargeted_limbs_point_where_smpl_limbs_point(anny, kind):
    rng = np.random.default_rng(3)
    clip = sample_clip(rng, 5, 10.0, kind)
    posed = anny.pose(anny.sample_identity(rng), clip)
    smpl_joints, _ = smpl_forward_kinematics(clip.global_orient, clip.body_pose, SMPL_TPOSE_JOINTS, clip.transl)
    cos = (_directions(posed.joints.astype(np.float64)) * _directions(smpl_joints)).sum(-1)
    angles = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    assert angles.max() < 1.0, dict(zip([f"{a}-{b}" for a, b in LIMBS], angles.max(0).round(1)))


def test_posed_body_is_upright_and_moves(anny):
    rng = np.random.default_rng(0)
    clip = sample_clip(rng, 4, 10.0, "walk")
    posed = anny.pose(anny.sample_identity(rng), clip)
    assert posed.vertices.shape == (4, 13718, 3) and posed.joints.shape == (4, 24, 3)
    head, pelvis, ankle = (posed.joints[:, J[n], 2] for n in ("head", "pelvis", "left_ankle"))
    assert (head > pelvis).all() and (pelvis > ankle).all()
    assert posed.params["anny_pose_local_bone"].shape == (4, 104, 3, 3)


def test_parts_cover_densepose_24_with_left_on_plus_x(anny):
    topology = anny.topology
    counts = np.bincount(topology.face_parts, minlength=25)
    assert (counts[1:] > 50).all() and counts[0] == 0
    centroid_x = anny.rest_vertices[topology.faces].mean(1)[:, 0]
    for left, right in ((4, 3), (5, 6), (8, 7), (10, 9), (12, 11), (15, 16), (19, 20), (24, 23)):
        assert (
            np.median(centroid_x[topology.face_parts == left]) > 0 > np.median(centroid_x[topology.face_parts == right])
        )
    # Front parts are in front (-Y) of back parts: torso 2 vs 1.
    centroid_y = anny.rest_vertices[topology.faces].mean(1)[:, 1]
    assert np.median(centroid_y[topology.face_parts == 2]) < np.median(centroid_y[topology.face_parts == 1])
    assert topology.face_iuv.min() >= 0 and topology.face_iuv.max() <= 1


def test_identities_vary(anny):
    rng = np.random.default_rng(1)
    identities = [anny.sample_identity(rng) for _ in range(4)]
    heights = {round(float(i.params["height"]), 3) for i in identities}
    assert len(heights) == 4
    textures = np.stack([i.texture for i in identities]).astype(np.int16)
    assert textures.shape[1:] == (256, 256, 3)
    assert np.abs(textures[0] - textures[1]).mean() > 10
    again = AnnyBody.sample_identity(anny, np.random.default_rng(1))
    assert (again.texture == identities[0].texture).all()


def test_ring_bands_circle_the_proximal_phalanx_of_their_finger(anny):
    """Each ring mask lies on its side's hand, within its band along the phalanx (from the texels'
    rest positions, not the baked band positions) and all around the finger."""
    canvas = anny.canvas
    with torch.no_grad():
        heads = anny.model(phenotype_kwargs={})["rest_bone_poses"][0, :, :3, 3].double().numpy()
    masks = {name: mask > 0 for name, mask in canvas.features.items() if name.startswith(RING_PREFIX)}
    assert len(masks) == 8 and not np.any(np.sum(list(masks.values()), 0) > 1)  # disjoint
    for side, part in enumerate(HAND_PART_IDS):
        for finger in (2, 3, 4, 5):
            mask = masks[f"{RING_PREFIX}{'LR'[side]}{finger}"]
            assert mask.sum() >= 8 and (canvas.part[mask] == part).all()
            proximal, middle = (anny.bone_labels.index(f"finger{finger}-{n}.{'LR'[side]}") for n in (1, 2))
            axis = heads[middle] - heads[proximal]
            offset = canvas.position[mask] - heads[proximal]
            along = offset @ axis / (axis @ axis)
            assert along.min() > RING_BAND[0] - 0.02 and along.max() < RING_BAND[1] + 0.02
            across = offset - along[:, None] * axis
            assert np.linalg.norm(across, axis=1).max() < 0.025  # on the finger's skin, not the palm
            reference = np.cross(axis, [0.0, 0.0, 1.0])
            angle = np.arctan2(np.cross(reference, across) @ axis / np.linalg.norm(axis), across @ reference)
            gaps = np.diff(np.sort(np.concatenate([angle, [angle.min() + 2 * np.pi]])))
            assert gaps.max() < np.radians(120)  # around the finger, not a patch on one side
