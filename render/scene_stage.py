"""A 3D scene as the stage of a take: its GL buffers and where the person and cameras go."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crocohuman.render.background.scene import SceneMesh, sample_camera_position, sample_standing_spot
from crocohuman.render.raster import MeshBuffers


@dataclass
class SceneStage:
    """Wraps a loaded ``SceneMesh`` with what ``TakeRenderer`` asks of a scene."""

    mesh: SceneMesh
    camera_distance: tuple[float, float] = (1.5, 4.0)
    camera_height: tuple[float, float] = (0.5, 2.2)

    @property
    def floor_z(self) -> float:
        return self.mesh.floor_z

    @property
    def positions(self) -> np.ndarray:
        return self.mesh.positions

    @property
    def normals(self) -> np.ndarray:
        return self.mesh.normals

    def mesh_buffers(self) -> MeshBuffers:
        corners = len(self.mesh.positions)
        labels = np.zeros((corners, 3), np.float32)  # the scene is never the person
        if self.mesh.texture is not None and self.mesh.uvs is not None:
            return MeshBuffers(self.mesh.uvs, labels, self.mesh.texture)
        white = np.full((1, 1, 3), 255, np.uint8)
        return MeshBuffers(np.zeros((corners, 2), np.float32), labels, white, colors=self.mesh.colors)

    def sample_standing_spot(self, rng: np.random.Generator) -> tuple[float, float]:
        return sample_standing_spot(self.mesh, rng)

    def sample_camera_position(self, rng: np.random.Generator, target: np.ndarray) -> np.ndarray:
        return sample_camera_position(self.mesh, rng, target, self.camera_distance, self.camera_height)
