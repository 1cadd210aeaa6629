"""MiniLM book vectors, made on first need and kept in one growing matrix.

Books get a vector only when a ranking needs one, so the kept set grows over the
process's life. Rows are appended to a preallocated float32 matrix (its capacity doubles
when full): scoring every kept book is one matrix product with no re-stacking, and
keeping a new vector copies nothing but that vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class KeptVectors:
    """Vectors by ranker position. A removed book's row stays, unscored, until the ranker's
    next full build makes a new store."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._matrix = np.zeros((0, dimensions), dtype=np.float32)
        self._positions = np.zeros(0, dtype=np.int64)
        self._rows: dict[int, int] = {}
        self._count = 0

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, position: int) -> bool:
        return position in self._rows

    def add(self, positions: Sequence[int], vectors: np.ndarray) -> None:
        needed = self._count + len(positions)
        if needed > len(self._matrix):
            capacity = max(needed, 2 * len(self._matrix), 256)
            matrix = np.zeros((capacity, self.dimensions), dtype=np.float32)
            matrix[: self._count] = self._matrix[: self._count]
            owners = np.full(capacity, -1, dtype=np.int64)
            owners[: self._count] = self._positions[: self._count]
            self._matrix, self._positions = matrix, owners
        rows = range(self._count, needed)
        self._matrix[self._count : needed] = vectors
        self._positions[self._count : needed] = positions
        self._rows.update(zip(positions, rows, strict=True))
        self._count = needed

    def discard(self, position: int) -> None:
        row = self._rows.pop(position, None)
        if row is not None:
            self._positions[row] = -1

    def get(self, positions: Sequence[int]) -> np.ndarray:
        """The vectors of `positions`, all of which must be kept."""
        return self._matrix[[self._rows[p] for p in positions]]

    def scores(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Cosine with `vector` for each of `n` positions; -inf where no vector is kept."""
        out = np.full(n, -np.inf, dtype=np.float32)
        if self._count:
            positions = self._positions[: self._count]
            values = self._matrix[: self._count] @ vector
            inside = (positions >= 0) & (positions < n)
            out[positions[inside]] = values[inside]
        return out
