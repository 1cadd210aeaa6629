"""Announcing a change of a book: its version rises, its search entries learn whether it is in
stock, and a BookChanged goes into the outbox in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from services.catalogue.models import Book, SearchTerm, Stock
from shared.contracts import BookChanged
from shared.messaging.unit_of_work import UnitOfWork


def book_changed(book: Book, *, available: int) -> BookChanged:
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


async def announce(uow: UnitOfWork, isbns: Iterable[str], *, now: datetime) -> None:
    session = uow.session
    for isbn13 in sorted(set(isbns)):
        await session.execute(
            update(Book)
            .where(Book.isbn13 == isbn13)
            .values(version=Book.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        book, on_hand, reserved = (
            await session.execute(
                select(Book, Stock.on_hand, Stock.reserved)
                .join(Stock, Stock.isbn13 == Book.isbn13)
                .where(Book.isbn13 == isbn13)
                .execution_options(populate_existing=True)
            )
        ).one()
        available = on_hand - reserved
        out_of_stock = 0 if available > 0 else 1
        await session.execute(
            update(SearchTerm)
            .where(SearchTerm.isbn13 == isbn13, SearchTerm.out_of_stock != out_of_stock)
            .values(out_of_stock=out_of_stock)
            .execution_options(synchronize_session=False)
        )
        await uow.publish(book_changed(book, available=available))
