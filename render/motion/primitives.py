"""The motion primitives of the built-in sampler (walk, run, turn, idle, squat, bend, reach, wave,
clap, arms_raise, kick) and the random standing style they are laid over.

Each primitive draws its amplitude, speed, phase and handedness from the generator, edits a
``Pose`` (joint_limits.py) in place and returns the heading change it asks for (radians about
world Z, per frame).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from scipy.spatial.transform import Rotation

from crocohuman.core.conventions import SMPL_TPOSE_JOINTS
from crocohuman.render.motion.curves import activation, bump, keyframes, ramp_integral, smoothstep
from crocohuman.render.motion.joint_limits import EULER_ORDER, JOINT_LIMITS_DEG, NUM_POSE_JOINTS, Angle, Pose


def _sides(rng: np.random.Generator, both_p: float = 0.25) -> tuple[str, ...]:
    """Handedness: one random arm/leg, or both with probability both_p."""
    if rng.uniform() < both_p:
        return ("left", "right")
    return (("left", "right")[rng.integers(2)],)


# ---------------------------------------------------------------------------------------------
# Style and primitives. Each primitive edits the pose in place and returns the heading change
# (radians about world Z, per frame) it asks for.


def random_style(rng: np.random.Generator) -> np.ndarray:
    """A random relaxed standing pose plus small per-joint noise: who is moving, not how."""
    pose = Pose(np.zeros((NUM_POSE_JOINTS, 3)), 1)
    for side in ("left", "right"):
        pose.add("shoulder", side, x=rng.uniform(-8, 4), y=rng.uniform(-8, 8), z=-rng.uniform(66, 78))
        pose.add("elbow", side, y=-rng.uniform(8, 25))
        knee = rng.uniform(0, 6)
        pose.add("knee", side, x=knee)
        pose.add("hip", side, x=-knee / 2, z=rng.uniform(-2, 5))
        pose.add("ankle", side, x=-knee / 2)
    pose.add("spine3", x=rng.uniform(-3, 6))
    pose.add("head", x=rng.uniform(-5, 10))
    low, high = JOINT_LIMITS_DEG
    noise = rng.normal(size=low.shape) * np.minimum(4.0, 0.05 * (high - low))
    return pose.euler[0] + noise


def _lean(pose: Pose, degrees: Angle) -> None:
    """Tilt the pelvis forward while the thighs keep their direction in the world."""
    pose.add("pelvis", x=degrees)
    for side in ("left", "right"):
        pose.add("hip", side, x=-degrees)


@dataclass(frozen=True)
class _Gait:
    freq: float  # strides (left + right step) per second
    hip: float  # thigh swing amplitude, degrees
    knee_swing: float  # forward gaits; stepping in place bends the knee twice the hip
    knee_stance: float
    knee_peak: float  # gait phase of the swing knee's peak flexion (thigh forward at pi / 2)
    knee_sharpness: float  # narrower swing bump for walking than for running
    arm: float  # arm swing amplitude, degrees
    elbow: float  # extra elbow flexion, degrees
    lean: float
    in_place: bool


_Draw = float | tuple[float, float]  # a fixed value, or the (low, high) of a uniform draw


def _draw(rng: np.random.Generator, value: _Draw) -> float:
    """A uniform draw from a range; a fixed value takes nothing from the generator."""
    return rng.uniform(*value) if isinstance(value, tuple) else value


def _chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability p; a certain outcome (p = 0 or 1) takes nothing from the generator."""
    return p >= 1.0 or (p > 0.0 and rng.uniform() < p)


@dataclass(frozen=True)
class _GaitRanges:
    """Where one gait kind draws its ``_Gait`` from: the same fields, as ranges or fixed values."""

    freq: _Draw
    hip: _Draw
    knee_swing: _Draw
    knee_stance: _Draw
    knee_peak: _Draw
    knee_sharpness: _Draw
    arm: _Draw
    elbow: _Draw
    lean: _Draw
    in_place_p: float  # chance of stepping in place

    def sample(self, rng: np.random.Generator) -> _Gait:
        """Draws in ``_Gait``'s field order, the order every recorded clip's random stream follows."""
        drawn = {f.name: _draw(rng, getattr(self, f.name)) for f in fields(_Gait) if f.name != "in_place"}
        return _Gait(**drawn, in_place=_chance(rng, self.in_place_p))


# Per gait kind, in field order: freq (Hz), hip, knee_swing, knee_stance, knee_peak, knee_sharpness,
# arm, elbow, lean (degrees), in_place_p. Turning steps in place, knee lifting with the hip (see
# _gait), so it has no swing bump.
_GAIT_RANGES = {
    "walk": _GaitRanges((0.8, 1.05), (16, 28), (45, 62), (3, 10), 0.4, 3.0, (8, 28), (5, 20), (0, 5), 0.0),
    "run": _GaitRanges((1.2, 1.45), (28, 38), (65, 85), (12, 22), 0.1, 2.0, (20, 38), (60, 90), (4, 12), 0.3),
    "turn": _GaitRanges((0.9, 1.3), (14, 24), 0.0, (3, 10), 0.0, 0.0, (3, 12), (5, 15), (0, 4), 1.0),
}


def _gait(rng: np.random.Generator, t: np.ndarray, pose: Pose, g: _Gait) -> None:
    """Cyclic stepping: legs in antiphase, arms opposite the legs, pelvis twist and drop."""
    phase0 = 2.0 * np.pi * g.freq * t + rng.uniform(0, 2 * np.pi)
    twist, drop = rng.uniform(3, 8), rng.uniform(2, 5)
    plantar, dorsi = rng.uniform(10, 20), rng.uniform(5, 12)
    for side, phase in (("left", phase0), ("right", phase0 + np.pi)):
        swing = np.sin(phase)  # +1: this thigh furthest forward
        if g.in_place:  # knee lifts; knee = 2 x hip keeps the foot under the hip
            flex = g.hip * (0.5 + 0.5 * swing)
            knee = g.knee_stance + 2.0 * flex
        else:
            flex = g.hip * swing
            knee = g.knee_stance + g.knee_swing * bump(phase - g.knee_peak, g.knee_sharpness)
        pose.add("hip", side, x=-flex)
        pose.add("knee", side, x=knee)
        pose.add("ankle", side, x=plantar * bump(phase + 1.9) - dorsi * bump(phase - 0.3))
        pose.add("shoulder", side, x=g.arm * swing)
        pose.add("elbow", side, y=-g.elbow * (0.7 - 0.3 * swing))
    pose.add("pelvis", y=-twist * np.sin(phase0), z=-drop * np.cos(phase0))
    pose.add("spine3", y=1.2 * twist * np.sin(phase0))
    pose.add("spine1", z=0.5 * drop * np.cos(phase0))
    _lean(pose, g.lean)
    pose.add("spine2", x=g.lean / 2)


def _drift(rng: np.random.Generator, t: np.ndarray, p: float, rate: float) -> np.ndarray:
    """Heading turning at a constant random rate (up to ``rate`` rad/s either way) with probability p."""
    curve = rng.uniform(-rate, rate) if rng.uniform() < p else 0.0
    return curve * t


def _walk(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Walking forward, along a gentle curve half of the time."""
    _gait(rng, t, pose, _GAIT_RANGES["walk"].sample(rng))
    return _drift(rng, t, p=0.5, rate=0.3)


def _run(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Running, now and then on the spot, seldom along a curve."""
    _gait(rng, t, pose, _GAIT_RANGES["run"].sample(rng))
    return _drift(rng, t, p=0.3, rate=0.2)


def _turn(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Stepping in place while the whole body rotates about the vertical, head leading."""
    _gait(rng, t, pose, _GAIT_RANGES["turn"].sample(rng))
    direction = rng.choice([-1.0, 1.0])
    ease = rng.uniform(0.3, 0.8)
    lead = smoothstep(t / ease)
    pose.add("neck", y=direction * rng.uniform(10, 25) * lead)
    pose.add("spine3", y=direction * rng.uniform(4, 10) * lead)
    return direction * rng.uniform(0.7, 1.8) * ramp_integral(t, ease)


def _idle(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Standing: slow weight shift between the legs, breathing, looking around."""
    shift = np.sin(2 * np.pi * rng.uniform(0.08, 0.25) * t + rng.uniform(0, 2 * np.pi))
    tilt, knee = rng.uniform(2, 5), rng.uniform(3, 12)
    for side, s in (("left", shift), ("right", -shift)):
        pose.add("hip", side, z=-tilt * s)  # weight on the left: left hip adducts
        pose.add("knee", side, x=knee * (1 - s) / 2)  # the unloaded knee relaxes
    pose.add("spine1", z=0.5 * tilt * shift)
    pose.add("spine2", x=1.5 * np.sin(2 * np.pi * rng.uniform(0.2, 0.3) * t))
    looks = np.arange(-1.0, t[-1] + 4.0, rng.uniform(1.2, 3.0))
    gaze = rng.uniform(-1, 1, size=(len(looks), 2)) * [25, 12]
    look = keyframes(t, looks, gaze)
    pose.add("neck", x=look[:, 1], y=look[:, 0])
    for side in ("left", "right"):
        pose.add("shoulder", side, x=2 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6)))
    return np.zeros_like(t)


def _squat(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Repeated squats, feet flat: thigh forward, shank tilted, trunk leaning for balance."""
    w, cycle = activation(rng, t, rise=(0.8, 1.5), hold=(0.1, 1.0), fall=(0.8, 1.5), rest=(0.2, 1.2))
    depth = w * rng.uniform(0.35, 1.0, size=cycle.max() + 1)[cycle]
    thigh, shank, trunk = 90 * depth, 35 * depth, 30 * depth
    for side in ("left", "right"):
        pose.add("hip", side, x=-thigh, z=8 * depth)
        pose.add("knee", side, x=thigh + shank)
        pose.add("ankle", side, x=-shank)
    _lean(pose, trunk)
    pose.add("spine2", x=0.3 * trunk)
    pose.add("neck", x=-0.5 * trunk)
    if rng.uniform() < 0.6:  # arms forward for balance
        for side in ("left", "right"):
            pose.toward("shoulder", side, w, x=-rng.uniform(60, 90))
    return np.zeros_like(t)


def _bend(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Bending forward at the hips and spine (as to pick something up), arms hanging."""
    w, cycle = activation(rng, t, rise=(0.8, 1.6), hold=(0.2, 1.5), fall=(0.8, 1.6), rest=(0.3, 1.5))
    amount = w * rng.uniform(0.4, 1.0, size=cycle.max() + 1)[cycle]
    twist = w * rng.uniform(-12, 12, size=cycle.max() + 1)[cycle]
    hips, spine = 55 * amount, 12 * amount
    _lean(pose, hips)
    for part in ("spine1", "spine2", "spine3"):
        pose.add(part, x=spine, y=twist / 3)
    pose.add("neck", x=-10 * amount)
    knees = rng.uniform(0, 15)
    for side in ("left", "right"):
        pose.add("knee", side, x=knees * amount)
        pose.add("hip", side, x=-knees * amount / 2)
        pose.add("shoulder", side, x=-rng.uniform(0.6, 1.0) * (hips + 3 * spine))  # hang down
    return np.zeros_like(t)


def _swing_to(direction: np.ndarray) -> np.ndarray:
    """Euler angles (x, y, z) of the shortest rotation taking a left T-pose arm to a direction."""
    rest = np.array([1.0, 0.0, 0.0])
    axis = np.cross(rest, direction)
    angle = np.arctan2(np.linalg.norm(axis), rest @ direction)
    rotvec = axis / max(np.linalg.norm(axis), 1e-12) * angle
    return Rotation.from_rotvec(rotvec).as_euler(EULER_ORDER, degrees=True)[[0, 2, 1]]


def _reach(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """One or both arms reaching to random directions (forward, up, aside, low, across)."""
    w, cycle = activation(rng, t, rise=(0.6, 1.2), hold=(0.2, 1.2), fall=(0.6, 1.2), rest=(0.2, 1.0))
    sides = _sides(rng, both_p=0.3)
    mirrored = rng.uniform() < 0.5
    n = cycle.max() + 1
    targets = {}
    for k, side in enumerate(sides):
        if k and mirrored:
            targets[side] = targets[sides[0]]
            continue
        elevation = np.radians(rng.uniform(-45, 75, size=n))
        azimuth = np.radians(rng.uniform(-35, 110, size=n))  # from forward toward the arm's side
        targets[side] = np.stack(
            [np.cos(elevation) * np.sin(azimuth), np.sin(elevation), np.cos(elevation) * np.cos(azimuth)], -1
        )
    for side, dirs in targets.items():
        shoulder = np.array([_swing_to(d) for d in dirs])[cycle]
        elevation = np.degrees(np.arcsin(dirs[cycle, 1]))
        azimuth = np.degrees(np.arctan2(dirs[cycle, 0], dirs[cycle, 2]))
        pose.toward("shoulder", side, w, x=shoulder[:, 0], y=shoulder[:, 1], z=shoulder[:, 2])
        pose.toward("elbow", side, w, y=-rng.uniform(0, 20))
        pose.add("collar", side, z=w * np.clip(0.25 * elevation, 0, 15))
        pose.add("neck", side, x=-0.3 * w * elevation / len(sides), y=0.3 * w * azimuth / len(sides))
        pose.add("spine2", x=w * np.clip(-0.4 * elevation, 0, 20) / len(sides))  # lean to low targets
    return np.zeros_like(t)


def _wave(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Upper arm out and up, forearm upright and swinging side to side."""
    w, _ = activation(rng, t, rise=(0.5, 1.0), hold=(1.5, 4.0), fall=(0.5, 1.0), rest=(0.3, 1.5))
    for side in _sides(rng, both_p=0.15):
        raise_deg = rng.uniform(10, 45)
        # Twist the arm a quarter turn about itself so the elbow bends upward, then raise it.
        upper = Rotation.from_euler("z", raise_deg, degrees=True) * Rotation.from_euler("x", -90, degrees=True)
        x, z, y = upper.as_euler(EULER_ORDER, degrees=True)
        pose.toward("shoulder", side, w, x=x, y=y, z=z)
        wave = rng.uniform(15, 30) * np.sin(2 * np.pi * rng.uniform(1.5, 2.5) * t + rng.uniform(0, 6))
        pose.toward("elbow", side, w, y=-(90 - raise_deg))
        pose.add("elbow", side, y=w * wave)
        pose.add("collar", side, z=w * rng.uniform(0, 12))
    return np.zeros_like(t)


def _hands_meet(rng: np.random.Generator, pose: Pose, w: np.ndarray, opening: np.ndarray) -> None:
    """Both arms forward with weight ``w``, elbows flexed so that the hands meet at the midline, then
    opened by ``opening`` degrees (per frame) each."""
    shoulder, elbow, wrist = SMPL_TPOSE_JOINTS[[16, 18, 20]]
    upper, fore = np.linalg.norm(elbow - shoulder), np.linalg.norm(wrist - elbow)
    swing = rng.uniform(-80, -62)  # horizontal swing forward
    # Elbow flexion that brings the wrist to x = 6 cm, so the hands meet at the midline.
    reach = (0.06 - shoulder[0] - upper * np.cos(np.radians(swing))) / fore
    closed = float(np.clip(swing + np.degrees(np.arccos(np.clip(reach, -1, 1))), 20, 140))
    height = rng.uniform(-25, 10)
    for side in ("left", "right"):
        pose.toward("shoulder", side, w, x=height, y=swing, z=0.0)
        pose.toward("elbow", side, w, y=-closed)
        pose.add("elbow", side, y=w * opening)


def _clap(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Clapping: the hands meet at the midline and open 20-40 degrees between claps, arms down between bouts."""
    w, _ = activation(rng, t, rise=(0.5, 1.0), hold=(1.5, 4.0), fall=(0.5, 1.0), rest=(0.3, 1.5))
    _hands_meet(rng, pose, w, rng.uniform(20, 40) * (0.5 + 0.5 * np.cos(2 * np.pi * rng.uniform(1.5, 2.5) * t)))
    return np.zeros_like(t)


def _hands_together(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Hands held together at the midline all along (clasped, palms pressed, fingers interlaced), swaying
    a few degrees: the two-hand interaction of hand-focused sets, whose every frame frames both hands."""
    sway = rng.uniform(0, 5) * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t + rng.uniform(0, 2 * np.pi))
    _hands_meet(rng, pose, np.ones_like(t), np.abs(sway))
    return np.zeros_like(t)


def _arms_raise(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Raising one or both arms sideways, to the front, or overhead through the front."""
    w, cycle = activation(rng, t, rise=(0.6, 1.3), hold=(0.3, 1.5), fall=(0.6, 1.3), rest=(0.2, 1.2))
    n = cycle.max() + 1
    sideways = (rng.uniform(size=n) < 0.5)[cycle]
    sides = _sides(rng, both_p=0.6)
    for side in sides:
        up_side = rng.uniform(40, 85, size=n)[cycle]
        up_front = rng.uniform(80, 165, size=n)[cycle]
        pose.toward("shoulder", side, w * sideways, z=up_side, x=0.0)
        pose.toward("shoulder", side, w * ~sideways, x=-up_front)
        pose.toward("elbow", side, w, y=-rng.uniform(0, 15))
        pose.add("collar", side, z=w * np.clip(np.where(sideways, up_side, up_front) - 60, 0, 20))
    pose.add("neck", x=-w * rng.uniform(0, 15))
    return np.zeros_like(t)


def _kick(rng: np.random.Generator, t: np.ndarray, pose: Pose) -> np.ndarray:
    """Front kicks: chamber the knee, snap the leg out, chamber again, put the foot down."""
    side = ("left", "right")[rng.integers(2)]
    # channels: hip flexion, knee flexion, ankle plantarflexion, trunk lean back, support knee
    key_t, key_v = [], []
    now = -rng.uniform(0.0, 1.0)
    stand = [0.0] * 5
    while now <= t[-1]:
        chamber = [rng.uniform(45, 70), rng.uniform(80, 110), rng.uniform(0, 20), 5, 8]
        extend = [rng.uniform(60, 95), rng.uniform(0, 20), rng.uniform(20, 40), rng.uniform(5, 15), 12]
        # (pose, seconds until the next key): rest, chamber, snap out, hold, re-chamber, land
        for value, duration in (
            (stand, (0.2, 0.8)),
            (stand, (0.3, 0.45)),
            (chamber, (0.3, 0.45)),
            (extend, (0.05, 0.3)),
            (extend, (0.25, 0.4)),
            (chamber, (0.3, 0.5)),
        ):
            key_t.append(now)
            key_v.append(value)
            now += rng.uniform(*duration)
    track = keyframes(t, np.array(key_t), np.array(key_v, dtype=np.float64))
    other = "right" if side == "left" else "left"
    pose.add("hip", side, x=-track[:, 0])
    pose.add("knee", side, x=track[:, 1])
    pose.add("ankle", side, x=track[:, 2])
    pose.add("spine2", x=-track[:, 3])
    pose.add("knee", other, x=track[:, 4])
    pose.add("hip", other, x=-track[:, 4] / 2)
    balance = np.clip(track[:, 1] / 60.0 + track[:, 0] / 60.0, 0, 1)
    for arm in ("left", "right"):  # arms out for balance while the leg is up
        pose.add("shoulder", arm, z=rng.uniform(15, 35) * balance)
    return np.zeros_like(t)


PRIMITIVES: dict[str, Callable[[np.random.Generator, np.ndarray, Pose], np.ndarray]] = {
    "walk": _walk,
    "run": _run,
    "turn": _turn,
    "idle": _idle,
    "squat": _squat,
    "bend": _bend,
    "reach": _reach,
    "wave": _wave,
    "clap": _clap,
    "arms_raise": _arms_raise,
    "kick": _kick,
    "hands_together": _hands_together,
}
INTERACTIONS = ("hands_together",)  # drawn only for hand-focused sets (``SamplerMotions.interaction_p``)
MOTION_KINDS: tuple[str, ...] = tuple(kind for kind in PRIMITIVES if kind not in INTERACTIONS)
OVERLAY_BASES = ("walk", "turn", "idle")  # kinds whose arms are free for a gesture on top
OVERLAY_GESTURES = ("wave", "reach")
OVERLAY_P = 0.3
