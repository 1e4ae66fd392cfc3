"""Uniform draws of one nonzero cell of a 2-D mask."""
from typing import Tuple

import numpy as np

__all__ = [
    'NonzeroSampler'
]


class NonzeroSampler:
    """Draw a nonzero cell of a 2-D mask uniformly, without listing them.

    Row-major rank ``r`` is drawn with ``np.random.randint(len(self))`` and
    mapped to its cell through the cumulative per-row counts, so one draw
    costs a binary search and one row scan instead of a full
    ``np.nonzero``. The counts are taken once, at construction: change the
    mask afterwards only by building a new sampler.

    Args:
        mask (np.ndarray): 2-D array; nonzero cells are the candidates.

    Example:
        >>> sampler = NonzeroSampler(np.eye(3, dtype=bool))
        >>> len(sampler)
        3
        >>> row, col = sampler()
        >>> bool(row == col)
        True
    """

    def __init__(self, mask: np.ndarray) -> None:
        if mask.ndim != 2:
            raise ValueError('NonzeroSampler needs a 2-D mask, got shape '
                             f'{mask.shape}.')
        self.mask = mask
        # ends[r]: candidates in rows 0..r
        self.ends = np.cumsum(np.count_nonzero(mask, axis=1), dtype=np.int64)

    def __len__(self) -> int:
        """Number of nonzero cells."""
        return int(self.ends[-1]) if len(self.ends) else 0

    def __call__(self) -> Tuple[int, int]:
        """Draw one nonzero cell from NumPy's global generator.

        Returns:
            tuple[int, int]: ``(row, col)`` of the cell.
        """
        total = len(self)
        if total == 0:
            raise ValueError('NonzeroSampler: the mask has no nonzero cell '
                             'to draw; check len(sampler) first.')
        rank = np.random.randint(total)
        row = int(np.searchsorted(self.ends, rank, side='right'))
        rank -= int(self.ends[row - 1]) if row else 0
        return row, int(np.flatnonzero(self.mask[row])[rank])
