"""3-D scenes (Replica, Habitat/HM3D, any mesh) to render the person in, and where to put the
person and the cameras inside them.

A scene is flattened to a triangle soup (three corners per face, nothing shared) so per-face
normals and colours stay exact when rasterised, and it is converted to our world frame (Z up,
metres, see ``conventions``). The floor height is estimated from the geometry because scanned
scenes rarely put it at z = 0. Placement uses a coarse voxel grid of the scene, built once and
cached on the :class:`SceneMesh`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import trimesh
from scipy import ndimage

from crocohuman.core.conventions import SMPL_CANONICAL_TO_WORLD
from crocohuman.render.specs import SCENE_UP_AXIS

# Default up axis per format (see ``specs``); ``load_scene(..., up_axis=...)`` overrides it per file.
DEFAULT_UP_AXIS = SCENE_UP_AXIS

VOXEL = 0.1  # m, edge of the placement grid's cells
STANDING_BAND = (0.1, 1.9)  # m above the floor that a standing person occupies
FLOOR_NORMAL_Z = 0.9  # faces with normal.z above this count as horizontal, facing up
FLOOR_TOLERANCE = 0.1  # m, how far from floor_z an upward face still counts as floor


@dataclass(frozen=True, eq=False)
class OccupancyGrid:
    """Where the scene's geometry is, in ``cell``-sized voxels above floor level.

    Voxel (i, j, k) spans ``origin + cell * [(i, j, k), (i + 1, j + 1, k + 1)]``; the grid starts
    at ``floor_z + STANDING_BAND[0]``, so neither the floor nor anything lower lying on it (rugs)
    is an obstacle. ``column_distance`` is, per floor cell, the distance between cell
    centres to the nearest column blocked inside the standing band.
    """

    origin: np.ndarray  # (3,) float64
    cell: float
    occupied: np.ndarray  # (nx, ny, nz) bool, geometry passes through the voxel
    near: np.ndarray  # (nx, ny, nz) bool, ``occupied`` grown by one voxel (too close for a camera)
    floor: np.ndarray  # (nx, ny) bool, floor surface under the column
    column_distance: np.ndarray  # (nx, ny) float32 metres, inf when nothing is blocked

    def voxels(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Voxel indices (N, 3) of world ``points`` (N, 3) and whether each lies inside the grid."""
        idx = np.floor((np.asarray(points, np.float64) - self.origin) / self.cell).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < self.occupied.shape), axis=1)
        return idx, inside

    def lookup(self, grid: np.ndarray, points: np.ndarray) -> np.ndarray:
        """``grid[voxel of each point]``; points outside the grid (e.g. lower than the standing
        band) read as False."""
        idx, inside = self.voxels(points)
        out = np.zeros(len(idx), bool)
        out[inside] = grid[tuple(idx[inside].T)]
        return out


@dataclass(eq=False)
class SceneMesh:
    """A static scene as a triangle soup in the Z-up world frame (metres)."""

    positions: np.ndarray  # (F*3, 3) float32, three corners per face
    normals: np.ndarray  # (F*3, 3) float32, the unit face normal at each corner
    colors: np.ndarray  # (F*3, 3) float32 in [0, 1]
    floor_z: float
    bounds_min: np.ndarray  # (3,) float64
    bounds_max: np.ndarray  # (3,) float64
    uvs: np.ndarray | None = None  # (F*3, 2) float32, V up, when the whole scene uses one texture
    texture: np.ndarray | None = None  # (H, W, 3) uint8 sRGB sampled by ``uvs``
    source: str = ""
    _occupancy: OccupancyGrid | None = field(default=None, init=False, repr=False)

    @property
    def num_faces(self) -> int:
        return len(self.positions) // 3

    def occupancy(self) -> OccupancyGrid:
        """The placement grid, built on first use and cached (a scene is static)."""
        if self._occupancy is None:
            self._occupancy = _build_occupancy(self)
        return self._occupancy

    def __repr__(self) -> str:
        return (
            f"SceneMesh({self.source!r}, {self.num_faces} faces, floor_z={self.floor_z:.3f}, "
            f"textured={self.texture is not None})"
        )


# ---------------------------------------------------------------------------------------------
# Loading


def load_scene(path: str | Path, up_axis: Literal["y", "z"] | None = None) -> SceneMesh:
    """Load a .glb/.gltf/.obj/.ply scene into our Z-up world.

    ``up_axis`` is the file's up axis; by default 'y' for glb/gltf (the glTF spec) and obj
    (Habitat/Replica exports), 'z' for ply. Colours come from vertex colours, face colours, or
    the base-colour texture sampled at each face corner; when the whole scene uses a single
    texture it is also kept with the UVs so the rasterizer can texture-map it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scene file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in DEFAULT_UP_AXIS:
        raise ValueError(
            f"unsupported scene format {path.suffix!r} for {path}; expected one of {', '.join(DEFAULT_UP_AXIS)}"
        )
    up = up_axis or DEFAULT_UP_AXIS[suffix]
    if up not in ("y", "z"):
        raise ValueError(f"up_axis must be 'y' or 'z', got {up_axis!r}")
    try:
        scene = trimesh.load(str(path), file_type=suffix[1:], force="scene")
    except Exception as err:  # trimesh's parsers raise many unrelated types on malformed input
        raise ValueError(f"cannot parse scene file {path}: {type(err).__name__}: {err}") from err

    parts = list(_mesh_parts(scene))
    if not parts:
        raise ValueError(f"scene file {path} contains no triangles")
    positions = np.concatenate([p.positions for p in parts])
    colors = np.concatenate([p.colors for p in parts])
    if up == "y":
        positions = positions @ SMPL_CANONICAL_TO_WORLD.T  # Y-up to Z-up
    positions = positions.reshape(-1, 3).astype(np.float32)
    normals = _face_normals(positions)
    textures = {id(p.texture) for p in parts}
    single = len(textures) == 1 and parts[0].texture is not None
    floor_z = estimate_floor_z(positions, normals)
    return SceneMesh(
        positions=positions,
        normals=normals,
        colors=colors.reshape(-1, 3).astype(np.float32),
        floor_z=floor_z,
        bounds_min=positions.min(axis=0).astype(np.float64),
        bounds_max=positions.max(axis=0).astype(np.float64),
        uvs=np.concatenate([p.uvs for p in parts]).reshape(-1, 2).astype(np.float32) if single else None,
        texture=parts[0].texture if single else None,
        source=str(path),
    )


@dataclass(frozen=True)
class _Part:
    """One placed geometry of a scene: its faces' corners, colours and (if textured) UVs."""

    positions: np.ndarray  # (F, 3, 3) float64, world (file) frame
    colors: np.ndarray  # (F, 3, 3) float32 in [0, 1]
    uvs: np.ndarray | None  # (F, 3, 2)
    texture: np.ndarray | None  # (H, W, 3) uint8


def _mesh_parts(scene: trimesh.Scene) -> Iterator[_Part]:
    """Every triangle mesh instance of the scene, moved by its node transform."""
    textures: dict[int, np.ndarray] = {}  # one array per texture image, shared by its instances
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        mesh = scene.geometry[name]
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            continue
        faces = np.asarray(mesh.faces)
        if np.linalg.det(transform[:3, :3]) < 0:  # a mirroring transform flips the winding
            faces = faces[:, ::-1]
        corners = np.asarray(mesh.vertices, np.float64)[faces]
        corners = corners @ transform[:3, :3].T + transform[:3, 3]
        colors, uvs, texture = _corner_colors(mesh, faces, textures)
        yield _Part(corners, colors, uvs, texture)


def _corner_colors(
    mesh: trimesh.Trimesh, faces: np.ndarray, textures: dict[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Per-corner RGB in [0, 1] of a mesh, and its UVs and texture when it has one; ``textures``
    caches converted images by identity."""
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals):
        material = visual.material
        if isinstance(material, trimesh.visual.material.PBRMaterial):
            image = material.baseColorTexture
            tint = material.baseColorFactor  # glTF: multiplies the texture; None means white
        else:
            image, tint = getattr(material, "image", None), None  # OBJ's Kd is not a tint of map_Kd
        if visual.uv is None or image is None:
            flat = np.asarray(material.main_color[:3], np.float32) / 255.0
            return np.broadcast_to(flat, (*faces.shape, 3)).copy(), None, None
        if id(image) not in textures:
            textures[id(image)] = np.asarray(image.convert("RGB"), np.uint8)
        texture = textures[id(image)]
        uvs = np.asarray(visual.uv, np.float32)[faces]
        # Sample a little inside each face: exactly at a corner the texel is ambiguous (seams,
        # u = 1.0 wrapping to 0).
        inner = uvs + 0.1 * (uvs.mean(axis=1, keepdims=True) - uvs)
        colors = sample_texture(texture, inner)
        if tint is not None:
            colors *= np.asarray(tint[:3], np.float32) / 255.0
        return colors, uvs, texture
    if visual.kind == "face":
        rgb = np.asarray(visual.face_colors[:, :3], np.float32) / 255.0
        return np.repeat(rgb[:, None], 3, axis=1), None, None
    return np.asarray(visual.vertex_colors[:, :3], np.float32)[faces] / 255.0, None, None


def sample_texture(texture: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    """Nearest texel of ``texture`` (H, W, 3) uint8 at ``uvs`` (..., 2), V up, wrapping like
    GL_REPEAT; RGB in [0, 1]."""
    h, w = texture.shape[:2]
    u = np.mod(uvs[..., 0], 1.0)
    v = np.mod(uvs[..., 1], 1.0)
    col = np.minimum((u * w).astype(np.int64), w - 1)
    row = np.minimum(((1.0 - v) * h).astype(np.int64), h - 1)
    return texture[row, col].astype(np.float32) / 255.0


def _face_normals(positions: np.ndarray) -> np.ndarray:
    """Unit normals of a triangle soup (F*3, 3), repeated per corner; zero for degenerate faces."""
    tri = positions.reshape(-1, 3, 3).astype(np.float64)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    return np.repeat(n, 3, axis=0).astype(np.float32)


def estimate_floor_z(positions: np.ndarray, normals: np.ndarray, bin_size: float = 0.05) -> float:
    """Height of the dominant low horizontal surface of a triangle soup.

    Upward faces (normal.z > FLOOR_NORMAL_Z) in the lower half of the scene vote for their
    height with their area; the floor is the area-weighted mean height inside the winning bin.
    Falls back to the lowest point when no face qualifies.
    """
    tri = positions.reshape(-1, 3, 3).astype(np.float64)
    z = tri[:, :, 2].mean(axis=1)
    z_lo, z_hi = float(tri[:, :, 2].min()), float(tri[:, :, 2].max())
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    up = (normals[::3, 2] > FLOOR_NORMAL_Z) & (z <= z_lo + 0.5 * (z_hi - z_lo)) & (area > 0)
    if not up.any():
        return z_lo
    bins = np.floor((z[up] - z_lo) / bin_size).astype(np.int64)
    best = np.argmax(np.bincount(bins, weights=area[up]))
    chosen = bins == best
    return float(np.average(z[up][chosen], weights=area[up][chosen]))


# ---------------------------------------------------------------------------------------------
# Placement


@cache
def _barycentric_lattice(n: int) -> np.ndarray:
    """(K, 3) barycentric weights of a triangle's points on an n-step lattice (corners included)."""
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = i + j <= n
    a, b = i[keep] / n, j[keep] / n
    return np.stack([1.0 - a - b, a, b], axis=1)


def _surface_points(tri: np.ndarray, spacing: float, chunk: int = 2_000_000) -> Iterator[np.ndarray]:
    """Points covering triangles (F, 3, 3) at most ``spacing`` apart (capped for huge faces),
    yielded in chunks so big scenes stay within memory."""
    edges = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(axis=1)
    levels = np.clip(np.ceil(edges / spacing), 1, 128).astype(np.int64)
    for n in np.unique(levels):
        lattice = _barycentric_lattice(int(n))
        group = tri[levels == n]
        step = max(1, chunk // len(lattice))
        for s in range(0, len(group), step):
            yield np.einsum("kc,fcd->fkd", lattice, group[s : s + step]).reshape(-1, 3)


def _build_occupancy(scene: SceneMesh, cell: float = VOXEL) -> OccupancyGrid:
    """Voxelise the scene by dense surface samples: non-floor geometry into ``occupied``, floor
    faces into the 2-D ``floor`` mask."""
    tri = scene.positions.reshape(-1, 3, 3).astype(np.float64)
    z = tri[:, :, 2].mean(axis=1)
    is_floor = (scene.normals[::3, 2] > FLOOR_NORMAL_Z) & (np.abs(z - scene.floor_z) < FLOOR_TOLERANCE)
    origin = scene.bounds_min.astype(np.float64).copy()
    origin[2] = scene.floor_z + STANDING_BAND[0]
    band_layers = round((STANDING_BAND[1] - STANDING_BAND[0]) / cell)
    shape = np.maximum(np.ceil((scene.bounds_max - origin) / cell).astype(np.int64) + 1, 1)
    shape[2] = max(int(shape[2]), band_layers)
    occupied = np.zeros(tuple(shape), bool)
    floor = np.zeros(tuple(shape[:2]), bool)
    for points in _surface_points(tri[~is_floor], cell / 2):
        idx = np.floor((points - origin) / cell).astype(np.int64)
        idx = idx[np.all((idx >= 0) & (idx < shape), axis=1)]
        occupied[idx[:, 0], idx[:, 1], idx[:, 2]] = True
    for points in _surface_points(tri[is_floor], cell / 2):
        idx = np.floor((points[:, :2] - origin[:2]) / cell).astype(np.int64)
        idx = idx[np.all((idx >= 0) & (idx < shape[:2]), axis=1)]
        floor[idx[:, 0], idx[:, 1]] = True
    blocked = occupied[:, :, :band_layers].any(axis=2)
    if blocked.any():
        column_distance = (ndimage.distance_transform_edt(~blocked) * cell).astype(np.float32)
    else:
        column_distance = np.full(blocked.shape, np.inf, np.float32)
    near = ndimage.binary_dilation(occupied, structure=np.ones((3, 3, 3), bool))
    return OccupancyGrid(origin, cell, occupied, near, floor, column_distance)


def sample_standing_spot(scene: SceneMesh, rng: np.random.Generator, clearance: float = 0.6) -> tuple[float, float]:
    """A random floor point (x, y) where a vertical column of radius ``clearance`` between
    floor_z + 0.1 and floor_z + 1.9 m is free of scene geometry.

    Conservative by one cell diagonal: the point is jittered inside its cell and an obstacle
    can lie anywhere inside its own cell.
    """
    grid = scene.occupancy()
    ok = grid.floor & (grid.column_distance >= clearance + grid.cell * np.sqrt(2.0))
    candidates = np.flatnonzero(ok)
    if len(candidates) == 0:
        raise RuntimeError(
            f"no floor spot with {clearance} m clearance in scene {scene.source!r} "
            f"({int(grid.floor.sum())} floor cells of {grid.cell} m)"
        )
    ix, iy = np.unravel_index(candidates[rng.integers(len(candidates))], ok.shape)
    x = grid.origin[0] + (ix + rng.random()) * grid.cell
    y = grid.origin[1] + (iy + rng.random()) * grid.cell
    return float(x), float(y)


def sample_camera_position(
    scene: SceneMesh,
    rng: np.random.Generator,
    target: np.ndarray,
    distance_range: tuple[float, float] = (1.5, 4.0),
    height_range: tuple[float, float] = (0.5, 2.2),
    max_tries: int = 200,
) -> np.ndarray:
    """A camera position (3,) at a random distance (m) from ``target`` and height above the
    floor, inside the scene bounds, over the floor, not touching geometry, with no occupied voxel
    on the segment to ``target`` (checked every half cell, so "clear-ish": thin diagonal
    geometry can slip through)."""
    grid = scene.occupancy()
    target = np.asarray(target, np.float64)
    lo, hi = scene.bounds_min + grid.cell, scene.bounds_max - grid.cell
    for _ in range(max_tries):
        distance = rng.uniform(*distance_range)
        z = scene.floor_z + rng.uniform(*height_range)
        dz = z - target[2]
        if abs(dz) >= distance:
            continue
        radius, azimuth = np.sqrt(distance**2 - dz**2), rng.uniform(0.0, 2.0 * np.pi)
        pos = np.array([target[0] + radius * np.cos(azimuth), target[1] + radius * np.sin(azimuth), z])
        if np.any(pos < lo) or np.any(pos > hi):
            continue
        ix, iy = ((pos[:2] - grid.origin[:2]) // grid.cell).astype(np.int64)
        if not grid.floor[ix, iy] or grid.lookup(grid.near, pos[None])[0]:
            continue
        steps = max(2, int(np.ceil(distance / (grid.cell / 2))))
        t = np.linspace(0.0, 1.0, steps + 1)[1:-1, None]
        if not grid.lookup(grid.occupied, pos + t * (target - pos)).any():
            return pos
    raise RuntimeError(
        f"no camera position found in scene {scene.source!r} after {max_tries} tries: target "
        f"{np.round(target, 2).tolist()}, distance {distance_range} m, height {height_range} m above "
        f"the floor (z={scene.floor_z:.2f}); the scene may be too small or cluttered for these ranges"
    )
