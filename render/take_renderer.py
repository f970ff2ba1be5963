"""Render one take (``crocohuman.core.take.Take``): one body, one motion clip of T time steps, seen by N
synchronised cameras."""

from __future__ import annotations

import numpy as np
import scipy.sparse

from crocohuman.core.conventions import HAND_SIDES
from crocohuman.core.rotations import cross
from crocohuman.core.take import Take
from crocohuman.render.body.base import Body
from crocohuman.render.camera_rig import RigConfig, sample_rig
from crocohuman.render.hand_rig import HandRig
from crocohuman.render.raster import Lighting, MeshBuffers, Rasterizer, faces_in_view, soup_corners, world_to_clip

# Joints a scene camera must see past the furniture: pelvis, head, wrists, ankles (SMPL order).
VISIBLE_JOINTS = [0, 15, 20, 21, 7, 8]


class VertexNormals:
    """Area-weighted unit vertex normals (V, 3) of meshes with fixed ``faces`` (F, 3).

    Summing face normals into vertices is one product with the sparse vertex-face incidence
    matrix, built once per topology; coordinates are gathered as planar rows (3, V), since rows
    of three values make numpy loop per vertex. ~1.5 ms per anny frame instead of ~5 ms with
    bincounts.
    """

    def __init__(self, faces: np.ndarray):
        self.faces = faces
        self.corners = np.ascontiguousarray(faces.T)  # (3, F)
        self.incidence = None  # (V, F), made at the first call, when V is known

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        if self.incidence is None or self.incidence.shape[0] != len(vertices):
            count = len(self.faces)
            self.incidence = scipy.sparse.csr_matrix(
                (np.ones(3 * count), (self.faces.reshape(-1), np.repeat(np.arange(count), 3))),
                shape=(len(vertices), count),
            )
        p = np.ascontiguousarray(vertices.T, np.float64)
        f0, f1, f2 = (p.take(corner, axis=1) for corner in self.corners)
        normals = self.incidence @ cross(f1 - f0, f2 - f0, axis=0).T
        length = np.sqrt(np.einsum("ij,ij->i", normals, normals))
        return normals / np.maximum(length, 1e-12)[:, None]


def soften_edges(image: np.ndarray, mask: np.ndarray) -> None:
    """Anti-alias the silhouette in place: pixels on either side of the mask border (4-neighbours)
    take the mean of their 3x3 neighbourhood (edges mirrored), rounded.

    The rasterizer does no multisampling (labels must stay exact), so colour edges would be
    jagged; only the colour image is touched, never the labels. Only the border pixels are
    computed, gathered from the flat image: whole-image filters (or padding the image) cost more
    than rasterizing.
    """
    padded = np.pad(mask, 1)
    neighbours = (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:])
    inside, outside = mask.copy(), mask.copy()
    for neighbour in neighbours:
        inside &= neighbour
        outside |= neighbour
    rows, cols = np.nonzero(outside & ~inside)
    height, width = mask.shape
    flat = image.reshape(height * width, -1)
    above, below = np.maximum(rows - 1, 0) * width, np.minimum(rows + 1, height - 1) * width  # edges mirrored
    left, right = np.maximum(cols - 1, 0), np.minimum(cols + 1, width - 1)
    total = np.zeros((len(rows), flat.shape[1]), np.uint16)
    for row in (above, rows * width, below):
        for col in (left, cols, right):
            total += flat[row + col]
    image[rows, cols] = (2 * total + 9) // 18  # the mean rounded to nearest (an integer sum over 9: no ties)


def sample_lighting(rng: np.random.Generator) -> Lighting:
    """Random key and fill lights and a tinted sky/ground ambient, varied per take."""

    def direction(elevation_range):
        azimuth, elevation = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(*elevation_range))
        return np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])

    warmth = rng.uniform(-0.15, 0.15)
    tint = np.array([1 + warmth, 1.0, 1 - warmth])
    key = rng.uniform(0.5, 1.3)
    return Lighting(
        directions=np.stack([direction((15, 75)), direction((-10, 40))]),
        colors=np.stack([key * tint, rng.uniform(0.0, 0.4) * tint[::-1]]),
        sky=rng.uniform(0.15, 0.45) * tint,
        ground=rng.uniform(0.05, 0.2) * np.ones(3),
        specular=rng.uniform(0.0, 0.25),
    )


class TakeRenderer:
    """Holds what is expensive to build (body model, GL context) across the takes of a worker."""

    def __init__(
        self,
        body: Body,
        motion,
        background,
        rig: RigConfig,
        width: int,
        height: int,
        frames: int,
        fps: float,
        scene=None,
        focus: str = "body",
    ):
        self.body, self.motion, self.background = body, motion, background
        self.rig, self.width, self.height, self.frames, self.fps = rig, width, height, frames, fps
        self.scene = scene
        self.raster = Rasterizer(width, height)
        topology = body.topology
        self.hand_rig = HandRig(topology) if focus == "hands" else None  # close-ups of the hands instead of the body
        self.faces = topology.faces
        self.face_corners = np.ascontiguousarray(topology.faces.T, np.intp)  # (3, F), for faces_in_view
        self.normals = VertexNormals(topology.faces)
        labels = np.concatenate(
            [np.repeat(topology.face_parts[:, None, None].astype(np.float32), 3, axis=1), topology.face_iuv], -1
        )
        blank = np.zeros((1, 1, 3), np.uint8)  # each take sets its body's texture
        self.raster.set_mesh(
            "person",
            MeshBuffers(topology.face_uvs.reshape(-1, 2), labels.reshape(-1, 3), blank, closed=topology.closed),
        )
        if scene is not None:
            self.raster.set_mesh("scene", scene.mesh_buffers())
            self.raster.update_mesh("scene", scene.positions, scene.normals)

    def render(self, rng: np.random.Generator) -> Take:
        """Draw one take (body, clip, placement, cameras, lights, backgrounds) and render every view."""
        # One stream per factor: changing how one factor is drawn leaves the others as they were.
        body_rng, motion_rng, place_rng, camera_rng, light_rng, background_rng = rng.spawn(6)
        identity = self.body.sample_identity(body_rng)
        clip = self.motion.sample_clip(motion_rng, self.frames, self.fps)
        posed = self.body.pose(identity, clip)
        vertices, joints, offset = self._stand(posed, place_rng)
        hands = None if posed.hand_joints is None else posed.hand_joints + offset
        if self.hand_rig is None:
            cameras, framed = self._cameras(vertices, joints, camera_rng), None
        else:
            cameras, framed = self.hand_rig.sample(camera_rng, self.rig, vertices, hands, self.width, self.height)
        lighting = sample_lighting(light_rng)
        rgb, labels = self._render_views(identity, vertices, cameras, lighting, background_rng)
        take = self._take(identity, posed, clip, offset, joints, hands, cameras, rgb, labels)
        if framed is not None:
            take.meta["framed_hands"] = [HAND_SIDES[side] for side in framed]
        return take

    def _stand(self, posed, place_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vertices and joints stood on the ground (z = 0), at a drawn spot of the scene if there is one."""
        vertices = posed.vertices.astype(np.float64)
        joints = posed.joints.astype(np.float64)
        offset = np.array([-vertices[..., 0].mean(), -vertices[..., 1].mean(), -vertices[..., 2].min()])
        if self.scene is not None:
            spot = self.scene.sample_standing_spot(place_rng)
            offset += np.array([spot[0], spot[1], self.scene.floor_z])
        return vertices + offset, joints + offset, offset

    def _cameras(self, vertices: np.ndarray, joints: np.ndarray, camera_rng: np.random.Generator) -> list:
        """The take's cameras, framing the body; in a scene, placed where they see the body past the furniture."""
        eyes = None
        if self.scene is not None:
            body_points = joints[[0, -1]][:, VISIBLE_JOINTS].reshape(-1, 3)
            eyes = np.stack([self.scene.sample_camera_position(camera_rng, body_points) for _ in range(self.rig.views)])
        return sample_rig(camera_rng, self.rig, vertices.reshape(-1, 3), self.width, self.height, eyes)

    def _render_views(
        self, identity, vertices: np.ndarray, cameras: list, lighting: Lighting, background_rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Colour (T, N, H, W, 3) uint8 over the backgrounds, and labels (T, N, H, W, 4) uint16:
        part (the I of IUV), U, V, depth in mm."""
        self.raster.set_texture("person", identity.texture)
        backgrounds = (
            None
            if self.scene is not None
            else [self.background.sample(background_rng, self.height, self.width) for _ in cameras]
        )
        shape = (self.frames, len(cameras), self.height, self.width)
        rgb = np.zeros((*shape, 3), np.uint8)
        labels = np.zeros((*shape, 4), np.uint16)
        others = ("scene",) if self.scene is not None else ()
        corner_vertices = self.faces.reshape(-1)  # the vertex of each soup corner
        # A hand close-up sees a fifth of the body: its views draw only the faces in view. A body's views
        # frame all of it, so there the test would find every face.
        in_view = [None] * len(cameras)
        if self.hand_rig is not None:
            frames = np.ascontiguousarray(vertices.transpose(0, 2, 1), np.float32)  # (T, 3, V)
            in_view = [
                soup_corners(
                    faces_in_view(
                        world_to_clip(c.intrinsics, c.extrinsics, self.width, self.height), frames, self.face_corners
                    )
                )
                for c in cameras
            ]
        for t in range(self.frames):
            normals = self.normals(vertices[t])
            self.raster.update_mesh(  # float32 first, and take: a fancy index of rows of 3 is 4x slower
                "person",
                np.take(vertices[t].astype(np.float32), corner_vertices, axis=0),
                np.take(normals.astype(np.float32), corner_vertices, axis=0),
            )
            for v, camera in enumerate(cameras):
                color, labels[t, v] = self.raster.render(
                    camera.intrinsics, camera.extrinsics, lighting, others=others, corners=in_view[v]
                )
                mask = labels[t, v, ..., 0] > 0
                if backgrounds is None:
                    rgb[t, v] = color
                else:  # the colour is 0 off the person: (background AND 0xFF off it, 0 on it) OR colour
                    np.bitwise_and(backgrounds[v], (mask.view(np.uint8) - np.uint8(1))[..., None], out=rgb[t, v])
                    rgb[t, v] |= color
                soften_edges(rgb[t, v], mask)
        return rgb, labels

    def _take(self, identity, posed, clip, offset, joints, hands, cameras, rgb, labels) -> Take:
        """The rendered views and their targets, assembled into a take."""
        joints2d = np.stack([camera.project(joints)[0] for camera in cameras], 1)
        hands2d = None if hands is None else np.stack([camera.project(hands)[0] for camera in cameras], 1)
        return Take(
            rgb=rgb,
            parts=labels[..., 0].astype(np.uint8),
            iuv=labels[..., :3].astype(np.uint8),
            depth=labels[..., 3].astype(np.float32) / 1000.0,
            joints3d=joints.astype(np.float32),
            joints2d=joints2d.astype(np.float32),
            hand_joints3d=None if hands is None else hands.astype(np.float32),
            hand_joints2d=None if hands is None else hands2d.astype(np.float32),
            intrinsics=np.stack([c.intrinsics for c in cameras]).astype(np.float32),
            extrinsics=np.stack([c.extrinsics for c in cameras]).astype(np.float32),
            body_params={
                **identity.params,
                **posed.params,
                "transl": clip.transl.astype(np.float32),
                "ground_offset": offset.astype(np.float32),
            },
            meta={
                "body": self.body.name,
                "identity": identity.description,
                "motion": clip.source,
                "fps": self.fps,
                "frames": self.frames,
                "views": len(cameras),
                "width": self.width,
                "height": self.height,
            },
        )
