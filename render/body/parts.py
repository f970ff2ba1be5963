"""DensePose-style labels for any body mesh: 24 fine parts and per-part (U, V) charts.

A body only has to say which SMPL joint drives each vertex (its dominant skinning joint) and
where its 24 SMPL joints sit at rest; the same rules then label SMPL, SMPL-H/X and anny alike.
Each coarse segment becomes DensePose's fine parts by splitting it front/back (torso, limbs) or
right/left (head). Each part gets a chart: V runs along the segment's bone axis (0 at its
proximal end), U around it, so (I, U, V) names a surface point the way DensePose's IUV does.
Rest meshes are in the Z-up world facing -Y (``conventions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crocohuman.core.conventions import NUM_PARTS

FORWARD = np.array([0.0, -1.0, 0.0])  # the rest body faces -Y
LEFT = np.array([1.0, 0.0, 0.0])  # the person's left is +X
UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class Segment:
    """A coarse DensePose segment: the SMPL joints whose vertices it owns and how it splits."""

    joints: tuple[int, ...]  # SMPL joints whose dominant vertices belong here
    axis: tuple[int, int]  # bone axis from joint a to joint b (V grows from a to b)
    parts: tuple[int, ...]  # (front, back), (right, left) or (whole,)
    split: str  # "front_back", "right_left" or "none"


SEGMENTS: tuple[Segment, ...] = (
    Segment((0, 3, 6, 9, 13, 14), (0, 12), (2, 1), "front_back"),
    Segment((12, 15), (12, 15), (23, 24), "right_left"),
    Segment((21, 23), (21, 23), (3,), "none"),
    Segment((20, 22), (20, 22), (4,), "none"),
    Segment((7, 10), (7, 10), (5,), "none"),
    Segment((8, 11), (8, 11), (6,), "none"),
    Segment((2,), (2, 5), (9, 7), "front_back"),
    Segment((1,), (1, 4), (10, 8), "front_back"),
    Segment((5,), (5, 8), (13, 11), "front_back"),
    Segment((4,), (4, 7), (14, 12), "front_back"),
    Segment((16,), (16, 18), (15, 17), "front_back"),
    Segment((17,), (17, 19), (16, 18), "front_back"),
    Segment((18,), (18, 20), (19, 21), "front_back"),
    Segment((19,), (19, 21), (20, 22), "front_back"),
)
JOINT_TO_SEGMENT = np.full(24, -1, dtype=np.int64)
for _index, _segment in enumerate(SEGMENTS):
    JOINT_TO_SEGMENT[list(_segment.joints)] = _index


def _frame(axis_dir: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors orthogonal to the bone axis, the first as close to ``reference`` as possible."""
    e1 = reference - axis_dir * (reference @ axis_dir)
    if np.linalg.norm(e1) < 1e-3:  # axis parallel to the reference (feet point forward)
        e1 = UP - axis_dir * (UP @ axis_dir)
    e1 = e1 / np.linalg.norm(e1)
    return e1, np.cross(axis_dir, e1)


def label_faces(
    rest_vertices: np.ndarray, faces: np.ndarray, vertex_joint: np.ndarray, rest_joints: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-face DensePose part ids (1..24) and per-corner (U, V) chart coordinates in [0, 1]."""
    rest_vertices = np.asarray(rest_vertices, np.float64)
    corners = rest_vertices[faces]  # (F, 3, 3)
    centroids = corners.mean(1)
    segment_of_vertex = JOINT_TO_SEGMENT[vertex_joint]
    if (segment_of_vertex < 0).any():
        raise ValueError("vertex_joint holds ids outside the 24 SMPL joints")
    # A face belongs to the segment most of its corners belong to (the first corner on ties).
    corner_segments = segment_of_vertex[faces]
    face_segment = corner_segments[:, 0].copy()
    agree_12 = corner_segments[:, 1] == corner_segments[:, 2]
    face_segment[agree_12] = corner_segments[agree_12, 1]

    face_parts = np.zeros(len(faces), np.uint8)
    face_iuv = np.zeros((len(faces), 3, 2), np.float32)
    for index, segment in enumerate(SEGMENTS):
        sel = np.flatnonzero(face_segment == index)
        if len(sel) == 0:
            continue
        a, b = rest_joints[segment.axis[0]], rest_joints[segment.axis[1]]
        axis_dir = (b - a) / max(np.linalg.norm(b - a), 1e-9)
        rel = corners[sel] - a  # (n, 3, 3)
        along = rel @ axis_dir
        lo, hi = along.min(), along.max()
        v = (along - lo) / max(hi - lo, 1e-9)

        side_dir = LEFT if segment.split == "right_left" else FORWARD
        e1, e2 = _frame(axis_dir, side_dir)
        angle = np.arctan2(rel @ e2, rel @ e1)  # 0 = towards the front (or the left)
        centroid_angle = np.arctan2((centroids[sel] - a) @ e2, (centroids[sel] - a) @ e1)
        if segment.split == "none":
            face_parts[sel] = segment.parts[0]
            u = _unwrap_faces(angle) / (2 * np.pi) + 0.5
        else:
            first = np.abs(centroid_angle) <= np.pi / 2  # front, or left
            # parts are listed (front, back) or (right, left)
            first_part, second_part = segment.parts if segment.split == "front_back" else segment.parts[::-1]
            face_parts[sel] = np.where(first, first_part, second_part)
            # Angles measured from each half's own centre, so no chart wraps around.
            centred = np.where(first[:, None], angle, np.angle(-np.exp(1j * angle)))
            u = centred / np.pi + 0.5
        face_iuv[sel, :, 0] = np.clip(u, 0.0, 1.0)
        face_iuv[sel, :, 1] = np.clip(v, 0.0, 1.0)
    return face_parts, face_iuv


def _unwrap_faces(angle: np.ndarray) -> np.ndarray:
    """Angles (n, 3) of face corners made continuous within each face (the seam is at the back)."""
    ref = angle[:, :1]
    return ref + np.angle(np.exp(1j * (angle - ref)))


ATLAS_COLUMNS, ATLAS_ROWS, ATLAS_MARGIN = 6, 4, 0.04


def chart_texture_uvs(face_parts: np.ndarray, face_iuv: np.ndarray) -> np.ndarray:
    """Texture coordinates on an atlas of the 24 part charts (6 x 4 cells), for UV-less bodies."""
    cell = face_parts.astype(np.int64) - 1
    col, row = cell % ATLAS_COLUMNS, cell // ATLAS_COLUMNS
    scale = 1.0 - 2 * ATLAS_MARGIN
    u = (col[:, None] + ATLAS_MARGIN + face_iuv[..., 0] * scale) / ATLAS_COLUMNS
    v = (row[:, None] + ATLAS_MARGIN + face_iuv[..., 1] * scale) / ATLAS_ROWS
    return np.stack([u, v], -1).astype(np.float32)


def part_counts(face_parts: np.ndarray) -> np.ndarray:
    """How many faces each part 1..24 has (index 0 unused): a quick sanity view of a labelling."""
    return np.bincount(face_parts, minlength=NUM_PARTS + 1)
