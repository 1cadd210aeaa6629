"""Shelves for a stock take: the shop shelves its books by subject, so a shelf is a subject.

Subjects live in each book's JSON list; both backends store that list as JSON text with each
subject in double quotes, so "books on a shelf" is a LIKE on the text (one scan of the books,
fine for a count the clerk starts by hand). The list of shelves is cached for a minute.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import msgspec
from sqlalchemy import ColumnElement, String, cast, select

from services.catalogue.models import Book, Stock
from shared.db import Database

SHELF_CACHE_SECONDS = 60.0
MAX_SHELF_BOOKS = 2000


class Shelf(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    books: int


class ShelfBook(msgspec.Struct, frozen=True, kw_only=True):
    isbn13: str
    title: str
    authors: list[str]
    on_hand: int


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Shelves:
    def __init__(self, *, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._cached: tuple[float, list[Shelf]] | None = None

    async def all(self) -> list[Shelf]:
        """Every subject with how many books carry it, by name."""
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < SHELF_CACHE_SECONDS:
            return self._cached[1]
        counts: Counter[str] = Counter()
        async with self._db.reading() as session:
            for subjects in await session.scalars(select(Book.subjects)):
                counts.update(set(subjects or ()))
        shelves = [Shelf(subject=name, books=count) for name, count in sorted(counts.items())]
        self._cached = (now, shelves)
        return shelves

    async def books(self, subject: str) -> list[ShelfBook]:
        """The books carrying `subject`, by title, with their on-hand figures (the first
        MAX_SHELF_BOOKS: `size` says how many there are)."""
        async with self._db.reading() as session:
            rows = await session.execute(
                select(Book.isbn13, Book.title, Book.authors, Book.subjects, Stock.on_hand)
                .join(Stock, Stock.isbn13 == Book.isbn13)
                .where(_may_carry(subject))
                .order_by(Book.title, Book.isbn13)
                .limit(MAX_SHELF_BOOKS)
            )
            return [
                ShelfBook(
                    isbn13=row.isbn13,
                    title=row.title,
                    authors=list(row.authors),
                    on_hand=row.on_hand,
                )
                # The LIKE can match inside another subject's JSON escapes; the list decides.
                for row in rows
                if subject in (row.subjects or ())
            ]

    async def size(self, subject: str) -> int:
        """How many books carry `subject`, reading only their subjects."""
        async with self._db.reading() as session:
            lists = await session.scalars(
                select(Book.subjects)
                .join(Stock, Stock.isbn13 == Book.isbn13)
                .where(_may_carry(subject))
            )
            return sum(subject in (subjects or ()) for subjects in lists)


def _may_carry(subject: str) -> ColumnElement[bool]:
    """The books whose subjects' JSON text holds `subject` in quotes: all that carry it, and
    (rarely) one where it is inside another subject's escapes, which the list then rules out."""
    pattern = f'%"{_escape_like(subject)}"%'
    return cast(Book.subjects, String).like(pattern, escape="\\")
