"""Contact sheet showing SMPL motion retargeted onto anny: anny render | the SMPL skeleton.

Each row is one clip (a built-in motion kind, or a random window of an AMASS file with
``--amass DIR``); each pair of panels is one time step seen by the same camera: anny as rendered,
with its SMPL-order joints drawn, and the SMPL kinematic tree posed by the same motion (forward
kinematics on the public tree, scaled to anny's leg length). Limbs should point the same way.

Run: ``.venv/bin/python scripts/retarget_sheet.py --output retarget.png [--amass DIR]``.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from crocohuman.core.conventions import SMPL_TPOSE_JOINTS
from crocohuman.core.kinematics import smpl_forward_kinematics
from crocohuman.render.body.anny_body import AnnyBody
from crocohuman.render.camera_rig import fit_focal, look_at
from crocohuman.render.motion import MOTION_KINDS, motion_source
from crocohuman.render.preview import draw_skeleton
from crocohuman.render.raster import MeshBuffers, Rasterizer
from crocohuman.render.take_renderer import VertexNormals, sample_lighting

SIZE = 192


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="retarget.png")
    parser.add_argument("--amass", help="AMASS folder; default: the built-in motion kinds")
    parser.add_argument("--clips", type=int, default=len(MOTION_KINDS))
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--fps", type=float, default=4.0)
    args = parser.parse_args()

    body = AnnyBody(texture_size=256)
    raster = Rasterizer(SIZE, SIZE)
    topology = body.topology
    labels = np.concatenate(
        [np.repeat(topology.face_parts[:, None, None].astype(np.float32), 3, 1), topology.face_iuv], -1
    ).reshape(-1, 3)
    rows = []
    for index in range(args.clips):
        rng = np.random.default_rng(index)
        source = motion_source(
            f"amass:{args.amass}" if args.amass else f"sampler:{MOTION_KINDS[index % len(MOTION_KINDS)]}"
        )
        clip = source.sample_clip(rng, args.frames, args.fps)
        identity = body.sample_identity(rng)
        posed = body.pose(identity, clip)
        vertices, joints = posed.vertices.astype(np.float64), posed.joints.astype(np.float64)
        smpl, _ = smpl_forward_kinematics(clip.global_orient, clip.body_pose, SMPL_TPOSE_JOINTS, clip.transl)
        # The SMPL skeleton scaled to anny's size and moved onto anny's pelvis, for display.
        scale = np.linalg.norm(joints[0, 4] - joints[0, 1]) / np.linalg.norm(smpl[0, 4] - smpl[0, 1])
        smpl = (smpl - smpl[:, :1]) * scale + joints[:, :1]
        centre = vertices.reshape(-1, 3).mean(0)
        heading = np.arctan2(*(joints[0, 1, :2] - joints[0, 2, :2])[::-1]) - np.pi / 2  # face the person
        eye = centre + 4 * np.array([np.cos(heading + 0.5), np.sin(heading + 0.5), 0.15])
        camera = fit_focal(
            np.concatenate([vertices.reshape(-1, 3), smpl.reshape(-1, 3)]), look_at(eye, centre), 0.9, SIZE, SIZE
        )
        raster.set_mesh("person", MeshBuffers(topology.face_uvs.reshape(-1, 2), labels, identity.texture))
        lighting = sample_lighting(rng)
        panels = []
        faces, normals = topology.faces, VertexNormals(topology.faces)
        for t in range(args.frames):
            raster.update_mesh("person", vertices[t][faces].reshape(-1, 3), normals(vertices[t])[faces].reshape(-1, 3))
            color, label = raster.render(camera.intrinsics, camera.extrinsics, lighting)
            color = np.where(label[..., :1] > 0, color, 235).astype(np.uint8)
            panels.append(draw_skeleton(color, camera.project(joints[t])[0]))
            blank = np.full((SIZE, SIZE, 3), 255, np.uint8)
            panels.append(draw_skeleton(blank, camera.project(smpl[t])[0], color=(30, 120, 30)))
        rows.append(np.concatenate(panels, 1))
        print(f"row {index}: {clip.source}, {identity.description}")
    Image.fromarray(np.concatenate(rows, 0)).save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
