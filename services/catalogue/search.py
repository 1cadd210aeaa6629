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
miss books, which a shopper typing another letter fixes. Each entry carries its book's words mask
(domain.words_mask), read with it from the index, which rules out about nine in ten of the
candidates lacking another word before any is probed: a rare combination of common words ("red
suza") would otherwise probe every candidate, twice over with three words.

Statements are built once per shape (which tiers, how many words) with bound parameters and
cached: building SQLAlchemy's nested selects costs more than running them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from services.catalogue.domain import (
    SearchQuery,
    TermKind,
    normalise,
    prefix_bounds,
    search_terms,
    words_mask,
)
from services.catalogue.models import Book, SearchTerm, Stock
from services.catalogue.schemas import SearchHit

CANDIDATE_CAP = 1000
COUNT_PROBE = 1000
# Words past this many are checked on the fetched books rather than in SQL: each one more
# in SQL adds a join the Postgres planner must weigh, which costs more than it saves.
SQL_WORDS = 3
MATCH_NAMES = {
    TermKind.ISBN: "isbn",
    TermKind.TITLE: "title",
    TermKind.AUTHOR: "author",
    TermKind.WORD: "words",
}


@dataclass(frozen=True)
class SearchEntry:
    """What a book is found by."""

    isbn13: str
    title: str
    subtitle: str | None
    authors: Sequence[str]
    in_stock: bool


async def index_books(session: AsyncSession, books: Sequence[SearchEntry]) -> None:
    """Replace the books' search terms, in two statements however many books."""
    if not books:
        return
    await session.execute(
        delete(SearchTerm).where(SearchTerm.isbn13.in_([b.isbn13 for b in books]))
    )
    rows = []
    for book in books:
        terms = search_terms(
            isbn13=book.isbn13, title=book.title, subtitle=book.subtitle, authors=book.authors
        )
        mask = words_mask(term for kind, term in terms if kind == TermKind.WORD)
        rows += [
            {
                "isbn13": book.isbn13,
                "kind": int(kind),
                "term": term,
                "out_of_stock": 0 if book.in_stock else 1,
                "words_mask": mask,
            }
            for kind, term in sorted(terms)
        ]
    await session.execute(insert(SearchTerm), rows)


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
    await index_books(session, [SearchEntry(isbn13, title, subtitle, authors, in_stock)])


def _fixed(count: int) -> Any:
    """A LIMIT written into the statement rather than bound: knowing it, Postgres plans a
    statement once for all prefixes (its generic plan: the same index scans) and reuses the plan
    instead of planning each keystroke's search again, which costs as much as running it."""
    return literal_column(str(count))


def _prefix(name: str) -> Any:
    """`term` starts with the prefix bound as name_low/name_high."""
    return and_(
        SearchTerm.term >= bindparam(f"{name}_low"), SearchTerm.term < bindparam(f"{name}_high")
    )


def _branch(
    kind: TermKind, name: str, out_of_stock: int, limit: int, *, with_mask: bool = False
) -> Select[Any]:
    """One tier's entries for the prefix, in stock or not, read in index order."""
    columns: list[Any] = [
        SearchTerm.isbn13,
        literal_column(str(int(kind))).label("tier"),
        SearchTerm.out_of_stock,
        SearchTerm.term,
    ]
    if with_mask:
        columns.append(SearchTerm.words_mask)
    return (
        select(*columns)
        .where(
            SearchTerm.kind == literal_column(str(int(kind))),
            SearchTerm.out_of_stock == literal_column(str(out_of_stock)),
            _prefix(name),
        )
        .order_by(SearchTerm.term)
        .limit(_fixed(limit))
    )


def _words_branch(others: int, out_of_stock: int, limit: int) -> Select[Any]:
    """Books with a word starting with the driver word, and with each of the other words too."""
    candidates = _branch(
        TermKind.WORD, "driver", out_of_stock, CANDIDATE_CAP, with_mask=True
    ).subquery()
    # First, so only the candidates whose mask has every word's bits are probed (one in ten or
    # so of those lacking a word): probing is what a rare combination of common words costs.
    need = bindparam("need_mask", type_=BigInteger)
    filters = [candidates.c.words_mask.bitwise_and(need) == need]
    for index in range(others):
        other = aliased(SearchTerm)
        filters.append(
            exists(
                select(other.isbn13).where(
                    other.isbn13 == candidates.c.isbn13,
                    other.kind == literal_column(str(int(TermKind.WORD))),
                    other.term >= bindparam(f"other{index}_low"),
                    other.term < bindparam(f"other{index}_high"),
                )
            )
        )
    return (
        select(candidates.c.isbn13, candidates.c.tier, candidates.c.out_of_stock, candidates.c.term)
        .where(*filters)
        .limit(_fixed(limit))
    )


@lru_cache(maxsize=512)
def _search_statement(
    tiers: tuple[tuple[TermKind, str], ...], others: int | None, limit: int
) -> Select[Any]:
    """Every tier's range scans, the ranking and the books' details in one statement.

    `tiers`: (kind, parameter name) of each prefix tier; `others`: with several words, how many
    words besides the driver must also match (None: no several-word tier).
    """
    # A later tier's entries may repeat books an earlier one found, hence the margin.
    per_branch = limit + 5
    branches = [
        _branch(kind, name, out_of_stock, per_branch)
        for kind, name in tiers
        for out_of_stock in (0, 1)
    ]
    if others is not None:
        branches += [_words_branch(others, out, per_branch) for out in (0, 1)]
    candidates = union_all(*(select(branch.subquery()) for branch in branches)).subquery()
    best = (
        select(
            candidates.c.isbn13,
            func.min(candidates.c.tier).label("tier"),
            func.min(candidates.c.out_of_stock).label("out_of_stock"),
            func.min(candidates.c.term).label("term"),
        )
        .group_by(candidates.c.isbn13)
        .order_by("tier", "out_of_stock", "term")
        .limit(_fixed(limit))
        .subquery()
    )
    return (
        select(
            Book.isbn13,
            best.c.tier,
            Book.title,
            Book.subtitle,
            Book.authors,
            Book.price_pence,
            Book.cover_url,
            (Stock.on_hand - Stock.reserved).label("available"),
        )
        .join(Book, Book.isbn13 == best.c.isbn13)
        .join(Stock, Stock.isbn13 == best.c.isbn13)
        .order_by(best.c.tier, best.c.out_of_stock, best.c.term)
    )


@lru_cache(maxsize=16)
def _probe_statement(words: int) -> Select[Any]:
    """How many entries each word has, each counted only up to COUNT_PROBE."""
    counts = []
    for index in range(words):
        capped = (
            select(SearchTerm.isbn13)
            .where(
                SearchTerm.kind == literal_column(str(int(TermKind.WORD))),
                # Both values named, so the index (kind, out_of_stock, term) serves the range.
                SearchTerm.out_of_stock.in_([literal_column("0"), literal_column("1")]),
                _prefix(f"word{index}"),
            )
            .limit(_fixed(COUNT_PROBE))
            .subquery()
        )
        counts.append(select(func.count()).select_from(capped).scalar_subquery())
    return select(*counts)


def _bounds(name: str, prefix: str) -> dict[str, str]:
    low, high = prefix_bounds(prefix)
    return {f"{name}_low": low, f"{name}_high": high}


async def _rarest_first(connection: AsyncConnection, words: list[str]) -> list[str]:
    """The words, fewest entries first; empty if one has none (then nothing can match)."""
    params: dict[str, str] = {}
    for index, word in enumerate(words):
        params |= _bounds(f"word{index}", word)
    found = (await connection.execute(_probe_statement(len(words)), params)).one()
    if 0 in found:
        return []
    ranked = sorted(zip(words, found, strict=True), key=lambda pair: (pair[1], -len(pair[0])))
    return [word for word, _ in ranked]


def _has_words(hit: SearchHit, words: list[str]) -> bool:
    held = normalise(" ".join([hit.title, hit.subtitle or "", *hit.authors])).split()
    return all(any(word.startswith(wanted) for word in held) for wanted in words)


async def find(session: AsyncSession, query: SearchQuery, *, limit: int) -> list[SearchHit]:
    """The best `limit` books for the query, best first: one round trip, two when several
    words need their rarest one found (in a reading session, which on Postgres sends no BEGIN
    or ROLLBACK around them)."""
    prefixes: list[tuple[TermKind, str]] = []
    if query.exact_isbn:
        prefixes.append((TermKind.ISBN, query.exact_isbn))
    else:
        prefixes += [(TermKind.ISBN, prefix) for prefix in query.isbn_prefixes]
        if query.text:
            prefixes += [(TermKind.TITLE, query.text), (TermKind.AUTHOR, query.text)]
    connection = await session.connection()
    words = [] if query.exact_isbn else list(dict.fromkeys(query.words))
    if len(words) == 1:
        prefixes.append((TermKind.WORD, words[0]))
    params: dict[str, str | int] = {}
    tiers = []
    for index, (kind, prefix) in enumerate(prefixes):
        tiers.append((kind, f"tier{index}"))
        params |= _bounds(f"tier{index}", prefix)
    others: int | None = None
    unchecked: list[str] = []
    if len(words) > 1 and (rarest := await _rarest_first(connection, words)):
        driver, *others_words = rarest[:SQL_WORDS]
        unchecked = rarest[SQL_WORDS:]
        others = len(others_words)
        params |= _bounds("driver", driver)
        params["need_mask"] = words_mask(rarest)
        for index, word in enumerate(others_words):
            params |= _bounds(f"other{index}", word)
    if not tiers and others is None:
        return []
    # Core execution: the rows are plain columns, the ORM would only add work.
    fetch = 3 * limit if unchecked else limit
    rows = await connection.execute(_search_statement(tuple(tiers), others, fetch), params)
    hits = [
        SearchHit(
            isbn13=row.isbn13,
            title=row.title,
            subtitle=row.subtitle,
            authors=list(row.authors),
            price_pence=row.price_pence,
            available=max(row.available, 0),
            cover_url=row.cover_url,
            match=MATCH_NAMES[TermKind(row.tier)],  # type: ignore[arg-type]
        )
        for row in rows
    ]
    if unchecked:
        # The prefix tiers matched the whole text; only word matches need the other words.
        hits = [hit for hit in hits if hit.match != "words" or _has_words(hit, unchecked)]
    return hits[:limit]
