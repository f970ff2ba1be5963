"""OpenGL offscreen rasterizer: one draw per view writes colour and exact labels at once.

Meshes are triangle soups (three corners per face, nothing shared) so per-face labels stay exact
integers and per-corner chart coordinates never blend across parts; there is no multisampling.
Two render targets: an 8-bit sRGB colour image and a 16-bit integer label image holding, for
the person, (part id, U·255, V·255, camera depth in mm) exactly as the shards store them
(zeros elsewhere). Cameras follow ``conventions``
(OpenCV intrinsics and world-to-camera extrinsics); the GL projection below maps pixel centres
exactly, so a point projected with K lands on the pixel the rasterizer fills for it.

The context is EGL: the GPU's driver when one is present, Mesa's llvmpipe on a CPU.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from crocohuman.render.egl_device import EXPLICIT as EXPLICIT_DEVICE, EglDevice, choose_egl_device

log = logging.getLogger(__name__)

_VERTEX_SHADER = """
#version 330
uniform mat4 world_to_clip;
uniform mat4 world_to_camera;
in vec3 in_position;
in vec3 in_normal;
in vec2 in_texcoord;
in vec3 in_label;
in vec3 in_color;
out vec3 v_normal;
out vec3 v_color;
out vec3 v_world;
out vec2 v_texcoord;
flat out float v_part;
out vec2 v_iuv;
out float v_depth;
void main() {
    gl_Position = world_to_clip * vec4(in_position, 1.0);
    v_depth = (world_to_camera * vec4(in_position, 1.0)).z;
    v_normal = in_normal;
    v_world = in_position;
    v_texcoord = in_texcoord;
    v_part = in_label.x;
    v_iuv = in_label.yz;
    v_color = in_color;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform sampler2D albedo;
uniform vec3 camera_position;
uniform vec3 light_directions[2];   // towards the lights, world frame
uniform vec3 light_colors[2];
uniform vec3 sky_color;
uniform vec3 ground_color;
uniform float specular;
uniform float is_person;
in vec3 v_normal;
in vec3 v_color;
in vec3 v_world;
in vec2 v_texcoord;
flat in float v_part;
in vec2 v_iuv;
in float v_depth;
layout(location = 0) out vec4 out_color;
layout(location = 1) out uvec4 out_label;
// Gamma 2 (a square in, a square root out) and the specular power 32 by five squarings: llvmpipe spends
// as much on eight pow() per fragment as on all the other shading; without them a 256² hand close-up
// draws in 4.4 instead of 5.6 ms, a body view in 5.8 instead of 6.3.
float power32(float x) { x *= x; x *= x; x *= x; x *= x; return x * x; }
void main() {
    vec3 n = normalize(v_normal);
    vec3 to_eye = normalize(camera_position - v_world);
    if (dot(n, to_eye) < 0.0) n = -n;
    vec3 albedo_srgb = texture(albedo, v_texcoord).rgb * v_color;
    vec3 base = albedo_srgb * albedo_srgb;
    vec3 light = mix(ground_color, sky_color, 0.5 + 0.5 * n.z);
    vec3 shine = vec3(0.0);
    for (int i = 0; i < 2; ++i) {
        float lambert = max(dot(n, light_directions[i]), 0.0);
        light += lambert * light_colors[i];
        vec3 h = normalize(light_directions[i] + to_eye);
        shine += specular * power32(max(dot(n, h), 0.0)) * light_colors[i] * step(0.0, lambert);
    }
    vec3 linear = base * light + shine;
    out_color = vec4(sqrt(clamp(linear, 0.0, 1.0)), 1.0);
    out_label = is_person > 0.5
        ? uvec4(uint(v_part + 0.5), uvec2(round(clamp(v_iuv, 0.0, 1.0) * 255.0)), uint(round(v_depth * 1000.0)))
        : uvec4(0u);
}
"""

_BAKE_VERTEX_SHADER = """
#version 330
in vec2 in_texcoord;
in vec4 in_value;
out vec4 v_value;
void main() { gl_Position = vec4(in_texcoord * 2.0 - 1.0, 0.0, 1.0); v_value = in_value; }
"""

_BAKE_FRAGMENT_SHADER = """
#version 330
in vec4 v_value;
out vec4 out_value;
void main() { out_value = v_value; }
"""


@dataclass
class Lighting:
    """Two directional lights plus a sky/ground hemisphere, in linear RGB."""

    directions: np.ndarray  # (2, 3) unit vectors towards the lights, world frame
    colors: np.ndarray  # (2, 3)
    sky: np.ndarray  # (3,)
    ground: np.ndarray  # (3,)
    specular: float = 0.1


@dataclass
class MeshBuffers:
    """A triangle soup's static attributes (per corner) and its albedo texture."""

    texcoords: np.ndarray  # (F*3, 2) float32, V up
    labels: np.ndarray  # (F*3, 3) float32: part id, U, V
    texture: np.ndarray  # (H, W, 3) uint8
    colors: np.ndarray | None = None  # (F*3, 3) float32 sRGB factors in [0, 1] on the texture; None = 1
    closed: bool = False  # a closed surface wound counter-clockwise seen from outside: back faces are skipped


NEAR_M, FAR_M = 0.05, 100.0  # the depth range every view draws


def gl_projection(intrinsics: np.ndarray, width: int, height: int, near: float, far: float) -> np.ndarray:
    """OpenGL clip matrix for an OpenCV camera, pixel centres at integer coordinates, y down."""
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    skew = intrinsics[0, 1]
    return np.array(
        [
            [2 * fx / width, 2 * skew / width, 2 * (cx + 0.5) / width - 1, 0],
            [0, -2 * fy / height, 1 - 2 * (cy + 0.5) / height, 0],
            [0, 0, (far + near) / (far - near), -2 * far * near / (far - near)],
            [0, 0, 1, 0],
        ]
    )


def world_to_clip(intrinsics: np.ndarray, extrinsics: np.ndarray, width: int, height: int) -> np.ndarray:
    """The (4, 4) matrix from world points to the clip coordinates ``Rasterizer.render`` draws with."""
    world_to_camera = np.eye(4)
    world_to_camera[:3] = extrinsics
    return gl_projection(intrinsics, width, height, NEAR_M, FAR_M) @ world_to_camera


def faces_in_view(clip: np.ndarray, frames: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Indices of the faces that may cover a pixel of the view with clip matrix ``clip`` (4, 4) in one of
    the frames: all but those whose three corners lie beyond one plane of the view volume in every frame.

    ``frames`` (T, 3, V) are the vertices of each frame (float32, as GL draws them), ``corners`` (3, F)
    each face's vertex indices. Drawing only these faces gives the same images: a face beyond a side
    plane covers no pixel centre (the nearest lies half a pixel inside), and no face comes near the near
    plane. A close-up of a hand sees ~6,000 of a body's 27,000 faces; drawing those alone skips the
    others' vertex work and spares llvmpipe its slow clipping path, which a single vertex behind the
    camera sends a whole batch down: 8.9 -> 6.6 ms per 256² hand view, for ~0.4 ms per view (4 frames) here.
    """
    x, y, z, w = np.moveaxis(clip[:, :3].astype(frames.dtype) @ frames + clip[:, 3:].astype(frames.dtype), 1, 0)
    planes = [x < -w, x > w, y < -w, y > w, z < -w, z > w]  # (T, V) each
    bit = [plane.all(0).view(np.uint8) << k for k, plane in enumerate(planes)]  # beyond in every frame
    corner = (bit[0] | bit[1] | bit[2] | bit[3] | bit[4] | bit[5]).take(corners)
    return np.flatnonzero((corner[0] & corner[1] & corner[2]) == 0)


def soup_corners(faces: np.ndarray) -> np.ndarray:
    """The corner indices (3 F', int32) of faces of a triangle soup, to draw them alone (``render(corners=)``)."""
    return (3 * faces.astype(np.int32)[:, None] + np.arange(3, dtype=np.int32)).ravel()


def create_context():
    """A new standalone EGL context on this process's device (see ``egl_device``), made current:
    the GPU's driver when one is present, else Mesa's llvmpipe."""
    import moderngl  # lazy: importing GL bindings is not free and tests of other parts skip it

    device = choose_egl_device()
    if device.index is not None and not device.explicit:
        try:
            return moderngl.create_context(standalone=True, backend="egl", device_index=device.index)
        except Exception as error:  # noqa: BLE001 - any failure: the default device may still work
            log.warning("no EGL device %d (%s): %s; using the default device", device.index, device.reason, error)
            device = EglDevice(None, f"the default device, after {device.reason} failed", explicit=False)
    options = {} if device.index is None else {"device_index": device.index}
    try:
        return moderngl.create_context(standalone=True, backend="egl", **options)
    except Exception as error:  # re-raised with the fix a user needs
        fix = (
            "On Debian install libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1."
            if device.index is None
            else f"Choose an existing device in {EXPLICIT_DEVICE}."
        )
        raise RuntimeError(
            f"could not create an offscreen OpenGL (EGL) context on {device.reason}: {error}. {fix}"
        ) from error


_contexts: dict[int, object] = {}  # process id -> its context


def shared_context():
    """The process's one context, shared because making a second standalone context current
    would silently redirect the first one's draws. Keyed by process id: a forked child (a
    DataLoader worker) must not draw through its parent's context."""
    pid = os.getpid()
    if pid not in _contexts:
        _contexts.clear()
        _contexts[pid] = create_context()
    return _contexts[pid]


class Rasterizer:
    """Renders a person (and optionally a scene) into colour + label images of one size."""

    def __init__(self, width: int, height: int, ctx=None):
        self.width, self.height = width, height
        self.ctx = ctx or shared_context()
        self.program = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self.color = self.ctx.renderbuffer((width, height), components=4)
        self.label = self.ctx.renderbuffer((width, height), components=4, dtype="u2")
        self.depth = self.ctx.depth_renderbuffer((width, height))
        self.fbo = self.ctx.framebuffer(color_attachments=[self.color, self.label], depth_attachment=self.depth)
        self._meshes: dict[str, list] = {}
        self._closed: dict[str, bool] = {}

    @property
    def renderer_name(self) -> str:
        return self.ctx.info["GL_RENDERER"]

    def set_mesh(self, name: str, buffers: MeshBuffers) -> None:
        """Upload a mesh's static attributes; its positions come with each ``render`` call."""
        corners = len(buffers.texcoords)
        position = self.ctx.buffer(reserve=corners * 12, dynamic=True)
        normal = self.ctx.buffer(reserve=corners * 12, dynamic=True)
        texcoord = self.ctx.buffer(np.ascontiguousarray(buffers.texcoords, np.float32).tobytes())
        label = self.ctx.buffer(np.ascontiguousarray(buffers.labels, np.float32).tobytes())
        colors = np.ones((corners, 3), np.float32) if buffers.colors is None else buffers.colors
        color = self.ctx.buffer(np.ascontiguousarray(colors, np.float32).tobytes())
        attributes = [
            (position, "3f", "in_position"),
            (normal, "3f", "in_normal"),
            (texcoord, "2f", "in_texcoord"),
            (label, "3f", "in_label"),
            (color, "3f", "in_color"),
        ]
        vao = self.ctx.vertex_array(self.program, attributes)
        index = self.ctx.buffer(reserve=corners * 4, dynamic=True)  # the corners of some faces (``render(corners=)``)
        some_faces = self.ctx.vertex_array(self.program, attributes, index_buffer=index, index_element_size=4)
        texture = self._texture(buffers.texture)
        self.release_mesh(name)
        self._meshes[name] = [vao, some_faces, index, position, normal, texcoord, label, color, texture]
        self._closed[name] = buffers.closed

    def _texture(self, image: np.ndarray):
        """A mipmapped GL texture of an (H, W, 3) uint8 image."""
        import moderngl

        image = np.ascontiguousarray(image[::-1])  # row 0 at V = 0 (bottom)
        texture = self.ctx.texture(image.shape[1::-1], 3, image.tobytes())
        texture.build_mipmaps()
        texture.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        return texture

    def set_texture(self, name: str, image: np.ndarray) -> None:
        """A new albedo (H, W, 3) uint8 for a mesh set with ``set_mesh``, keeping its buffers
        (a new body's texture per take costs half of re-uploading the whole mesh)."""
        mesh = self._meshes[name]
        mesh[-1].release()
        mesh[-1] = self._texture(image)

    def release_mesh(self, name: str) -> None:
        for resource in self._meshes.pop(name, ()):
            resource.release()
        self._closed.pop(name, None)

    def update_mesh(self, name: str, positions: np.ndarray, normals: np.ndarray) -> None:
        """New per-corner positions and normals (F*3, 3) for a mesh set with ``set_mesh``."""
        _, _, _, position, normal, *_ = self._meshes[name]
        position.write(np.ascontiguousarray(positions, np.float32).tobytes())
        normal.write(np.ascontiguousarray(normals, np.float32).tobytes())

    def render(
        self,
        intrinsics: np.ndarray,
        extrinsics: np.ndarray,
        lighting: Lighting,
        person: str = "person",
        others: tuple[str, ...] = (),
        corners: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Colour (H, W, 3) uint8 and labels (H, W, 4) uint16 (part, U·255, V·255, depth mm), rows top-down.

        Pixels the meshes do not cover have colour 0 and label 0. ``corners``: the person's soup corners
        to draw (``soup_corners`` of ``faces_in_view``, made once per view); all when None.
        """
        import moderngl

        world_to_camera = np.eye(4)
        world_to_camera[:3] = extrinsics
        clip = world_to_clip(intrinsics, extrinsics, self.width, self.height)
        camera_position = -extrinsics[:, :3].T @ extrinsics[:, 3]
        p = self.program
        p["world_to_clip"].write(clip.T.astype(np.float32).tobytes())
        p["world_to_camera"].write(world_to_camera.T.astype(np.float32).tobytes())
        p["camera_position"].value = tuple(camera_position)
        p["light_directions"].write(np.asarray(lighting.directions, np.float32).tobytes())
        p["light_colors"].write(np.asarray(lighting.colors, np.float32).tobytes())
        p["sky_color"].value = tuple(lighting.sky)
        p["ground_color"].value = tuple(lighting.ground)
        p["specular"].value = float(lighting.specular)

        self.fbo.use()
        self.ctx.viewport = (0, 0, self.width, self.height)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        for name in (person, *others):
            vao, some_faces, index, *_, texture = self._meshes[name]
            # the back faces of a closed surface are always hidden: culling them skips ~15 % of a body's work
            (self.ctx.enable if self._closed[name] else self.ctx.disable)(moderngl.CULL_FACE)
            p["is_person"].value = 1.0 if name == person else 0.0
            texture.use(0)
            p["albedo"].value = 0
            if name != person or corners is None:
                vao.render(moderngl.TRIANGLES)
            elif len(corners):
                index.write(corners)
                some_faces.render(moderngl.TRIANGLES, vertices=len(corners))
        color = np.frombuffer(self.fbo.read(components=3, attachment=0), np.uint8)
        labels = np.frombuffer(self.fbo.read(components=4, attachment=1, dtype="u2"), np.uint16)
        color = color.reshape(self.height, self.width, 3)[::-1]
        labels = labels.reshape(self.height, self.width, 4)[::-1]
        return color, labels


def bake_uv_attributes(face_uvs: np.ndarray, corner_values: np.ndarray, size: int, ctx=None) -> np.ndarray:
    """Rasterise per-corner values (F, 3, 4) into texture space (size, size, 4), rows top-down.

    Texels no face covers are NaN. Used to paint textures from rest-pose geometry.
    """
    import moderngl

    ctx = ctx or shared_context()
    program = ctx.program(vertex_shader=_BAKE_VERTEX_SHADER, fragment_shader=_BAKE_FRAGMENT_SHADER)
    target = ctx.renderbuffer((size, size), components=4, dtype="f4")
    fbo = ctx.framebuffer(color_attachments=[target])
    uv = ctx.buffer(np.ascontiguousarray(face_uvs.reshape(-1, 2), np.float32).tobytes())
    values = ctx.buffer(np.ascontiguousarray(corner_values.reshape(-1, 4), np.float32).tobytes())
    vao = ctx.vertex_array(program, [(uv, "2f", "in_texcoord"), (values, "4f", "in_value")])
    fbo.use()
    ctx.viewport = (0, 0, size, size)
    ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)  # atlas charts are wound either way
    fbo.clear(np.nan, np.nan, np.nan, np.nan)
    vao.render(moderngl.TRIANGLES)
    baked = np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(size, size, 4)[::-1].copy()
    for resource in (vao, uv, values, fbo, target, program):
        resource.release()
    return baked
