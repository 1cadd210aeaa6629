"""Announcing a change of a book: its version rises, its search entries learn whether it is in
stock, and a BookChanged goes into the outbox in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from services.catalogue.models import Book, SearchTerm, Stock
from shared.contracts import BookChanged
from shared.messaging.unit_of_work import UnitOfWork

# Books a statement names at most: well under any database's limit on a statement's parameters.
ANNOUNCE_CHUNK = 500


def book_changed(book: Any, *, available: int) -> BookChanged:
    """`book`: a Book or a row of the books table."""
    return BookChanged(
        isbn13=book.isbn13,
        version=book.version,
        title=book.title,
        subtitle=book.subtitle,
        authors=tuple(book.authors),
        publisher=book.publisher,
        year=book.year,
        format=book.format,
        price_pence=book.price_pence,
        subjects=tuple(book.subjects),
        description=book.description,
        cover_url=book.cover_url,
        available=max(available, 0),
    )


async def announce(
    uow: UnitOfWork,
    isbns: Iterable[str],
    *,
    now: datetime,
    availability: Mapping[str, tuple[int, int]] | None = None,
    hold: bool = False,
) -> None:
    """Announce each book. `availability`, when the caller just moved the stock, gives each
    book's available copies (before, after), which spares reading the stock row and touching
    the search entries unless the book went in or out of stock.

    A `hold` (copies reserved for an order) is announced only when it takes the last copies:
    it is on every reader's way to payment and lasts minutes, and its end, a sale or a
    release, is always announced, so the other services' figures trail by the holds in
    flight at most, and never miss a book going out of stock.

    A few statements for each ANNOUNCE_CHUNK books, not two a book: an import of thousands
    of changed books held the database's write lock for seconds announcing them one by one.
    """
    wanted = sorted(set(isbns))
    if hold and availability is not None:
        wanted = [isbn13 for isbn13 in wanted if availability[isbn13][1] <= 0]
    for start in range(0, len(wanted), ANNOUNCE_CHUNK):
        await _announce_chunk(
            uow, wanted[start : start + ANNOUNCE_CHUNK], now=now, availability=availability or {}
        )


async def _announce_chunk(
    uow: UnitOfWork,
    isbns: Sequence[str],
    *,
    now: datetime,
    availability: Mapping[str, tuple[int, int]],
) -> None:
    session = uow.session
    # Rows locked in ISBN order, as the one-book-at-a-time announcements took them, so two
    # transactions announcing overlapping books on Postgres queue rather than deadlock.
    in_order = (
        select(Book.isbn13).where(Book.isbn13.in_(isbns)).order_by(Book.isbn13).with_for_update()
    )
    books = {
        row.isbn13: row
        for row in await session.execute(
            update(Book)
            .where(Book.isbn13.in_(in_order))
            .values(version=Book.version + 1, updated_at=now)
            .returning(*Book.__table__.c)
            .execution_options(synchronize_session=False)
        )
    }
    unknown = [isbn13 for isbn13 in isbns if isbn13 not in availability]
    counted: dict[str, int] = {}
    if unknown:
        rows = await session.execute(
            select(Stock.isbn13, Stock.on_hand - Stock.reserved).where(Stock.isbn13.in_(unknown))
        )
        counted = {isbn13: available for isbn13, available in rows}
    available: dict[str, int] = {}
    flipped: dict[int, list[str]] = {0: [], 1: []}
    for isbn13 in isbns:
        if isbn13 in availability:
            before, after = availability[isbn13]
            available[isbn13] = after
            if (before > 0) == (after > 0):
                continue
        else:
            available[isbn13] = counted[isbn13]
        flipped[0 if available[isbn13] > 0 else 1].append(isbn13)
    for out_of_stock, flipping in flipped.items():
        if flipping:
            await session.execute(
                update(SearchTerm)
                .where(SearchTerm.isbn13.in_(flipping), SearchTerm.out_of_stock != out_of_stock)
                .values(out_of_stock=out_of_stock)
                .execution_options(synchronize_session=False)
            )
    await uow.publish(
        *(book_changed(books[isbn13], available=available[isbn13]) for isbn13 in isbns)
    )
