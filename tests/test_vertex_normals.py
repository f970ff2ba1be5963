"""Vertex normals of the posed mesh (``VertexNormals``): area-weighted, unit length."""

from __future__ import annotations

import numpy as np

from crocohuman.render.take_renderer import VertexNormals


def test_octahedron_vertices_point_outwards():
    axes = np.concatenate([np.eye(3), -np.eye(3)])  # +x +y +z -x -y -z
    faces = np.array([[0, 1, 2], [1, 3, 2], [3, 4, 2], [4, 0, 2], [1, 0, 5], [3, 1, 5], [4, 3, 5], [0, 4, 5]])
    np.testing.assert_allclose(VertexNormals(faces)(2.0 * axes), axes, atol=1e-12)


def test_matches_a_loop_over_faces():
    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(32, 3))  # the last two in no face: zero normals
    faces = np.stack([rng.permutation(30)[:3] for _ in range(80)])
    expected = np.zeros_like(vertices)
    for face in faces:  # each face adds its cross product (twice its area along its normal) to its corners
        a, b, c = vertices[face]
        expected[face] += np.cross(b - a, c - a)
    used = np.unique(faces)
    expected[used] /= np.linalg.norm(expected[used], axis=1, keepdims=True)
    np.testing.assert_allclose(VertexNormals(faces)(vertices), expected, atol=1e-12)
