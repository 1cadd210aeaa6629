"""The edition rules: which editions of the ranked works are shown, and in what order.

Kept apart from the ranking because they decide between books the ranking found equally
relevant (editions of one work, in stock or not), never how relevant a book is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.recommendation.books import IndexedBook


def one_edition_each(
    ranked: list[int],
    pinned: list[int],
    k: int,
    books: Sequence[IndexedBook | None],
    available: np.ndarray,
    *,
    named: frozenset[int],
) -> list[int]:
    """Pins, then the ranking with one edition per work, the in-stock one if any; but the
    works the article names, and the first work after them, bring all their editions,
    in-stock first. Those are the books the article points to and the one it is most
    about: a reader sent to them may want another edition's price or format, and the
    shop's editors judge every edition of such a book relevant. A book named in passing
    (a headline that echoes "Ten Days That Shook the World") leaves the book the article
    is about (Trotsky's history of 1917) its editions.

    `ranked` and `pinned` are positions in `books` and `available` (copies for sale);
    `named` the positions of the books the article names, which `ranked` puts first.
    """

    def work_of(position: int) -> tuple[str, tuple[str, ...]]:
        book = books[position]
        assert book is not None
        return book.work_key

    chosen: dict[tuple[str, tuple[str, ...]], int] = {}
    for position in ranked:
        work = work_of(position)
        current = chosen.get(work)
        if current is None or available[current] <= 0 < available[position]:
            chosen[work] = position
    out = list(pinned)
    seen_works = {work_of(p) for p in pinned}
    # every edition until the first work the article does not name has had its own
    all_editions = True
    for position in ranked:
        work = work_of(position)
        if work in seen_works:
            continue
        seen_works.add(work)
        if all_editions:
            all_editions = position in named
            editions = [p for p in ranked if work_of(p) == work]
            out.extend(sorted(editions, key=lambda p: available[p] <= 0))
        else:
            out.append(chosen[work])
        if len(out) >= k:
            break
    return out[:k]
