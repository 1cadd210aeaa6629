"""Search as you type: a table of normalised terms and btree prefix ranges, the same SQL on
SQLite and Postgres.

Why this and not FTS5 / tsvector: the ranking asked for is by tier (exact ISBN, then title
prefix, then author prefix, then words anywhere; in stock first inside a tier), not by text
relevance. Each tier is one range scan of the index (kind, out_of_stock, term) read in index
order and cut off by LIMIT, so the work per keystroke is bounded by the page size whatever the
catalogue's size or the query's length; even a one-letter query on a million books reads a few
dozen index entries. FTS5's `bm25()` and Postgres' `ts_rank` must score every matching document
before the LIMIT applies (tens of thousands for a short prefix), would need two query dialects,
and neither has a "title starts with" tier. An in-process index would be faster still but must
be rebuilt in every web process and kept current across them. Measured in
benchmarks/catalogue_search.py.

Several words: each must prefix-match a word of the title, subtitle or authors. The rarest word
(probed with a capped count) drives a range scan, capped at CANDIDATE_CAP entries, that the others
filter through the primary key (isbn13, kind, term); past the cap, very common combinations may
miss books, which a shopper typing another letter fixes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.catalogue.domain import SearchQuery, TermKind, prefix_bounds, search_terms
from services.catalogue.models import Book, SearchTerm, Stock
from services.catalogue.schemas import SearchHit

CANDIDATE_CAP = 5000
COUNT_PROBE = 2000
MATCH_NAMES = {
    TermKind.ISBN: "isbn",
    TermKind.TITLE: "title",
    TermKind.AUTHOR: "author",
    TermKind.WORD: "words",
}


async def index_book(
    session: AsyncSession,
    *,
    isbn13: str,
    title: str,
    subtitle: str | None,
    authors: Sequence[str],
    in_stock: bool,
) -> None:
    """Replace the book's search terms."""
    await session.execute(delete(SearchTerm).where(SearchTerm.isbn13 == isbn13))
    terms = search_terms(isbn13=isbn13, title=title, subtitle=subtitle, authors=authors)
    await session.execute(
        insert(SearchTerm),
        [
            {
                "isbn13": isbn13,
                "kind": int(kind),
                "term": term,
                "out_of_stock": 0 if in_stock else 1,
            }
            for kind, term in sorted(terms)
        ],
    )


def _in_range(column: object, prefix: str) -> object:
    low, high = prefix_bounds(prefix)
    return and_(column >= low, column < high)  # type: ignore[operator]


async def _prefix_tier(
    session: AsyncSession, kind: TermKind, prefix: str, wanted: int, taken: dict[str, str]
) -> list[str]:
    found: list[str] = []
    for out_of_stock in (0, 1):
        rows = await session.scalars(
            select(SearchTerm.isbn13)
            .where(
                SearchTerm.kind == int(kind),
                SearchTerm.out_of_stock == out_of_stock,
                _in_range(SearchTerm.term, prefix),
            )
            .order_by(SearchTerm.term)
            .limit(wanted + len(taken))
        )
        for isbn13 in rows:
            if isbn13 not in taken and isbn13 not in found:
                found.append(isbn13)
        if len(found) >= wanted:
            break
    return found[:wanted]


async def _probe_count(session: AsyncSession, word: str) -> int:
    capped = (
        select(SearchTerm.isbn13)
        .where(SearchTerm.kind == int(TermKind.WORD), _in_range(SearchTerm.term, word))
        .limit(COUNT_PROBE)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(capped)) or 0)


async def _words_tier(
    session: AsyncSession, words: list[str], wanted: int, taken: dict[str, str]
) -> list[str]:
    words = list(dict.fromkeys(words))
    if len(words) == 1:
        return await _prefix_tier(session, TermKind.WORD, words[0], wanted, taken)
    counts = {word: await _probe_count(session, word) for word in words}
    if 0 in counts.values():
        return []
    driver = min(words, key=lambda word: (counts[word], -len(word)))
    others = [word for word in words if word != driver]
    found: list[str] = []
    for out_of_stock in (0, 1):
        candidates = (
            select(SearchTerm.isbn13, SearchTerm.term)
            .where(
                SearchTerm.kind == int(TermKind.WORD),
                SearchTerm.out_of_stock == out_of_stock,
                _in_range(SearchTerm.term, driver),
            )
            .order_by(SearchTerm.term)
            .limit(CANDIDATE_CAP)
            .subquery()
        )
        filters = []
        for word in others:
            other = aliased(SearchTerm)
            filters.append(
                exists(
                    select(other.isbn13).where(
                        other.isbn13 == candidates.c.isbn13,
                        other.kind == int(TermKind.WORD),
                        _in_range(other.term, word),
                    )
                )
            )
        rows = await session.scalars(
            select(candidates.c.isbn13).where(*filters).limit(3 * wanted + len(taken))
        )
        for isbn13 in rows:
            if isbn13 not in taken and isbn13 not in found:
                found.append(isbn13)
        if len(found) >= wanted:
            break
    return found[:wanted]


async def find(session: AsyncSession, query: SearchQuery, *, limit: int) -> list[SearchHit]:
    """The best `limit` books for the query, best first."""
    ranked: dict[str, str] = {}

    def take(isbns: list[str], kind: TermKind) -> None:
        for isbn13 in isbns:
            ranked.setdefault(isbn13, MATCH_NAMES[kind])

    if query.exact_isbn:
        take(await _exact_isbn(session, query.exact_isbn), TermKind.ISBN)
    else:
        for prefix in query.isbn_prefixes:
            wanted = limit - len(ranked)
            if wanted > 0:
                take(
                    await _prefix_tier(session, TermKind.ISBN, prefix, wanted, ranked),
                    TermKind.ISBN,
                )
        if query.text:
            for kind in (TermKind.TITLE, TermKind.AUTHOR):
                wanted = limit - len(ranked)
                if wanted > 0:
                    take(await _prefix_tier(session, kind, query.text, wanted, ranked), kind)
            wanted = limit - len(ranked)
            if wanted > 0:
                take(await _words_tier(session, query.words, wanted, ranked), TermKind.WORD)
    return await _hits(session, ranked)


async def _exact_isbn(session: AsyncSession, isbn13: str) -> list[str]:
    found = await session.scalar(select(Book.isbn13).where(Book.isbn13 == isbn13))
    return [found] if found else []


async def _hits(session: AsyncSession, ranked: dict[str, str]) -> list[SearchHit]:
    if not ranked:
        return []
    rows = await session.execute(
        select(
            Book.isbn13,
            Book.title,
            Book.subtitle,
            Book.authors,
            Book.price_pence,
            Book.cover_url,
            (Stock.on_hand - Stock.reserved).label("available"),
        )
        .join(Stock, Stock.isbn13 == Book.isbn13)
        .where(Book.isbn13.in_(list(ranked)))
    )
    by_isbn = {row.isbn13: row for row in rows}
    return [
        SearchHit(
            isbn13=isbn13,
            title=row.title,
            subtitle=row.subtitle,
            authors=list(row.authors),
            price_pence=row.price_pence,
            available=max(row.available, 0),
            cover_url=row.cover_url,
            match=match,  # type: ignore[arg-type]
        )
        for isbn13, match in ranked.items()
        if (row := by_isbn.get(isbn13)) is not None
    ]
