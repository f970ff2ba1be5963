"""anny's identity shape in numpy (``anny_shape``) against anny's own torch functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crocohuman.core.conventions import ANNY_PHENOTYPES
from crocohuman.render.body.anny_shape import AnnyShape, nearest_rotations


@pytest.fixture(scope="module")
def model():
    from crocohuman.render.body.anny_body import _load_anny

    return _load_anny()[1]


def test_nearest_rotations_undo_a_stretch_and_never_reflect():
    rng = np.random.default_rng(0)
    rotations = nearest_rotations(rng.normal(size=(50, 3, 3)))
    np.testing.assert_allclose(
        rotations @ np.swapaxes(rotations, -1, -2), np.broadcast_to(np.eye(3), (50, 3, 3)), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0)
    rotation = nearest_rotations(rng.normal(size=(3, 3)))  # a rotation, stretched along its own axes, comes back
    np.testing.assert_allclose(nearest_rotations(rotation @ np.diag([0.5, 2.0, 3.0])), rotation, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_coefficients_and_rest_model_match_anny(model, seed):
    rng = np.random.default_rng(seed)
    phenotypes = dict(zip(ANNY_PHENOTYPES, rng.uniform(-0.1, 1.1, len(ANNY_PHENOTYPES)), strict=True))  # ends clamped
    shape = AnnyShape(model)
    coefficients = shape.coefficients(phenotypes)
    with torch.no_grad():
        expected = model.get_phenotype_blendshape_coefficients(**{k: torch.tensor([v]) for k, v in phenotypes.items()})
        rest = model.get_rest_model(expected)
    np.testing.assert_allclose(coefficients, expected[0].numpy(), atol=1e-6)
    vertices, poses = shape.rest(coefficients)
    np.testing.assert_allclose(vertices, rest["rest_vertices"][0].numpy(), atol=1e-6)  # metres
    np.testing.assert_allclose(poses, rest["rest_bone_poses"][0].double().numpy(), atol=2e-6)
