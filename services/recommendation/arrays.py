"""Small numpy helpers of the ranking: the best of a score array, z-scores, unit vectors,
and growing a preallocated array.

Plain arithmetic that knows nothing of books or models, kept apart so the ranker and the
subject centroids share it without one importing the other.
"""

from __future__ import annotations

import numpy as np


def top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the `n` highest finite scores, in no set order (fewer if fewer are finite)."""
    finite = np.isfinite(scores)
    if n >= int(finite.sum()):
        return np.flatnonzero(finite)
    best = np.argpartition(-scores, n)[:n]
    return best[np.isfinite(scores[best])]


def zscores(values: np.ndarray) -> np.ndarray:
    """`values` in standard deviations from their mean; all zero when they are all equal."""
    values = values.astype(np.float64)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def resized(array: np.ndarray, rows: int) -> np.ndarray:
    """`array` with `rows` rows: its own first, zeros after."""
    grown = np.zeros((rows, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def unit(vector: np.ndarray) -> np.ndarray:
    """`vector` at unit length (a zero vector as it is)."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
