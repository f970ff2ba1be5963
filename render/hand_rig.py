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


class FaceGroups:
    """Faces (F, 3) in runs of ``SIZE`` consecutive ones (neighbours on a mesh), with each run's vertex
    indices (G, K), padded by repeating one: a frame's run boxes then come from a few thousand vertices
    instead of every face's corners."""

    SIZE = 64

    def __init__(self, faces: np.ndarray):
        self.faces = faces
        runs = [np.unique(faces[start : start + self.SIZE]) for start in range(0, len(faces), self.SIZE)]
        width = max(len(run) for run in runs)
        self.vertices = np.stack([np.pad(run, (0, width - len(run)), mode="edge") for run in runs])


class Occluders:
    """The faces of ``groups`` that may hide a point, posed by ``vertices`` (V, 3), with a bounding box
    per run of faces: a ray test compares a few hundred run boxes, then the boxes of the near runs'
    triangles, before intersecting the few triangles near the rays."""

    def __init__(self, vertices: np.ndarray, groups: FaceGroups):
        self.vertices, self.faces = vertices, groups.faces
        coordinates = [row.take(groups.vertices) for row in np.ascontiguousarray(vertices.T)]  # 3 x (G, K)
        self.group_low = np.stack([c.min(1) for c in coordinates], -1)  # (G, 3); 6x faster than (G, K, 3).min(1)
        self.group_high = np.stack([c.max(1) for c in coordinates], -1)

    def blocked(self, eye: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(K,) whether the segment from ``eye`` to each of ``points`` (K, 3) crosses a triangle
        before reaching it (Moller-Trumbore, on the triangles whose box meets the segments' box)."""
        lo, hi = np.minimum(eye, points.min(0)), np.maximum(eye, points.max(0))
        groups = np.flatnonzero(((self.group_high >= lo) & (self.group_low <= hi)).all(-1))
        candidates = (groups[:, None] * FaceGroups.SIZE + np.arange(FaceGroups.SIZE)).ravel()
        a, b, c = self.vertices[self.faces[candidates[candidates < len(self.faces)]].T]  # 3 x (C, 3)
        near = ((np.maximum(np.maximum(a, b), c) >= lo) & (np.minimum(np.minimum(a, b), c) <= hi)).all(-1)
        corner, e1, e2 = a[near], b[near] - a[near], c[near] - a[near]
        rays, s = points - eye, eye - corner  # (K, 3), (F, 3)
        q = cross(s, e1)
        # Moller-Trumbore's triple products, each a ray dotted with a per-triangle vector: three (K, 3) @ (3, F)
        det = rays @ cross(e2, e1).T
        inverse = 1.0 / np.where(np.abs(det) < 1e-12, np.inf, det)
        u = (rays @ cross(e2, s).T) * inverse
        v = (rays @ q.T) * inverse
        along = np.einsum("fc,fc->f", e2, q)[None] * inverse  # hit distance in units of the ray's length
        stop = 1.0 - _RAY_STOP_M / np.linalg.norm(rays, axis=-1, keepdims=True)
        return ((u >= 0) & (v >= 0) & (u + v <= 1) & (along > 0) & (along < stop)).any(-1)


class Clearance:
    """Whether a camera stands within ``CLEARANCE_M`` of any of the points (3, P): the points' runs of
    ``RUN`` have boxes, and only the points of the boxes that near are measured (a few µs, against
    0.3 ms for every point of a take)."""

    RUN = 64

    def __init__(self, planar: np.ndarray):
        pad = -planar.shape[1] % self.RUN
        runs = np.concatenate([planar, np.repeat(planar[:, -1:], pad, 1)], 1).reshape(3, -1, self.RUN)
        self.runs, self.low, self.high = runs, runs.min(-1), runs.max(-1)  # (3, R, RUN), (3, R)

    def too_close(self, eye: np.ndarray) -> bool:
        eye = eye[:, None]
        gap = np.maximum(np.maximum(self.low - eye, eye - self.high), 0.0)  # (3, R)
        near = np.flatnonzero((gap * gap).sum(0) < CLEARANCE_M**2)
        if not len(near):
            return False
        offsets = self.runs[:, near] - eye[..., None]
        return bool(((offsets * offsets).sum(0) < CLEARANCE_M**2).any())


class HandRig:
    """Which mesh faces are each hand's, kept across the takes of a renderer."""

    def __init__(self, topology: BodyTopology):
        self.faces = topology.faces
        self.hand_faces = [topology.face_parts == part for part in HAND_PARTS]
        self.hand_vertices = [np.unique(topology.faces[mask]) for mask in self.hand_faces]
        self._occluders: dict[tuple[int, ...], FaceGroups] = {}  # framed sides -> the faces that may hide them

    def occluder_faces(self, sides: tuple[int, ...]) -> FaceGroups:
        """The faces other than the framed hands', grouped for ray tests (built once per set of sides)."""
        if sides not in self._occluders:
            self._occluders[sides] = FaceGroups(self.faces[~np.any([self.hand_faces[s] for s in sides], axis=0)])
        return self._occluders[sides]

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
        groups = self.occluder_faces(sides)
        frames = np.unique(np.linspace(0, len(vertices) - 1, min(len(vertices), TESTED_FRAMES)).round().astype(int))
        checks = [(Occluders(vertices[t], groups), keypoints[t]) for t in frames]
        clearance = Clearance(np.ascontiguousarray(vertices.reshape(-1, 3).T))  # (3, T * V)
        cameras = []
        for _ in range(rig.views):
            best, best_visible = None, -1.0
            for _ in range(TRIES):
                direction = _sphere_direction(rng)
                focal, fill = rng.uniform(*rig.focal) * width, rng.uniform(*HAND_FILL)
                camera = frame_camera(points, direction, target, focal, fill, width, height)
                camera = centred(points, camera, fill, width, height)
                visible = _visible_share(camera.position, clearance, checks, best_visible)
                if visible > best_visible:
                    best, best_visible = camera, visible
                if visible >= MIN_VISIBLE:
                    break
            cameras.append(best)
        return cameras, sides


def _visible_share(eye: np.ndarray, clearance: Clearance, checks: list, floor: float) -> float:
    """The smallest share of unhidden framed keypoints over the tested frames; 0 when the camera stands
    within ``CLEARANCE_M`` of the body. The frames stop once the share is down to ``floor`` (the best
    viewpoint's so far), which this one then cannot beat."""
    if clearance.too_close(eye):
        return 0.0
    visible = 1.0
    for occluders, keypoints in checks:
        visible = min(visible, 1.0 - occluders.blocked(eye, keypoints).mean())
        if visible <= floor:
            break
    return visible


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
