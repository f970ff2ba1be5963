"""Reader for native AMASS ``.npz`` motion files (SMPL+H "G" release and SMPL-X/SMPL+H stageii).

Layout: ``<root>/<sub-dataset>/<subject>/*_poses.npz``; ``shape.npz`` files hold only a body
shape and are skipped. Two key layouts exist: the classic ``poses`` (T, 156) (or (T, 165) for
SMPL-X, (T, 72) for SMPL), and the stageii separate ``root_orient`` / ``pose_body`` /
``pose_hand``. The frame rate is ``mocap_framerate`` in the first, ``mocap_frame_rate`` in the
second. Poses are axis-angle in AMASS's Z-up world, which is ours (see ``conventions``).
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from crocohuman.core.conventions import NUM_BODY_JOINTS
from crocohuman.core.rotations import slerp_axis_angle
from crocohuman.render.motion.clip import MotionClip
from crocohuman.render.unreadable_inputs import UnreadableInputs

LAYOUT = "<sub-dataset>/<subject>/*_poses.npz"
_SHAPE_FILE = "shape.npz"
_BODY = 3 + 3 * NUM_BODY_JOINTS  # root + 21 body joints = 66 values
_HANDS = 90  # 15 joints per hand
# Width of ``poses`` -> where the 90 hand values start (None: no hands, plain SMPL).
_POSES_LAYOUTS: dict[int, int | None] = {156: 66, 165: 75, 72: None}


def _frame_rate(data: np.lib.npyio.NpzFile) -> float:
    for key in ("mocap_framerate", "mocap_frame_rate"):
        if key in data.files:
            return float(data[key])
    raise ValueError("no frame rate (mocap_framerate or mocap_frame_rate)")


def _pose_arrays(data: np.lib.npyio.NpzFile) -> tuple[np.ndarray, np.ndarray | None]:
    """(T, 66) root + body pose and the (T, 90) hand pose (or None), from either key layout."""
    if "poses" in data.files:
        poses = np.asarray(data["poses"], dtype=np.float64)
        if poses.ndim != 2 or poses.shape[1] not in _POSES_LAYOUTS:
            raise ValueError(f"poses has shape {poses.shape}, expected (T, 156), (T, 165) or (T, 72)")
        hands_at = _POSES_LAYOUTS[poses.shape[1]]
        hands = None if hands_at is None else poses[:, hands_at : hands_at + _HANDS]
        return poses[:, :_BODY], hands
    missing = [k for k in ("root_orient", "pose_body") if k not in data.files]
    if missing:
        raise ValueError(f"no 'poses' and no {missing} (keys: {sorted(data.files)})")
    root = np.asarray(data["root_orient"], dtype=np.float64)
    body = np.asarray(data["pose_body"], dtype=np.float64)
    hands = np.asarray(data["pose_hand"], dtype=np.float64) if "pose_hand" in data.files else None
    if root.ndim != 2 or root.shape[1] != 3 or body.shape != (len(root), _BODY - 3):
        raise ValueError(f"root_orient {root.shape} / pose_body {body.shape}, expected (T, 3) / (T, 63)")
    if hands is not None and hands.shape != (len(root), _HANDS):
        raise ValueError(f"pose_hand has shape {hands.shape}, expected ({len(root)}, {_HANDS})")
    return np.concatenate([root, body], axis=1), hands


def _gender(data: np.lib.npyio.NpzFile) -> str | None:
    if "gender" not in data.files:
        return None
    value = np.asarray(data["gender"]).reshape(-1)[0]
    return value.decode() if isinstance(value, bytes) else str(value)


def load_amass_npz(path: str | Path, root: str | Path | None = None) -> MotionClip:
    """One whole AMASS file as a clip at its own frame rate.

    ``source`` is ``amass:<path relative to root>`` (the file name when no root is given).
    Raises ValueError naming the file for anything unreadable or malformed.
    """
    path = Path(path)
    name = path.relative_to(root).as_posix() if root is not None else path.name
    try:
        with open(path, "rb") as handle:  # ours to close, also when np.load fails half-way
            data = np.load(handle, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            body, hands = _pose_arrays(data)
            if "trans" not in data.files:
                raise ValueError(f"no 'trans' (keys: {sorted(data.files)})")
            trans = np.asarray(data["trans"], dtype=np.float64)
            fps = _frame_rate(data)
            betas = np.asarray(data["betas"], dtype=np.float64) if "betas" in data.files else None
            gender = _gender(data)
        if len(body) == 0:
            raise ValueError("no frames")
        if trans.shape != (len(body), 3):
            raise ValueError(f"trans has shape {trans.shape}, expected ({len(body)}, 3)")
        if not fps > 0:
            raise ValueError(f"frame rate {fps} is not positive")
        if not all(np.isfinite(a).all() for a in (body, trans, hands) if a is not None):
            raise ValueError("non-finite poses or translations")
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, ValueError) as exc:
        raise ValueError(f"AMASS file {path}: {exc}") from exc
    return MotionClip(
        global_orient=body[:, :3],
        body_pose=body[:, 3:].reshape(-1, NUM_BODY_JOINTS, 3),
        transl=trans,
        fps=fps,
        source=f"amass:{name}",
        hand_pose=None if hands is None else hands.reshape(-1, 2, _HANDS // 6, 3),  # left 15, then right 15
        betas=betas if betas is None or betas.ndim == 1 else betas[0],  # some store one per frame
        gender=gender,
    )


def resample(clip: MotionClip, fps: float, start_frame: int = 0, num_frames: int | None = None) -> MotionClip:
    """Frames at times k / fps from ``start_frame`` on: slerp per joint, linear translation.

    Times past the end hold the last frame. ``num_frames=None`` takes as many as fit in the clip.
    Frames at source instants are copied exactly.
    """
    step = clip.fps / fps
    if num_frames is None:
        num_frames = int(np.floor((clip.num_frames - 1 - start_frame) / step + 1e-9)) + 1
    u = np.minimum(start_frame + np.arange(num_frames) * step, clip.num_frames - 1)
    i0 = np.floor(u).astype(int)
    i1 = np.minimum(i0 + 1, clip.num_frames - 1)
    frac = u - i0

    def rotations(aa: np.ndarray) -> np.ndarray:
        return slerp_axis_angle(aa[i0], aa[i1], frac.reshape((-1,) + (1,) * (aa.ndim - 2)))

    return MotionClip(
        global_orient=rotations(clip.global_orient),
        body_pose=rotations(clip.body_pose),
        transl=clip.transl[i0] + frac[:, None] * (clip.transl[i1] - clip.transl[i0]),
        fps=float(fps),
        source=clip.source,
        hand_pose=rotations(clip.hand_pose),
        betas=clip.betas,
        gender=clip.gender,
        extra={**clip.extra, "source_fps": clip.fps, "start_frame": start_frame},
    )


class AmassMotions:
    """Random windows of AMASS motions under a directory, loaded lazily and resampled.

    Malformed files are skipped with one warning each (counted in ``num_skipped``); the choice
    of file and window depends only on the rng and the directory's contents: the randomness is
    drawn up front (an order of files, a start) and files already known to be malformed or too
    short are passed over exactly where reading them would have rejected them.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        found = self.directory.rglob("*.npz") if self.directory.is_dir() else ()
        self.files: list[Path] = sorted(p for p in found if p.name != _SHAPE_FILE)
        if not self.files:
            raise FileNotFoundError(f"no AMASS motions in {self.directory}: expected a directory laid out as {LAYOUT}")
        self.unreadable = UnreadableInputs()
        self._durations: dict[Path, float] = {}  # seconds, of each valid file read so far

    @property
    def num_skipped(self) -> int:
        return len(self.unreadable)

    @property
    def skipped(self) -> list[Path]:
        return sorted(self.unreadable.known)

    def drain_skipped(self) -> list[Path]:
        """The malformed files drawn since the last call (see ``UnreadableInputs``)."""
        return self.unreadable.drain()

    def _load(self, path: Path) -> MotionClip | None:
        """The clip, or None (warning the first time) if the file is malformed."""
        if path in self.unreadable:
            self.unreadable.drawn(path)
            return None
        try:
            clip = load_amass_npz(path, self.directory)
        except ValueError as exc:
            self.unreadable.drawn(path)
            warnings.warn(f"skipping AMASS file: {exc}", stacklevel=3)
            return None
        self._durations[path] = (clip.num_frames - 1) / clip.fps
        return clip

    def sample_clip(self, rng: np.random.Generator, num_frames: int, fps: float = 30.0) -> MotionClip:
        """A random window of ``num_frames`` frames at ``fps`` from a random file long enough.

        Files are tried in random order; if none is long enough, the longest is used from its
        start and its last frame held.
        """
        needed = (num_frames - 1) / fps  # seconds the window spans
        order = rng.permutation(len(self.files))
        offset = rng.uniform()  # where the window starts within the room the file leaves
        for path in (self.files[i] for i in order):
            if self._durations.get(path, np.inf) < needed - 1e-9:
                continue  # known to be too short, no need to read it again
            clip = self._load(path)
            if clip is not None and self._durations[path] >= needed - 1e-9:
                room = int(np.floor(clip.num_frames - 1 - needed * clip.fps + 1e-9)) + 1
                return resample(clip, fps, int(offset * room), num_frames)
        if not self._durations:
            raise ValueError(
                f"no readable AMASS motion in {self.directory}: all {len(self.files)} .npz files "
                "were skipped as malformed (see the warnings)"
            )
        longest = max(sorted(self._durations), key=self._durations.__getitem__)
        return resample(self._load(longest), fps, 0, num_frames)
