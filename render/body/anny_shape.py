"""anny's identity shape in numpy: blendshape coefficients from phenotypes, then rest vertices and
rest bone poses, the formulas of anny's ``get_phenotype_blendshape_coefficients`` and cached
``get_rest_model`` run on anny's own tables.

anny spends ~7 ms of small torch operations per identity on these, which a take of two images pays
once; here they cost ~1.2 ms, mostly the one large product with the vertex blendshapes.
``tests/test_anny_shape.py`` checks every output against anny's own functions.
"""

from __future__ import annotations

import numpy as np

from crocohuman.render.body.anny_population import interpolation_weights

DEFAULT_PHENOTYPE = 0.5  # anny's value for a phenotype it is not given (cup size, firmness, races)


class AnnyShape:
    """Shapes of one anny model (its compact phenotype blendshapes and cached bone orientations)."""

    def __init__(self, model):
        from anny.models.phenotype import PHENOTYPE_VARIATIONS

        if model.facial_action_labels or model.local_change_labels or model.phenotype_blendshape_projection is None:
            raise ValueError("AnnyShape needs anny's default model: compact phenotype blendshapes only")
        if model.bone_orientation != "cached" or model.rest_orientation_refiner is not None:
            raise ValueError(f"AnnyShape needs anny's cached bone orientations, not {model.bone_orientation!r}")
        self.variations = list(PHENOTYPE_VARIATIONS.items())  # feature -> its variations, anny's stacking order
        self.anchors = {
            feature: model.anchors[feature].double().numpy() for feature, _ in self.variations if feature != "race"
        }
        self.extrapolate = bool(model.extrapolate_phenotypes)
        self.labels = list(model.phenotype_labels)
        self.mask = model.stacked_phenotype_blend_shapes_mask.numpy() > 0.5  # (shapes, variations)
        self.projection = model.phenotype_blendshape_projection.double().numpy()  # (shapes, coefficients)
        self.template_vertices = model.template_vertices.numpy()  # (V, 3) float32
        self.blendshapes = model.blendshapes.numpy().reshape(len(model.blendshapes), -1)  # (C, V * 3): one gemv
        self.template_heads = model.template_bone_heads.double().numpy()
        self.head_blendshapes = model.bone_heads_blendshapes.double().numpy()
        self.template_orientations = model.bone_template_orientation_matrices.double().numpy()
        self.orientation_blendshapes = model.bone_orientation_blendshapes.double().numpy()
        self.root_identity = bool(model.root_identity_orientation)

    def coefficients(self, phenotypes: dict[str, float]) -> np.ndarray:
        """Blendshape coefficients (C,) of phenotype values in [0, 1]: each phenotype shape weighs the
        product of its variations' interpolation weights, then the compact projection."""
        value = {label: float(phenotypes.get(label, DEFAULT_PHENOTYPE)) for label in self.labels}
        weights = []
        for feature, variations in self.variations:
            if feature == "race":  # the races share the weight in proportion to their values, or equally
                races = np.array([value.get(race, DEFAULT_PHENOTYPE) for race in variations])
                total = races.sum()
                weights.append(races / total if total > 0 else np.full(len(races), 1.0 / len(races)))
            else:
                weights.append(
                    interpolation_weights(
                        value.get(feature, DEFAULT_PHENOTYPE), self.anchors[feature], self.extrapolate
                    )
                )
        stacked = np.concatenate(weights)
        return np.where(self.mask, stacked, 1.0).prod(axis=1) @ self.projection

    def rest(self, coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rest vertices (V, 3) float32 and rest bone poses (bones, 4, 4) float64 of a shape."""
        vertices = self.template_vertices + (coefficients.astype(np.float32) @ self.blendshapes).reshape(-1, 3)
        heads = self.template_heads + np.einsum("c,cbd->bd", coefficients, self.head_blendshapes)
        # per bone, the vertex cross-covariance whose nearest rotation is its rest orientation
        covariance = self.template_orientations + np.einsum("c,cbij->bij", coefficients, self.orientation_blendshapes)
        poses = np.zeros((len(heads), 4, 4))
        poses[:, :3, :3] = nearest_rotations(covariance)
        poses[:, :3, 3], poses[:, 3, 3] = heads, 1.0
        if self.root_identity:
            poses[0, :3, :3] = np.eye(3)
        return vertices, poses


def nearest_rotations(matrices: np.ndarray) -> np.ndarray:
    """The rotations nearest to each of ``matrices`` (..., 3, 3) in Frobenius norm (special Procrustes, by SVD)."""
    u, _, vt = np.linalg.svd(matrices)
    flip = np.sign(np.linalg.det(u @ vt))
    u[..., :, 2] *= flip[..., None]
    return u @ vt
