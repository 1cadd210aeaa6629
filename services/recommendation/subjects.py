"""The shop's subjects as ranking evidence: each subject's centroid in both models' spaces,
and each subject's rarity over the catalogue.

Kept apart from the ranker because both are made from the whole catalogue (its books and
their vectors) when the index is built, never from an article.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from services.recommendation.arrays import unit
from services.recommendation.books import IndexedBook
from services.recommendation.vectors import KeptVectors


def subject_centroids(
    books: Sequence[IndexedBook | None],
    word_vectors: np.ndarray,
    rerank_vectors: KeptVectors | None,
    make_rerank_vectors: Callable[[list[int]], None],
    *,
    min_books: int,
    sample: int,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each subject's mean book vector, in both models' spaces, less the mean of all
    subjects': measured from the middle, a broad shelf (history, theory) that is a
    little like every article no longer outranks the one an article is about.

    `word_vectors` and `rerank_vectors` are by position in `books` (None where a book was
    removed; `rerank_vectors` is None without MiniLM); `make_rerank_vectors` makes the
    missing MiniLM vectors of some positions. Once every book has one, a subject's
    centroid is of all its books, else of its first `sample`.
    """
    members: dict[str, list[int]] = defaultdict(list)
    live = 0
    for position, book in enumerate(books):
        if book is None:
            continue
        live += 1
        for subject in book.subjects:
            members[subject].append(position)
    # a subject of one or two books would only repeat those books' own similarity
    subjects = sorted(s for s, m in members.items() if len(m) >= min_books)
    word_rows, rerank_rows = [], []
    for subject in subjects:
        word_rows.append(unit(word_vectors[members[subject]].mean(axis=0)))
        if rerank_vectors is not None:
            chosen = members[subject][:sample]
            if len(rerank_vectors) >= live:
                chosen = members[subject]
            make_rerank_vectors(chosen)
            rerank_rows.append(unit(rerank_vectors.get(chosen).mean(axis=0)))
    rerank_dimensions = rerank_vectors.dimensions if rerank_vectors is not None else 0
    word_centroids = np.array(word_rows, dtype=np.float32).reshape(
        len(subjects), word_vectors.shape[1]
    )
    rerank_centroids = np.array(rerank_rows, dtype=np.float32).reshape(
        len(subjects), rerank_dimensions
    )
    return subjects, _centred(word_centroids), _centred(rerank_centroids)


def _centred(rows: np.ndarray) -> np.ndarray:
    """`rows` less their mean, each of unit length again."""
    if len(rows) == 0:
        return rows
    centred = rows - rows.mean(axis=0)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return (centred / np.maximum(norms, 1e-9)).astype(np.float32)


def subject_weights(books: Sequence[IndexedBook]) -> dict[str, float]:
    """Each subject's rarity over the catalogue (log inverse share of books), made at build:
    one book more or less hardly moves it."""
    counts: Counter[str] = Counter(s for book in books for s in set(book.subjects))
    return {s: math.log(max(len(books), 2) / n) for s, n in counts.items()}
