"""Texture coordinates of a body model's faces from its UV template ``.obj`` (``v``, ``vt`` and
``f v/vt`` lines, e.g. SMPL's ``smpl_uv.obj``), for SURREAL-style texture images."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_obj_face_uvs(path: Path, faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """Texture coordinates (F, 3, 2) of ``faces`` from a UV template .obj of the same mesh.

    Faces are matched by their vertex ids, so the .obj's face order may differ from the model's.
    """
    vertex_count, uvs, obj_vertices, obj_uvs = 0, [], [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "v":
                vertex_count += 1
            elif fields[0] == "vt":
                uvs.append((float(fields[1]), float(fields[2])))
            elif fields[0] == "f":
                corners = [corner.split("/") for corner in fields[1:]]
                if any(len(c) < 2 or not c[1] for c in corners):
                    raise ValueError(f"{path}: face without texture coordinates: {line.strip()}")
                vi = [int(c[0]) - 1 if int(c[0]) > 0 else vertex_count + int(c[0]) for c in corners]
                ti = [int(c[1]) - 1 if int(c[1]) > 0 else len(uvs) + int(c[1]) for c in corners]
                for k in range(1, len(corners) - 1):  # fan-triangulate polygons
                    obj_vertices.append((vi[0], vi[k], vi[k + 1]))
                    obj_uvs.append((ti[0], ti[k], ti[k + 1]))
    if not obj_vertices:
        raise ValueError(f"{path} has no faces: not a UV template")
    if vertex_count != num_vertices:
        raise ValueError(
            f"{path} has {vertex_count} vertices but the body model has {num_vertices}: not this model's UV template"
        )
    obj_vertices, obj_uvs, uvs = np.array(obj_vertices), np.array(obj_uvs), np.array(uvs, np.float32)
    obj_order = np.argsort(obj_vertices, axis=1)
    obj_keys = _face_keys(np.take_along_axis(obj_vertices, obj_order, 1), num_vertices)
    obj_sorted_uvs = np.take_along_axis(obj_uvs, obj_order, 1)
    lookup = np.argsort(obj_keys)
    face_order = np.argsort(faces, axis=1)
    keys = _face_keys(np.take_along_axis(faces, face_order, 1), num_vertices)
    position = np.clip(np.searchsorted(obj_keys, keys, sorter=lookup), 0, len(lookup) - 1)
    match = lookup[position]
    unmatched = int((obj_keys[match] != keys).sum())
    if unmatched:
        raise ValueError(
            f"{path}: {unmatched} of the model's {len(faces)} faces are not in the .obj: not this model's UV template"
        )
    face_uv_ids = np.empty_like(faces, dtype=np.int64)
    np.put_along_axis(face_uv_ids, face_order, obj_sorted_uvs[match], 1)
    return uvs[face_uv_ids]


def _face_keys(sorted_faces: np.ndarray, num_vertices: int) -> np.ndarray:
    v = np.asarray(sorted_faces, np.int64)
    return (v[:, 0] * num_vertices + v[:, 1]) * num_vertices + v[:, 2]
