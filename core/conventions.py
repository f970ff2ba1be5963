"""Conventions shared by everything croco-human writes and reads, stated once.

World frame
    Right-handed, **Z up**, metres (as AMASS and anny). The ground is the plane z = 0; the person
    of a take stands on it near the origin.

Camera (OpenCV)
    Camera axes: x right, y down, z forward. ``extrinsics`` is the 3x4 world-to-camera matrix
    ``[R | t]`` with ``x_cam = R @ x_world + t``. ``intrinsics`` is the 3x3 ``K``; a point
    projects to ``(u, v) = (K @ x_cam)[:2] / z``, where pixel (0, 0) is the *centre* of the
    top-left pixel, so the image spans [-0.5, W - 0.5] x [-0.5, H - 0.5].

Images
    8-bit sRGB, rows top to bottom, shape (H, W, 3). Depth is float32 metres along the camera z
    axis, 0 where there is no person. Part ids follow DensePose's 24 fine parts (0 = background).

Body pose
    SMPL conventions: axis-angle rotations, the 24-joint SMPL kinematic tree below. A motion's
    ``global_orient`` rotates the SMPL canonical body frame (Y up, facing +Z, left = +X) into the
    Z-up world, exactly as in AMASS.

Hands
    MANO's 21 joints (16 kinematic + 5 fingertip vertices) and FreiHAND's keypoint order, with the
    map between them, so the renderer, the hand head and the scorer agree on one order.
"""

from __future__ import annotations

import numpy as np

# fmt: off
SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
SMPL_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)
# fmt: on
# The joint each joint becomes in a mirror image (left and right swapped), for flip augmentation.
SMPL_MIRROR: tuple[int, ...] = tuple(
    SMPL_JOINT_NAMES.index(name.replace("left_", "@").replace("right_", "left_").replace("@", "right_"))
    for name in SMPL_JOINT_NAMES
)
NUM_BODY_JOINTS = 21  # SMPL-H / SMPL-X body joints after the pelvis (AMASS ``pose_body``)
ANNY_PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")  # anny's shape sliders, in [0, 1]

# An idealised SMPL T-pose skeleton (our rounded numbers, metres, SMPL canonical frame: Y up,
# facing +Z, left = +X). Used for the directions of rest bones (retargeting) and for the
# built-in motion sampler; real SMPL bodies compute their own joints from the model file.
SMPL_TPOSE_JOINTS = np.array(
    [
        [0.00, 0.00, 0.00],  # pelvis
        [0.07, -0.09, 0.00],  # left_hip
        [-0.07, -0.09, 0.00],  # right_hip
        [0.00, 0.11, -0.02],  # spine1
        [0.10, -0.48, 0.00],  # left_knee
        [-0.10, -0.48, 0.00],  # right_knee
        [0.00, 0.25, 0.00],  # spine2
        [0.09, -0.88, -0.04],  # left_ankle
        [-0.09, -0.88, -0.04],  # right_ankle
        [0.00, 0.30, 0.00],  # spine3
        [0.11, -0.94, 0.09],  # left_foot
        [-0.11, -0.94, 0.09],  # right_foot
        [0.00, 0.52, -0.03],  # neck
        [0.08, 0.42, -0.03],  # left_collar
        [-0.08, 0.42, -0.03],  # right_collar
        [0.00, 0.60, 0.02],  # head
        [0.17, 0.45, -0.04],  # left_shoulder
        [-0.17, 0.45, -0.04],  # right_shoulder
        [0.43, 0.44, -0.05],  # left_elbow
        [-0.43, 0.44, -0.05],  # right_elbow
        [0.68, 0.44, -0.05],  # left_wrist
        [-0.68, 0.44, -0.05],  # right_wrist
        [0.775, 0.438, -0.053],  # left_hand: the wrist plus MANO_TPOSE_RIGHT_HAND's middle1, mirrored
        [-0.775, 0.438, -0.053],  # right_hand
    ],
    dtype=np.float64,
)

# The Y-up to Z-up rotation, (x, y, z) -> (x, -z, y): it takes the SMPL canonical body frame
# (Y up, facing +Z) to the Z-up world, facing -Y, and Y-up scene files (glTF, most .obj/.ply) to
# the world alike. One value, one name.
SMPL_CANONICAL_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

# DensePose fine parts, index 1..24 (0 = background), as in DensePose-COCO's ``dp_I``.
# fmt: off
DENSEPOSE_PART_NAMES: tuple[str, ...] = (
    "background",
    "torso_back", "torso_front", "right_hand", "left_hand", "left_foot", "right_foot",
    "upper_leg_right_back", "upper_leg_left_back", "upper_leg_right_front", "upper_leg_left_front",
    "lower_leg_right_back", "lower_leg_left_back", "lower_leg_right_front", "lower_leg_left_front",
    "upper_arm_left_front", "upper_arm_right_front", "upper_arm_left_back", "upper_arm_right_back",
    "lower_arm_left_front", "lower_arm_right_front", "lower_arm_left_back", "lower_arm_right_back",
    "head_right", "head_left",
)
# fmt: on
NUM_PARTS = 24

# Body-model genders, and the integer codes batches carry (3DPW's 'm'/'f' read as male/female).
GENDERS: tuple[str, ...] = ("neutral", "male", "female")
GENDER_CODES: dict[str, int] = {"neutral": 0, "male": 1, "m": 1, "female": 2, "f": 2}
GENDER_OF_CODE: dict[int, str] = dict(enumerate(GENDERS))

# MANO / SMPL-H / SMPL-X finger order (smplx's ``joint_names``), and the fingertips thumb to pinky.
MANO_FINGERS: tuple[str, ...] = ("index", "middle", "pinky", "ring", "thumb")
MANO_TIPS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
HAND_SIDES: tuple[str, ...] = ("left", "right")  # hand arrays (..., 2, ...) hold the left hand, then the right
# The DensePose part of each hand, in ``HAND_SIDES`` order (left 4, right 3): where a hand's pixels are.
HAND_PART_IDS: tuple[int, ...] = tuple(DENSEPOSE_PART_NAMES.index(f"{side}_hand") for side in HAND_SIDES)
# A hand pose (..., 2, 15, 3): per side, the 15 finger joints of SMPL-H / MANO in this order, axis-angle
# rotations relative to the parent joint in the SMPL canonical frame, zeros = flat hand (AMASS's ``poses[66:156]``).
MANO_HAND_JOINT_NAMES: tuple[str, ...] = tuple(f"{finger}{k}" for finger in MANO_FINGERS for k in (1, 2, 3))
NUM_HAND_JOINTS = len(MANO_HAND_JOINT_NAMES)
# Hand keypoints of our labels (``hand_joints3d``/``hand_joints2d``), FreiHAND's and InterHand2.6M's order:
# wrist, then thumb to pinky, each from the palm outwards ending with the tip (its "4").
HAND_KEYPOINT_NAMES: tuple[str, ...] = (
    "wrist",
    *(name for finger in MANO_TIPS for name in (f"{finger}1", f"{finger}2", f"{finger}3", f"{finger}_tip")),
)
# Each hand keypoint's parent in that order: a finger's joint 1 hangs from the wrist, the others from the one before.
HAND_KEYPOINT_PARENTS: tuple[int, ...] = (-1, *(0 if k % 4 == 1 else k - 1 for k in range(1, len(HAND_KEYPOINT_NAMES))))
MANO_JOINT_NAMES: tuple[str, ...] = (
    "right_wrist",
    *(f"right_{finger}{k}" for finger in MANO_FINGERS for k in (1, 2, 3)),
    *(f"right_{tip}_tip" for tip in MANO_TIPS),
)
# FreiHAND's keypoint order (its toolbox, ``utils/mano_utils.py``): ours, for its right hands.
FREIHAND_JOINT_NAMES: tuple[str, ...] = tuple(f"right_{name}" for name in HAND_KEYPOINT_NAMES)
# MANO's 21 joints taken in FreiHAND's order: freihand_joints = mano_joints[:, MANO_TO_FREIHAND]
MANO_TO_FREIHAND: list[int] = [MANO_JOINT_NAMES.index(name) for name in FREIHAND_JOINT_NAMES]
# The fingertips of FreiHAND's annotations, thumb to pinky: the mesh vertices its toolbox takes
# (utils/mano_utils.py, kpId2vertices); smplx's MANO tips differ for ring and pinky (554, 671).
FREIHAND_TIP_VERTICES: tuple[int, ...] = (744, 320, 443, 555, 672)

# An idealised flat right hand (our rounded numbers after MANO's mean hand, metres, SMPL canonical
# frame, relative to the wrist): fingers along -X, palm facing down (-Y), thumb forward (+Z). Rows in
# ``MANO_JOINT_NAMES`` order (wrist, 15 joints, tips; ``MANO_TO_FREIHAND`` gives our label order). The
# left hand is its mirror image (x negated). Used, like ``SMPL_TPOSE_JOINTS``, for rest bone
# directions (retargeting) and by the built-in finger sampler.
# fmt: off
MANO_TPOSE_RIGHT_HAND = np.array(
    [
        [0.000, 0.000, 0.000],  # wrist
        [-0.088, -0.005, 0.021], [-0.121, -0.001, 0.023], [-0.143, -0.003, 0.023],  # index1-3
        [-0.095, -0.002, -0.003], [-0.126, 0.000, -0.007], [-0.150, -0.001, -0.010],  # middle1-3
        [-0.071, -0.010, -0.043], [-0.087, -0.009, -0.055], [-0.102, -0.010, -0.066],  # pinky1-3
        [-0.082, -0.004, -0.025], [-0.113, -0.004, -0.032], [-0.137, -0.005, -0.037],  # ring1-3
        [-0.024, -0.016, 0.027], [-0.046, -0.017, 0.044], [-0.065, -0.019, 0.062],  # thumb1-3
        [-0.085, -0.020, 0.078], [-0.165, -0.004, 0.023], [-0.174, -0.002, -0.012],  # thumb, index, middle tips
        [-0.160, -0.006, -0.041], [-0.118, -0.011, -0.076],  # ring, pinky tips
    ],
    dtype=np.float64,
)
# fmt: on
MANO_HAND_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)  # wrist + 15 joints
# Row of each tip's last joint in the 16-joint hand (thumb3, index3, middle3, ring3, pinky3).
MANO_TIP_PARENTS: tuple[int, ...] = tuple(1 + MANO_HAND_JOINT_NAMES.index(f"{tip}3") for tip in MANO_TIPS)
