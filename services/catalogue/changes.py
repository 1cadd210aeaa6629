"""Announcing a change of a book: its version rises, its search entries learn whether it is in
stock, and a BookChanged goes into the outbox in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from services.catalogue.models import Book, SearchTerm, Stock
from shared.contracts import BookChanged
from shared.messaging.unit_of_work import UnitOfWork


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
    """
    session = uow.session
    for isbn13 in sorted(set(isbns)):
        if hold and availability is not None and availability[isbn13][1] > 0:
            continue
        book = (
            await session.execute(
                update(Book)
                .where(Book.isbn13 == isbn13)
                .values(version=Book.version + 1, updated_at=now)
                .returning(*Book.__table__.c)
                .execution_options(synchronize_session=False)
            )
        ).one()
        known = availability.get(isbn13) if availability else None
        if known is None:
            on_hand, reserved = (
                await session.execute(
                    select(Stock.on_hand, Stock.reserved).where(Stock.isbn13 == isbn13)
                )
            ).one()
            available, flipped = on_hand - reserved, True
        else:
            before, available = known
            flipped = (before > 0) != (available > 0)
        if flipped:
            out_of_stock = 0 if available > 0 else 1
            await session.execute(
                update(SearchTerm)
                .where(SearchTerm.isbn13 == isbn13, SearchTerm.out_of_stock != out_of_stock)
                .values(out_of_stock=out_of_stock)
                .execution_options(synchronize_session=False)
            )
        await uow.publish(book_changed(book, available=available))
