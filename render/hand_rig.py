"""Close-up cameras around one or both hands (``--focus hands``), InterHand2.6M-style: synchronised
views from anywhere on a sphere around the hand (palm, back, side, from below), none cut off.

A take frames one hand, drawn at random, or both when they stay close together all along (a clap,
clasped hands). The framed points are the hand's skin (the vertices of its DensePose hand part)
and its 21 keypoints over all T frames, so no keypoint and no hand pixel ever leaves the image.
A viewpoint is redrawn when its camera is too close to the body (or inside it) or when the body
hides most of the hand's keypoints (a ray test against the rest of the mesh), deterministically
from the take's camera stream.
"""

from __future__ import annotations

import numpy as np

from crocohuman.core.conventions import DENSEPOSE_PART_NAMES, HAND_SIDES
from crocohuman.core.rotations import cross
from crocohuman.render.body.base import BodyTopology
from crocohuman.render.camera_rig import Camera, RigConfig, fit_focal, frame_camera, look_at

HAND_PARTS = tuple(DENSEPOSE_PART_NAMES.index(f"{side}_hand") for side in HAND_SIDES)  # left 4, right 3
INTERACTION_P = 1 / 3  # share of a hand-focused set's clips that bring both hands together
HAND_FILL = (0.85, 0.95)  # fraction of the image's half-size the hands' extent takes
BOTH_HANDS_WITHIN_M = 0.3  # hand centres closer than this in every frame: frame both
CLEARANCE_M = 0.1  # no body vertex this close to a camera
MIN_VISIBLE = 0.5  # share of the framed keypoints the body may not hide, in every tested frame
TESTED_FRAMES = 3  # frames (evenly spread) the visibility test looks at
TRIES = 16  # viewpoints drawn per view before the least occluded one is kept
_RAY_STOP_M = 0.01  # a ray stops this short of its keypoint: the hand's own skin around it is not an occluder


def framed_sides(rng: np.random.Generator, hand_joints: np.ndarray) -> tuple[int, ...]:
    """The hand sides a take frames: both when they stay close in every frame, else one drawn at random."""
    centres = hand_joints.mean(axis=2)  # (T, 2, 3)
    if np.linalg.norm(centres[:, 0] - centres[:, 1], axis=-1).max() < BOTH_HANDS_WITHIN_M:
        return tuple(range(len(HAND_SIDES)))
    return (int(rng.integers(len(HAND_SIDES))),)


class Occluders:
    """Triangles (F, 3, 3) that may hide a point, with bounding boxes per triangle and per run of
    ``GROUP`` consecutive triangles (neighbours on a mesh), computed once: a ray test then compares
    a few hundred group boxes, then the boxes of the near groups' triangles, before intersecting the
    few triangles near the rays."""

    GROUP = 64

    def __init__(self, triangles: np.ndarray):
        self.triangles = triangles
        a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
        self.low, self.high = np.minimum(np.minimum(a, b), c), np.maximum(np.maximum(a, b), c)
        pad = -len(triangles) % self.GROUP  # the last group repeats its last triangle
        low, high = (np.concatenate([x, np.repeat(x[-1:], pad, 0)]) for x in (self.low, self.high))
        self.group_low = low.reshape(-1, self.GROUP, 3).min(1)
        self.group_high = high.reshape(-1, self.GROUP, 3).max(1)

    def blocked(self, eye: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(K,) whether the segment from ``eye`` to each of ``points`` (K, 3) crosses a triangle
        before reaching it (Moller-Trumbore, on the triangles whose box meets the segments' box)."""
        lo, hi = np.minimum(eye, points.min(0)), np.maximum(eye, points.max(0))
        groups = np.flatnonzero(((self.group_high >= lo) & (self.group_low <= hi)).all(-1))
        candidates = (groups[:, None] * self.GROUP + np.arange(self.GROUP)).ravel()
        candidates = candidates[candidates < len(self.triangles)]
        near = candidates[((self.high[candidates] >= lo) & (self.low[candidates] <= hi)).all(-1)]
        triangles = self.triangles[near]
        corner, e1, e2 = triangles[:, 0], triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
        rays = points - eye  # (K, 3)
        p = cross(rays[:, None], e2[None])  # (K, F, 3)
        det = np.einsum("kfc,fc->kf", p, e1)
        inverse = 1.0 / np.where(np.abs(det) < 1e-12, np.inf, det)
        s = eye - corner  # (F, 3)
        q = cross(s, e1)  # (F, 3)
        u = np.einsum("kfc,fc->kf", p, s) * inverse
        v = (rays @ q.T) * inverse
        along = np.einsum("fc,fc->f", e2, q)[None] * inverse  # hit distance in units of the ray's length
        stop = 1.0 - _RAY_STOP_M / np.linalg.norm(rays, axis=-1, keepdims=True)
        return ((u >= 0) & (v >= 0) & (u + v <= 1) & (along > 0) & (along < stop)).any(-1)


class HandRig:
    """Which mesh faces are each hand's, kept across the takes of a renderer."""

    def __init__(self, topology: BodyTopology):
        self.faces = topology.faces
        self.hand_faces = [topology.face_parts == part for part in HAND_PARTS]
        self.hand_vertices = [np.unique(topology.faces[mask]) for mask in self.hand_faces]

    def sample(
        self,
        rng: np.random.Generator,
        rig: RigConfig,
        vertices: np.ndarray,
        hand_joints: np.ndarray,
        width: int,
        height: int,
    ) -> tuple[list[Camera], tuple[int, ...]]:
        """``rig.views`` cameras around the framed hands of a take, and those sides.

        ``vertices`` (T, V, 3) and ``hand_joints`` (T, 2, 21, 3) in the world; of ``rig`` only the
        view count and the focal range apply (directions cover the whole sphere, distance follows).
        """
        sides = framed_sides(rng, hand_joints)
        keypoints = hand_joints[:, list(sides)].reshape(len(vertices), -1, 3)
        skin = np.concatenate([vertices[:, self.hand_vertices[side]] for side in sides], axis=1)
        points = np.concatenate([skin, keypoints], axis=1).reshape(-1, 3)
        points = outline(points)
        target = (points.min(0) + points.max(0)) / 2
        occluder_faces = self.faces[~np.any([self.hand_faces[side] for side in sides], axis=0)]
        frames = np.unique(np.linspace(0, len(vertices) - 1, min(len(vertices), TESTED_FRAMES)).round().astype(int))
        checks = [(Occluders(np.take(vertices[t], occluder_faces, axis=0)), keypoints[t]) for t in frames]
        planar = np.ascontiguousarray(vertices.reshape(-1, 3).T)  # (3, T * V): whole-row passes for the clearance test
        cameras = []
        for _ in range(rig.views):
            best, best_visible = None, -1.0
            for _ in range(TRIES):
                direction = _sphere_direction(rng)
                focal, fill = rng.uniform(*rig.focal) * width, rng.uniform(*HAND_FILL)
                camera = frame_camera(points, direction, target, focal, fill, width, height)
                camera = centred(points, camera, fill, width, height)
                visible = self._visible_share(camera.position, planar, checks)
                if visible > best_visible:
                    best, best_visible = camera, visible
                if visible >= MIN_VISIBLE:
                    break
            cameras.append(best)
        return cameras, sides

    @staticmethod
    def _visible_share(eye: np.ndarray, planar: np.ndarray, checks: list) -> float:
        """The smallest share of unhidden framed keypoints over the tested frames; 0 when the camera
        stands within ``CLEARANCE_M`` of the body (vertices ``planar``, (3, P))."""
        x, y, z = planar[0] - eye[0], planar[1] - eye[1], planar[2] - eye[2]
        if (x * x + y * y + z * z).min() < CLEARANCE_M**2:
            return 0.0
        return min(1.0 - occluders.blocked(eye, keypoints).mean() for occluders, keypoints in checks)


def outline(points: np.ndarray) -> np.ndarray:
    """The corners of the points' convex hull (P, 3), or all points when they are flat: the extremes of
    any perspective image of the points are among them, so framing the hull frames every point."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        return points[ConvexHull(points).vertices]
    except QhullError:
        return points


def centred(points: np.ndarray, camera: Camera, fill: float, width: int, height: int) -> Camera:
    """The camera turned in place to look through the middle of its image box of ``points``, its focal
    fitted to ``fill``: a hand's box is far from its middle's projection seen at a slant, and a centred
    box can be drawn larger."""
    for _ in range(2):
        pixels, _ = camera.project(points)
        x, y = pixels[:, 0], pixels[:, 1]  # per column: numpy reduces (N, 2) along N 20x slower
        ray = np.linalg.solve(camera.intrinsics, [(x.min() + x.max()) / 2, (y.min() + y.max()) / 2, 1.0])
        rotation, translation = camera.extrinsics[:, :3], camera.extrinsics[:, 3]
        aim = rotation.T @ (ray - translation)  # a point on that ray (camera depth 1)
        camera = fit_focal(points, look_at(camera.position, aim), fill, width, height)
    return camera


def _sphere_direction(rng: np.random.Generator) -> np.ndarray:
    """A unit vector uniform on the sphere."""
    z, azimuth = rng.uniform(-1.0, 1.0), rng.uniform(0.0, 2 * np.pi)
    return np.array([np.sqrt(1 - z * z) * np.cos(azimuth), np.sqrt(1 - z * z) * np.sin(azimuth), z])
