"""The rasterizer's back-face culling of closed meshes (``MeshBuffers.closed``)."""

from __future__ import annotations

import numpy as np
import trimesh

from crocohuman.core.camera import pinhole_intrinsics
from crocohuman.render.camera_rig import look_at
from crocohuman.render.raster import MeshBuffers, Rasterizer, faces_in_view, soup_corners, world_to_clip
from crocohuman.render.take_renderer import sample_lighting


def render_sphere(closed: bool, inside_out: bool = False) -> np.ndarray:
    """Labels (H, W, 4) of a unit sphere (outward counter-clockwise faces, or reversed) seen from 4 m."""
    sphere = trimesh.creation.icosphere(subdivisions=2)
    faces = sphere.faces[:, ::-1] if inside_out else sphere.faces
    corners = sphere.vertices[faces].reshape(-1, 3)
    labels = np.tile([[5.0, 0.5, 0.5]], (len(corners), 1))  # part 5, U = V = 0.5
    raster = Rasterizer(64, 64)
    raster.set_mesh(
        "person", MeshBuffers(np.zeros((len(corners), 2)), labels, np.zeros((1, 1, 3), np.uint8), closed=closed)
    )
    raster.update_mesh("person", corners, corners)  # a unit sphere's normals are its points
    extrinsics = look_at(np.array([0.0, -4.0, 0.5]), np.zeros(3))
    _, label = raster.render(pinhole_intrinsics(60.0, 64, 64), extrinsics, sample_lighting(np.random.default_rng(0)))
    raster.release_mesh("person")
    return label


def test_culling_the_back_faces_of_a_closed_mesh_leaves_its_image_unchanged():
    drawn = render_sphere(closed=False)
    assert (drawn[..., 0] == 5).mean() > 0.1  # the sphere fills part of the view
    np.testing.assert_array_equal(render_sphere(closed=True), drawn)  # depth included: the near side shows


def test_culling_needs_faces_wound_outwards():
    # reversed faces, culled: only the far half's inner faces survive, seen through where the near half was
    far = render_sphere(closed=True, inside_out=True)
    near = render_sphere(closed=False)
    seen = near[..., 0] == 5
    assert (far[..., 0] == 5)[seen].mean() > 0.9
    deeper = far[..., 3][seen].astype(int) - near[..., 3][seen]
    assert deeper.min() >= 0 and np.median(deeper) > 500  # the far side, 0 at the rim to 2 m at the centre


def test_drawing_only_the_faces_in_view_gives_the_same_image():
    # a row of spheres, two of them in front of a close camera (one cut by the image border), the rest
    # beside or behind it
    sphere = trimesh.creation.icosphere(subdivisions=2)
    count = len(sphere.vertices)
    vertices = np.concatenate([sphere.vertices * 0.2 + [x, 0.0, 0.0] for x in (-3.0, -0.3, 0.0, 1.0, 4.0)])
    faces = np.concatenate([sphere.faces + k * count for k in range(5)])
    corners = vertices[faces].reshape(-1, 3)
    labels = np.tile([[5.0, 0.5, 0.5]], (len(corners), 1))
    raster = Rasterizer(64, 64)
    raster.set_mesh("person", MeshBuffers(np.zeros((len(corners), 2)), labels, np.zeros((1, 1, 3), np.uint8)))
    raster.update_mesh("person", corners, corners)
    intrinsics, extrinsics = pinhole_intrinsics(60.0, 64, 64), look_at(np.array([-0.1, -0.8, 0.0]), np.zeros(3))
    lighting = sample_lighting(np.random.default_rng(0))
    frames = np.ascontiguousarray(vertices.T[None], np.float32)  # one frame (1, 3, V)
    shown = faces_in_view(world_to_clip(intrinsics, extrinsics, 64, 64), frames, np.ascontiguousarray(faces.T))
    on_sphere = shown // len(sphere.faces)
    assert set(on_sphere) == {1, 2}  # the spheres at -0.3 and 0 only
    assert len(shown) < 2 * len(sphere.faces)  # and of the one at -0.3, the part in the image
    colour, label = raster.render(intrinsics, extrinsics, lighting)
    assert (label[..., 0] == 5).mean() > 0.3
    some_colour, some_label = raster.render(intrinsics, extrinsics, lighting, corners=soup_corners(shown))
    np.testing.assert_array_equal(some_label, label)
    np.testing.assert_array_equal(some_colour, colour)
    _, none = raster.render(intrinsics, extrinsics, lighting, corners=soup_corners(shown[:0]))
    assert not none.any()


def test_a_face_is_culled_only_when_it_is_out_of_view_in_every_frame():
    triangle = np.array([[0.0, 0.0, 2.0], [0.1, 0.0, 2.0], [0.0, 0.1, 2.0]])  # ahead of a camera at the origin
    moved = triangle + np.array([10.0, 0.0, 0.0])  # far to the right
    clip = world_to_clip(pinhole_intrinsics(60.0, 64, 64), np.eye(3, 4), 64, 64)
    corners = np.arange(3)[:, None]
    for frames, expected in (([triangle], [0]), ([moved], []), ([moved, triangle], [0]), ([moved, moved], [])):
        planar = np.ascontiguousarray(np.transpose(frames, (0, 2, 1)), np.float32)
        assert faces_in_view(clip, planar, corners).tolist() == expected
