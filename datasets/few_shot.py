"""k-shot training subsets of a classification benchmark (HaGRID gestures, GUN-71 grasps: paper
Table 2), drawn so that smaller subsets nest inside larger ones."""

from __future__ import annotations

import numpy as np


def few_shot_indices(dataset, shots: int, seed: int) -> list[int]:
    """``shots`` sample indices per class of ``dataset`` (which has ``labels`` and ``classes``),
    drawn deterministically from ``seed``, sorted.

    Each class draws from its own generator ``default_rng([seed, class])`` as a permutation of its
    indices, so the 16-shot subset is inside the 32- and 64-shot subsets of the same seed, and one
    class's draw does not depend on the others. A class with fewer than ``shots`` samples raises
    ValueError naming it.
    """
    if shots < 1:
        raise ValueError(f"shots must be at least 1, not {shots}")
    labels = np.asarray(dataset.labels)
    chosen: list[int] = []
    for label, name in enumerate(dataset.classes):
        members = np.flatnonzero(labels == label)
        if len(members) < shots:
            raise ValueError(f"{dataset.name}: class {name!r} has {len(members)} samples, fewer than {shots} shots")
        chosen.extend(np.random.default_rng([seed, label]).permutation(members)[:shots].tolist())
    return sorted(chosen)
