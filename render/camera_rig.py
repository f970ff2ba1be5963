"""N synchronised cameras around a person, framed so the whole body is visible in every view.

The rig is fixed for a take: the same N cameras watch all T time steps, so any two images of a
take form a cross-view pair (same time) or a cross-pose pair (same camera). Cameras follow the
OpenCV convention of ``conventions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crocohuman.core.camera import pinhole_intrinsics, project, world_to_camera
from crocohuman.core.rotations import cross
from crocohuman.render.option_checks import check_int, check_number, check_range

WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass
class RigConfig:
    """Random camera placement; angles in degrees, distances in metres."""

    views: int = 8
    azimuth_range: float = 360.0  # spread of the N azimuths around the person
    azimuth_jitter: float = 10.0  # random offset of each camera from even spacing
    elevation: tuple[float, float] = (-10.0, 35.0)
    distance: tuple[float, float] = (2.0, 8.0)
    focal: tuple[float, float] = (0.9, 2.6)  # focal length in units of the image width
    fill: tuple[float, float] = (0.6, 0.9)  # fraction of the image the body's extent may take
    roll: float = 0.0  # max random camera roll

    def __post_init__(self) -> None:
        """Refuse impossible rigs here, before anything is rendered (ranges may come in as JSON lists)."""
        self.views = check_int("--views", self.views, 1)
        self.azimuth_range = check_number("--azimuth-range", self.azimuth_range, 0.0, 360.0, unit="degrees")
        self.azimuth_jitter = check_number("azimuth_jitter", self.azimuth_jitter, 0.0, 180.0, unit="degrees")
        self.elevation = check_range("--elevation", self.elevation, -90.0, 90.0, unit="degrees")
        self.distance = check_range("--distance", self.distance, positive=True, unit="metres")
        self.focal = check_range("--focal", self.focal, positive=True, unit="image widths")
        self.fill = check_range("fill", self.fill, positive=True, high=1.0, unit="fraction of the image")
        self.roll = check_number("roll", self.roll, 0.0, 180.0, unit="degrees")


@dataclass
class Camera:
    intrinsics: np.ndarray  # (3, 3)
    extrinsics: np.ndarray  # (3, 4) world to camera

    @property
    def position(self) -> np.ndarray:
        return -self.extrinsics[:, :3].T @ self.extrinsics[:, 3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (..., 2) and camera depths (...) of world points (..., 3)."""
        cam = world_to_camera(points, self.extrinsics)
        return project(cam, self.intrinsics), cam[..., 2]


def look_at(eye: np.ndarray, target: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """World-to-camera [R | t] of an OpenCV camera at ``eye`` looking at ``target``, Z-up world."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = cross(z, WORLD_UP)
    if np.linalg.norm(x) < 1e-6:  # looking straight up or down
        x = cross(z, [0.0, 1.0, 0.0])
    x = x / np.linalg.norm(x)
    y = cross(z, x)
    rotation = np.stack([x, y, z])
    if roll:
        c, s = np.cos(np.radians(roll)), np.sin(np.radians(roll))
        rotation = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ rotation
    return np.concatenate([rotation, -(rotation @ eye)[:, None]], 1)


def fit_focal(points: np.ndarray, extrinsics: np.ndarray, fill: float, width: int, height: int) -> Camera:
    """The camera at ``extrinsics`` whose focal length makes ``points`` span ``fill`` of the image."""
    unit = Camera(pinhole_intrinsics(1.0, width, height), extrinsics)
    pixels, _ = unit.project(points)
    extent = (np.abs(pixels - unit.intrinsics[:2, 2]) / (np.array([width, height]) / 2)).max()
    return Camera(pinhole_intrinsics(fill / extent, width, height), extrinsics)


def frame_camera(
    points: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    focal: float,
    fill: float,
    width: int,
    height: int,
    roll: float = 0.0,
) -> Camera:
    """Place a camera along the unit ``direction`` from ``target`` so ``points`` span ``fill`` of the image.

    The distance is refined a few times because perspective extent is not linear in distance.
    Along the ray the rotation stays the same and a point's camera depth grows by the distance, so
    the points are rotated once: each refinement is then a few passes over them (cheap enough for
    every vertex of a take, no convex hull needed).
    """
    intrinsics = pinhole_intrinsics(focal, width, height)
    # camera frame at distance 0, as planar rows (3, P): whole-row passes, not strided columns
    x, y, z = look_at(target + direction, target, roll)[:, :3] @ (points - target).T
    scale = np.array([intrinsics[0, 0] / (width / 2), intrinsics[1, 1] / (height / 2)])
    distance = max(3.0, 2 * np.sqrt((x * x + y * y + z * z).max()))
    x, y = np.abs(x), np.abs(y)
    for _ in range(6):
        depth = z + distance
        if depth.min() <= 0.1:
            distance *= 1.5
            continue
        inverse = 1.0 / depth
        extent = max(scale[0] * (x * inverse).max(), scale[1] * (y * inverse).max())
        distance *= extent / fill
    return Camera(intrinsics, look_at(target + direction * distance, target, roll))


def sample_rig(
    rng: np.random.Generator,
    config: RigConfig,
    points: np.ndarray,
    width: int,
    height: int,
    eyes: np.ndarray | None = None,
) -> list[Camera]:
    """``config.views`` cameras around ``points`` (all vertices of all frames of a take, (P, 3)).

    Without ``eyes`` (open space) the directions come from the azimuth/elevation ranges and the
    distance from framing; with ``eyes`` (camera positions chosen inside a 3D scene) the focal
    length is fitted instead so the body fits from where each camera stands.
    """
    lo, hi = points.min(0), points.max(0)
    target = (lo + hi) / 2
    start = rng.uniform(0, 360)
    cameras = []
    for view in range(config.views):
        fill = rng.uniform(*config.fill)
        roll = rng.uniform(-config.roll, config.roll)
        if eyes is not None:
            cameras.append(fit_focal(points, look_at(eyes[view], target, roll), fill, width, height))
            continue
        azimuth = np.radians(
            start
            + view * config.azimuth_range / config.views
            + rng.uniform(-config.azimuth_jitter, config.azimuth_jitter)
        )
        elevation = np.radians(rng.uniform(*config.elevation))
        direction = np.array(
            [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)]
        )
        focal = rng.uniform(*config.focal) * width
        camera = frame_camera(points, direction, target, focal, fill, width, height, roll)
        distance = np.linalg.norm(camera.position - target)
        if not config.distance[0] <= distance <= config.distance[1]:
            # Keep the distance in range and refit the focal length to the same fill instead.
            distance = float(np.clip(distance, *config.distance))
            camera = fit_focal(points, look_at(target + direction * distance, target, roll), fill, width, height)
        cameras.append(camera)
    return cameras
