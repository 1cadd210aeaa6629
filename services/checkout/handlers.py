"""Messages checkout consumes: the catalogue's book changes feed its read model of books, and its
confirmations of sales end the re-sending of commits."""

from __future__ import annotations

from services.checkout import stock_commits
from services.checkout.models import Book
from shared.contracts import BookChanged, ReservationCommitted
from shared.messaging.message import utcnow
from shared.messaging.unit_of_work import UnitOfWork


async def on_book_changed(message: BookChanged, *, uow: UnitOfWork) -> None:
    """Keep title, price and availability; an event older than what we hold is ignored."""
    book = await uow.session.get(Book, message.isbn13, with_for_update=True)
    if book is None:
        uow.session.add(
            Book(
                isbn13=message.isbn13,
                version=message.version,
                title=message.title,
                price_pence=message.price_pence,
                available=message.available,
                withdrawn=message.withdrawn,
            )
        )
        return
    if message.version <= book.version:
        return
    book.version = message.version
    book.title = message.title
    book.price_pence = message.price_pence
    book.available = message.available
    book.withdrawn = message.withdrawn


async def on_reservation_committed(message: ReservationCommitted, *, uow: UnitOfWork) -> None:
    await stock_commits.confirm(uow, reservation_id=message.order_id, now=utcnow())
