"""Uniform and human-centric masking: counts against the paper's formula, fallbacks, determinism."""

from __future__ import annotations

import math

import pytest
import torch

from crocohuman.model.masking import human_centric_mask, person_patches, uniform_mask

N = 16  # a 4x4 patch grid


def rows(*person_counts: int, patches: int = N) -> torch.Tensor:
    """Person patches [B, patches]: row b has its first person_counts[b] patches marked as person."""
    return torch.arange(patches)[None, :] < torch.tensor(person_counts)[:, None]


def test_uniform_mask_hides_int_ratio_n_per_row_uniformly():
    masks = uniform_mask(2000, 196, 0.9, torch.Generator().manual_seed(0))
    assert masks.dtype == torch.bool and masks.shape == (2000, 196)
    assert (masks.sum(1) == int(0.9 * 196)).all()
    assert abs(masks.float().mean(0) - 176 / 196).max() < 0.03  # every patch equally likely


def test_person_patches_uses_the_pixel_fraction_in_raster_order():
    masks = torch.zeros(1, 8, 12, dtype=torch.bool)  # 2x3 patches of 4 pixels
    masks[0, 0:4, 4:8] = True  # patch (0, 1): all person
    masks[0, 4:5, 8:12] = True  # patch (1, 2): a quarter person
    masks[0, 4:5, 0:3] = True  # patch (1, 0): 3/16 person
    assert person_patches(masks, 4).tolist() == [[False, True, False, False, False, True]]
    assert person_patches(masks, 4, min_fraction=0.1).tolist() == [[False, True, False, True, False, True]]
    with pytest.raises(ValueError, match="multiple of the patch size"):
        person_patches(masks, 5)


@pytest.mark.parametrize("pad_to", ["max_human", "max_visible"])
def test_human_centric_counts_follow_the_formula(pad_to):
    ratio, person = 0.75, rows(8, 5, 2, 11, patches=64)  # background enough to pad every row
    masks = human_centric_mask(person, ratio, torch.ones(4, dtype=torch.bool), torch.Generator().manual_seed(1), pad_to)
    humans = person.sum(1)
    shown = humans - torch.floor(ratio * humans.double()).long()
    assert shown.tolist() == [2, 2, 1, 3]
    length = int(humans.max()) if pad_to == "max_human" else int(shown.max())
    visible = ~masks
    assert (visible.sum(1) == length).all()  # equal sequence lengths
    # Exactly n person patches visible; the rest of the visible set is background.
    assert (visible & person).sum(1).tolist() == shown.tolist()
    assert (visible & ~person).sum(1).tolist() == (length - shown).tolist()


def test_rows_short_of_background_show_extra_person_patches():
    person = rows(16, 4)  # row 0 is all person: no background to pad with
    masks = human_centric_mask(person, 0.75, torch.ones(2, dtype=torch.bool), torch.Generator().manual_seed(2))
    visible = ~masks
    assert visible.sum(1).tolist() == [16, 16]  # L = max N_H = 16
    assert (visible & person).sum(1).tolist() == [16, 4]

    masks = human_centric_mask(
        rows(14, 4), 0.5, torch.ones(2, dtype=torch.bool), torch.Generator().manual_seed(2), "max_visible"
    )
    # L = max n = 7; row 0 has n = 7, row 1 has n = 2 plus 5 of its 12 background patches.
    assert (~masks).sum(1).tolist() == [7, 7]
    assert (~masks & rows(14, 4)).sum(1).tolist() == [7, 2]

    person = rows(14, 12)
    masks = human_centric_mask(person, 0.75, torch.ones(2, dtype=torch.bool), torch.Generator().manual_seed(2))
    # L = 14. Row 0: n = 4, its 2 background patches, 8 more person patches. Row 1: n = 3,
    # its 4 background patches, 7 more person patches.
    assert (~masks).sum(1).tolist() == [14, 14]
    assert (~masks & person).sum(1).tolist() == [4 + 8, 3 + 7]


def test_rows_without_person_patches_fall_back_to_uniform_at_the_batch_length():
    person = rows(6, 6, 0)
    has_mask = torch.tensor([True, False, True])  # row 1 has no mask, row 2 an empty one
    generator = torch.Generator().manual_seed(3)
    counts = torch.zeros(N)
    for _ in range(300):
        visible = ~human_centric_mask(person, 0.75, has_mask, generator)
        assert visible.sum(1).tolist() == [6, 6, 6]  # L = max N_H = 6
        assert (visible[0] & person[0]).sum() == 6 - math.floor(0.75 * 6)
        counts += visible[1].float()
    # Uniform in the fallback row, although its person marks (ignored, has_mask False) cover 0..5.
    assert abs(counts / 300 - 6 / N).max() < 0.12


def test_no_mask_anywhere_is_plain_uniform_masking():
    masks = human_centric_mask(rows(6, 9), 0.75, torch.zeros(2, dtype=torch.bool), torch.Generator().manual_seed(4))
    assert (~masks).sum(1).tolist() == [N - int(0.75 * N)] * 2


def test_masks_are_deterministic_given_a_generator_and_vary_without_one():
    person = rows(8, 3, 12)
    has_mask = torch.tensor([True, True, False])
    a = human_centric_mask(person, 0.75, has_mask, torch.Generator().manual_seed(5))
    b = human_centric_mask(person, 0.75, has_mask, torch.Generator().manual_seed(5))
    c = human_centric_mask(person, 0.75, has_mask, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(
        uniform_mask(3, N, 0.5, torch.Generator().manual_seed(5)),
        uniform_mask(3, N, 0.5, torch.Generator().manual_seed(5)),
    )


def test_visible_person_patches_are_a_uniform_subset():
    person = rows(8)
    generator = torch.Generator().manual_seed(7)
    has_mask = torch.ones(1, dtype=torch.bool)
    counts = sum((~human_centric_mask(person, 0.75, has_mask, generator, "max_visible"))[0].float() for _ in range(400))
    assert counts[8:].sum() == 0  # L = n = 2: no background at all
    assert abs(counts[:8] / 400 - 2 / 8).max() < 0.08
    assert math.isclose(float(counts.sum()), 800)
