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

    def sample_camera_position(self, rng: np.random.Generator, body_points: np.ndarray, tries: int = 30) -> np.ndarray:
        """A camera position that sees the body's centre and, if it can be found in ``tries``
        draws, every one of ``body_points`` (head, hands, feet...) past the scene's furniture."""
        centre = body_points.mean(0)
        for _ in range(tries):
            eye = sample_camera_position(self.mesh, rng, centre, self.camera_distance, self.camera_height)
            if all(self._clear(eye, point) for point in body_points):
                break
        return eye

    def _clear(self, eye: np.ndarray, point: np.ndarray, skip_end: float = 0.1) -> bool:
        """Whether no occupied voxel lies between ``eye`` and ``point`` (the last ``skip_end``
        metres, inside the body, are not checked)."""
        grid = self.mesh.occupancy()
        length = np.linalg.norm(point - eye)
        steps = np.arange(grid.cell / 2, length - skip_end, grid.cell / 2) / length
        return not grid.lookup(grid.occupied, eye + steps[:, None] * (point - eye)).any()
