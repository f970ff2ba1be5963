"""core's rotations and kinematics serve numpy (renderer, readers) and torch (heads) with one code
path; the torch-only matrix -> axis-angle of the heads (kept for its gradients) must agree with core's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from crocohuman.core.conventions import SMPL_TPOSE_JOINTS
from crocohuman.core.kinematics import forward_kinematics, smpl_forward_kinematics
from crocohuman.core.rotations import axis_angle_to_matrix, cross, matrix_to_axis_angle, rotation_between
from crocohuman.model.rotation6d import matrix_to_axis_angle as torch_matrix_to_axis_angle, smpl_kinematics


def random_rotvecs(rng: np.random.Generator, count: int) -> np.ndarray:
    axes = rng.normal(size=(count, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([rng.uniform(0, math.pi, count - 4), [0.0, 1e-9, math.pi - 1e-6, math.pi - 1e-3]])
    return axes * angles[:, None]


def test_rodrigues_is_one_function_for_numpy_and_torch():
    aa = random_rotvecs(np.random.default_rng(0), 40)
    from_numpy = axis_angle_to_matrix(aa)
    from_torch = axis_angle_to_matrix(torch.from_numpy(aa))
    assert isinstance(from_torch, torch.Tensor) and from_torch.dtype == torch.float64
    np.testing.assert_allclose(from_torch.numpy(), from_numpy, rtol=0, atol=1e-15)
    assert axis_angle_to_matrix(torch.zeros(2, 3, dtype=torch.float32)).dtype == torch.float32


def test_torch_matrix_to_axis_angle_matches_core_including_near_pi():
    aa = random_rotvecs(np.random.default_rng(1), 200)
    rot = axis_angle_to_matrix(aa)
    core = matrix_to_axis_angle(rot)
    heads = torch_matrix_to_axis_angle(torch.from_numpy(rot)).numpy()
    np.testing.assert_allclose(np.linalg.norm(heads, axis=1), np.linalg.norm(core, axis=1), atol=1e-7)
    # at angles near pi, v and -v are nearly the same rotation: compare the rotations they give
    np.testing.assert_allclose(axis_angle_to_matrix(heads), axis_angle_to_matrix(core), atol=1e-7)
    below = np.linalg.norm(aa, axis=1) < math.pi - 1e-2
    np.testing.assert_allclose(heads[below], core[below], atol=1e-9)


def test_one_tree_walk_for_the_renderer_and_the_heads():
    rng = np.random.default_rng(2)
    orient, body = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(3, 21, 3)) * 0.3
    joints, world = smpl_forward_kinematics(orient, body, SMPL_TPOSE_JOINTS)
    torch_joints = smpl_kinematics(
        axis_angle_to_matrix(torch.from_numpy(orient)),
        axis_angle_to_matrix(torch.from_numpy(body)),
        torch.from_numpy(SMPL_TPOSE_JOINTS),
    )
    np.testing.assert_allclose(torch_joints.numpy(), joints, atol=1e-12)
    local = np.concatenate(
        [axis_angle_to_matrix(orient)[:, None], axis_angle_to_matrix(body), np.tile(np.eye(3), (3, 2, 1, 1))], 1
    )
    walked, walked_world = forward_kinematics(local, SMPL_TPOSE_JOINTS)
    np.testing.assert_array_equal(walked, joints)
    np.testing.assert_array_equal(walked_world, world)


def test_rotation_between_turns_one_direction_onto_another():
    for a, b in [
        ([1.0, 0, 0], [0, 1.0, 0]),
        ([0, 0, 2.0], [0, 0, 1.0]),
        ([1.0, 0, 0], [-1.0, 0, 0]),
        ([1.0, 2, 3], [-3.0, 1, 0.5]),
    ]:
        a, b = np.array(a), np.array(b)
        rotation = rotation_between(a, b)
        np.testing.assert_allclose(rotation @ (a / np.linalg.norm(a)), b / np.linalg.norm(b), atol=1e-12)
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)


def test_rotation_between_is_batched_with_its_special_cases_per_row():
    a = np.array([[1.0, 0, 0], [0, 0, 2.0], [1.0, 0, 0], [1.0, 2, 3]])
    b = np.array([[0, 1.0, 0], [0, 0, 1.0], [-1.0, 0, 0], [-3.0, 1, 0.5]])
    batched = rotation_between(a, b)
    assert batched.shape == (4, 3, 3)
    for k in range(4):
        np.testing.assert_allclose(batched[k], rotation_between(a[k], b[k]), atol=1e-15)
    np.testing.assert_allclose(batched[1], np.eye(3), atol=1e-15)  # parallel
    np.testing.assert_allclose(batched[2] @ a[2], b[2], atol=1e-12)  # opposite: half a turn


def test_cross_matches_numpy_along_the_last_axis_and_on_planar_rows():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 5, 3)), rng.normal(size=(5, 3))  # broadcast
    np.testing.assert_array_equal(cross(a, b), np.cross(a, b))
    np.testing.assert_array_equal(cross(a.T, b.T[:, :, None], axis=0), np.cross(a, b).T)
    with pytest.raises(ValueError, match="axis"):
        cross(a, b, axis=1)
