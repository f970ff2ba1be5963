"""anny's 'world-orient' forward kinematics and linear blend skinning in numpy, on anny's own rig.

anny poses a take in ~2 ms of torch and warp calls (its chain product level by level, then its
skinning kernel), which a take of two images pays once; here the same formulas cost ~0.5 ms. In
'world-orient' every bone carries its world rotation ``D`` and its head follows its parent, so with
``G = D R^T`` (``R`` the rest orientation, ``h`` the rest head) a bone's transform is ``[G | t]`` with
``t_c = t_p + (G_p - G_c) h_c``, and ``t_0 = d_0 - G_0 h_0`` at the root: the translations are the sums
of those steps along each bone's path from the root, one product with the bones' ancestry matrix.
``tests/test_anny_skinning.py`` checks the transforms, bone poses and vertices against anny's.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse


class AnnySkinning:
    """Forward kinematics and skinning of one anny rig (bone tree and vertex weights, fixed)."""

    def __init__(self, model):
        parents = np.asarray(model.bone_parents)
        bones = len(parents)
        self.parents = np.maximum(parents, 0)  # the root's own index: its step is replaced by t_0
        self.ancestry = np.zeros((bones, bones))  # [c, a]: a is c or one of its ancestors, root excluded
        for bone in range(1, bones):
            node = bone
            while node > 0:
                self.ancestry[bone, node] = 1.0
                node = parents[node]
        weights = model.vertex_bone_weights.double().numpy()  # (V, K)
        indices = model.vertex_bone_indices.numpy()  # (V, K)
        rows = np.repeat(np.arange(len(weights)), weights.shape[1])
        self.weights = scipy.sparse.csr_matrix((weights.ravel(), (rows, indices.ravel())), shape=(len(weights), bones))

    def transforms(
        self, world_rotations: np.ndarray, root: np.ndarray, rest_bone_poses: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per frame and bone, the rest-to-posed rotation (T, B, 3, 3) and translation (T, B, 3), from the
        bones' world rotations (T, B, 3, 3), the root head's position (T, 3) and the rest poses (B, 4, 4)."""
        rest_rotations, heads = rest_bone_poses[:, :3, :3], rest_bone_poses[:, :3, 3]
        g = world_rotations @ np.swapaxes(rest_rotations, -1, -2)
        steps = np.einsum("tbij,bj->tbi", g[:, self.parents] - g, heads)  # (G_p - G_c) h_c
        root_translation = root - g[:, 0] @ heads[0]
        return g, root_translation[:, None] + np.einsum("ca,tai->tci", self.ancestry, steps)

    @staticmethod
    def heads(rotations: np.ndarray, translations: np.ndarray, rest_bone_poses: np.ndarray) -> np.ndarray:
        """Posed bone heads (T, B, 3): each rest head moved by its own transform."""
        return np.einsum("tbij,bj->tbi", rotations, rest_bone_poses[:, :3, 3]) + translations

    def skin(self, rest_vertices: np.ndarray, rotations: np.ndarray, translations: np.ndarray) -> np.ndarray:
        """Posed vertices (T, V, 3) of ``rest_vertices`` (V, 3): each the weighted sum of its bones' transforms
        (weights times the bones' 12 numbers, one sparse product for all frames)."""
        frames, bones = rotations.shape[:2]
        per_bone = np.concatenate([rotations.reshape(frames, bones, 9), translations], -1)  # (T, B, 12)
        blended = self.weights @ per_bone.transpose(1, 0, 2).reshape(bones, frames * 12)  # (V, T * 12)
        blended = blended.reshape(len(rest_vertices), frames, 12).transpose(1, 2, 0)  # (T, 12, V)
        x, y, z = rest_vertices.T
        rows = [blended[:, 3 * i] * x + blended[:, 3 * i + 1] * y + blended[:, 3 * i + 2] * z for i in range(3)]
        return np.stack([row + blended[:, 9 + i] for i, row in enumerate(rows)], axis=-1)
