"""NonzeroSampler: a uniform draw of one nonzero cell, by row-major rank."""
import numpy as np
import pytest

from mmseg_ood.datasets.transforms.sampling import NonzeroSampler


def test_draw_is_the_rank_th_cell_of_argwhere():
    rng = np.random.default_rng(0)
    mask = rng.random((9, 13)) < 0.3
    mask[4] = False  # an empty row in the middle
    cells = np.argwhere(mask)  # row-major reference order
    sampler = NonzeroSampler(mask.view(np.uint8))
    assert len(sampler) == len(cells)
    for seed in range(50):
        np.random.seed(seed)
        rank = np.random.randint(len(cells))
        np.random.seed(seed)
        assert sampler() == tuple(cells[rank])


def test_every_cell_can_be_drawn():
    mask = np.zeros((5, 6), bool)
    mask[0, 5] = mask[2, 0] = mask[2, 3] = mask[4, 4] = True
    np.random.seed(0)
    drawn = {NonzeroSampler(mask)() for _ in range(200)}
    assert drawn == {(0, 5), (2, 0), (2, 3), (4, 4)}


def test_empty_mask_has_no_cell_to_draw():
    sampler = NonzeroSampler(np.zeros((3, 4), np.uint8))
    assert len(sampler) == 0
    with pytest.raises(ValueError, match='no nonzero cell'):
        sampler()


def test_needs_a_2d_mask():
    with pytest.raises(ValueError, match='2-D mask'):
        NonzeroSampler(np.ones((2, 2, 2), bool))
