"""Drive anny with SMPL-convention motion (AMASS or the built-in sampler), no SMPL files needed.

SMPL's joints all share the canonical axes at rest, so a motion gives every SMPL joint a world
rotation ``Rw[j]`` (forward kinematics on the public kinematic tree). An anny bone driven by joint
``j`` gets the same world rotation, after two fixed corrections: ``W0^T`` takes anny's Z-up rest
frame to SMPL's canonical one, and ``C[j]`` turns anny's rest bone direction (A-pose arms, ...)
onto SMPL's T-pose direction. Bones then carry their world orientation (anny's 'world-orient'
parameterisation), heads following their parents, so limb directions match SMPL's exactly.
"""

from __future__ import annotations

import numpy as np

from crocohuman.core.conventions import SMPL_CANONICAL_TO_WORLD, SMPL_PARENTS, SMPL_TPOSE_JOINTS
from crocohuman.core.kinematics import smpl_forward_kinematics
from crocohuman.core.rotations import rotation_between
from crocohuman.render.body.anny_rig import DIRECTION_CHILD, driving_joint, joint_bone_indices
from crocohuman.render.motion.clip import MotionClip

# SMPL's template puts the pelvis joint this far from the model origin (canonical frame, metres);
# AMASS translations are relative to that origin.
SMPL_TEMPLATE_PELVIS = np.array([0.0, -0.22, 0.03])


def rest_corrections(anny_rest_joints_world: np.ndarray) -> np.ndarray:
    """Per SMPL joint, the rotation (canonical frame) from anny's rest bone direction to SMPL's."""
    anny_canonical = anny_rest_joints_world @ SMPL_CANONICAL_TO_WORLD  # W0^T x, row vectors
    corrections = np.tile(np.eye(3), (24, 1, 1))
    joints, children = np.array(list(DIRECTION_CHILD.items())).T
    corrections[joints] = rotation_between(
        anny_canonical[children] - anny_canonical[joints], SMPL_TPOSE_JOINTS[children] - SMPL_TPOSE_JOINTS[joints]
    )
    for joint in range(1, 24):  # parents precede children in SMPL order
        if joint not in DIRECTION_CHILD:
            corrections[joint] = corrections[SMPL_PARENTS[joint]]
    return corrections


def anny_world_orient_pose(clip: MotionClip, rest_bone_poses: np.ndarray, bone_labels: list[str]) -> np.ndarray:
    """anny 'world-orient' pose parameters (T, bones, 4, 4) reproducing an SMPL motion.

    ``rest_bone_poses`` are anny's rest bone poses (bones, 4, 4) for the identity being posed.
    """
    rest_heads = rest_bone_poses[:, :3, 3]
    anny_joints = rest_heads[joint_bone_indices(bone_labels)]
    corrections = rest_corrections(anny_joints)
    # Scale the root path by leg length so a child does not skate through an adult's steps.
    smpl_leg = np.linalg.norm(SMPL_TPOSE_JOINTS[4] - SMPL_TPOSE_JOINTS[1]) + np.linalg.norm(
        SMPL_TPOSE_JOINTS[7] - SMPL_TPOSE_JOINTS[4]
    )
    anny_leg = np.linalg.norm(anny_joints[4] - anny_joints[1]) + np.linalg.norm(anny_joints[7] - anny_joints[4])
    _, world_rotations = smpl_forward_kinematics(clip.global_orient, clip.body_pose, SMPL_TPOSE_JOINTS, clip.transl)
    pelvis = clip.transl + SMPL_TEMPLATE_PELVIS  # SMPL turns the root about its own rest position

    drivers = np.array([driving_joint(label) for label in bone_labels])
    # G_b = Rw[j] C[j] W0^T: rest-to-posed world rotation of each bone; D_b = G_b R_b.
    to_canonical = corrections @ SMPL_CANONICAL_TO_WORLD.T  # (24, 3, 3)
    g = world_rotations[:, drivers] @ to_canonical[drivers]  # (T, bones, 3, 3)
    pose = np.zeros((clip.num_frames, len(bone_labels), 4, 4))
    pose[..., :3, :3] = g @ rest_bone_poses[:, :3, :3]
    pose[..., 3, 3] = 1.0
    pose[:, 0, :3, 3] = pelvis * (anny_leg / smpl_leg)
    return pose
