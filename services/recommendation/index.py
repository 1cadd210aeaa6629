"""This process's recommendation index, kept current from the service's own `books` table.

Every process that ranks (web app, worker) holds one Ranker, built from the table at its
first ranking (models load then, in a thread, never at import). Before each ranking it
reads the index state: rows written since its version are applied one by one (a price or
stock change re-indexes nothing), and a new generation (`bookshop recommend reindex`)
means a full rebuild.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.recommendation.books import IndexedBook, books_matching
from services.recommendation.cleaning import CleanArticle
from services.recommendation.fingerprint import ranking_fingerprint
from services.recommendation.models import Article, Book, CachedBook, IndexState
from services.recommendation.ranking import Ranker, Recommendation
from services.recommendation.ranking_config import RankerConfig
from shared.db import Database
from shared.gc_freeze import refreeze_long_lived_objects


class RankerFactory(Protocol):
    """Makes this process's Ranker; its `config` is part of what the cache is stamped with."""

    @property
    def config(self) -> RankerConfig: ...

    def __call__(self, books: Iterable[IndexedBook], /) -> Ranker: ...


@dataclass(frozen=True)
class IndexPosition:
    version: int
    generation: int


@dataclass(frozen=True)
class Ranked:
    recommendations: list[Recommendation]
    position: IndexPosition
    ranking: str
    """The fingerprint of the ranking that made them (`fingerprint`)."""


@dataclass(frozen=True)
class ShopRankers:
    """The shop's Rankers; the packaged models load on the first build."""

    config: RankerConfig

    def __call__(self, books: Iterable[IndexedBook], /) -> Ranker:
        return Ranker(books, config=self.config)


def ranker_factory(*, rerank: bool = True) -> RankerFactory:
    return ShopRankers(RankerConfig(rerank=rerank))


async def read_position(session: AsyncSession) -> IndexPosition:
    state = (await session.execute(select(IndexState.version, IndexState.generation))).one()
    return IndexPosition(version=state.version, generation=state.generation)


async def next_version(session: AsyncSession) -> int:
    """The version a change to `books` is written at.

    The UPDATE locks the one state row until the transaction ends, so versions are
    handed out in commit order and a reader that sees version n sees every row up to n.
    """
    result = await session.execute(
        update(IndexState)
        .where(IndexState.id == 1)
        .values(version=IndexState.version + 1)
        .returning(IndexState.version)
    )
    return int(result.scalar_one())


async def request_rebuild(session: AsyncSession) -> None:
    """Every process rebuilds its index at its next ranking; cached results are dropped."""
    await session.execute(
        update(IndexState).where(IndexState.id == 1).values(generation=IndexState.generation + 1)
    )
    await session.execute(delete(CachedBook))
    await session.execute(
        update(Article).values(
            cached_version=None, cached_generation=None, cached_k=None, cached_ranking=None
        )
    )


def indexed_book(row: Book) -> IndexedBook:
    return IndexedBook(
        isbn13=row.isbn13,
        title=row.title,
        subtitle=row.subtitle,
        authors=tuple(row.authors),
        publisher=row.publisher,
        year=row.year,
        format=row.format,
        price_pence=row.price_pence,
        subjects=tuple(row.subjects),
        description=row.description,
        available=row.available,
    )


class LiveIndex:
    """One Ranker for this process, refreshed from the database before each ranking.

    The Ranker allows one writer and no reads during a write, so a lock covers both; the
    CPU work runs in a thread so the event loop keeps serving other requests.
    """

    def __init__(self, db: Database, make_ranker: RankerFactory) -> None:
        self._db = db
        self._make_ranker = make_ranker
        self.ranking = ranking_fingerprint(make_ranker.config)
        self._ranker: Ranker | None = None
        self._position = IndexPosition(version=-1, generation=-1)
        self._lock = asyncio.Lock()
        self.last_build_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._ranker is not None

    @property
    def size(self) -> int:
        return len(self._ranker) if self._ranker is not None else 0

    async def recommend(
        self,
        article: CleanArticle,
        *,
        k: int,
        pins: Sequence[str] = (),
        bans: Sequence[str] = (),
    ) -> Ranked:
        async with self._lock:
            ranker = await self._current()
            position = self._position
            results = await asyncio.to_thread(
                ranker.recommend, article, k=k, pins=list(pins), bans=list(bans)
            )
        return Ranked(results, position, self.ranking)

    async def find(self, words: str, *, limit: int) -> list[IndexedBook]:
        """The indexed books (those on sale) whose title or authors hold `words`."""
        async with self._lock:
            ranker = await self._current()
            return await asyncio.to_thread(books_matching, ranker.books(), words, limit=limit)

    async def refresh(self) -> IndexPosition:
        """Bring the index up to date now (it is also done before every ranking)."""
        async with self._lock:
            await self._current()
            return self._position

    async def _current(self) -> Ranker:
        async with self._db.reading() as session:
            wanted = await read_position(session)
            ranker = self._ranker
            if ranker is None or wanted.generation != self._position.generation:
                rows = (await session.scalars(select(Book).where(Book.withdrawn.is_(False)))).all()
                started = time.perf_counter()
                self._ranker = await asyncio.to_thread(
                    self._make_ranker, [indexed_book(r) for r in rows]
                )
                # The index lives as long as the process; the one it replaced is garbage now.
                await asyncio.to_thread(refreeze_long_lived_objects)
                self.last_build_seconds = time.perf_counter() - started
                self._position = _after(wanted, rows)
                return self._ranker
            if wanted.version > self._position.version:
                changed = (
                    await session.scalars(
                        select(Book)
                        .where(Book.index_version > self._position.version)
                        .order_by(Book.index_version)
                    )
                ).all()
                await asyncio.to_thread(_apply, ranker, changed)
                self._position = _after(wanted, changed)
        return ranker


def _apply(ranker: Ranker, rows: Sequence[Book]) -> None:
    for row in rows:
        if row.withdrawn:
            ranker.remove(row.isbn13)
        else:
            ranker.upsert(indexed_book(row))


def _after(wanted: IndexPosition, rows: Sequence[Book]) -> IndexPosition:
    # Rows committed after the state was read may be newer still; they are applied already.
    newest = max((r.index_version for r in rows), default=wanted.version)
    return IndexPosition(version=max(wanted.version, newest), generation=wanted.generation)
