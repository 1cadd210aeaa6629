"""A real catalogue worker (`bookshop worker catalogue`) answering over a real Redis, on SQLite
and Postgres: the reply, the database after it, and a duplicate delivery changing nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from services.catalogue import models
from services.catalogue.service import BookService
from shared.contracts import CommitReservation, ReservationReply, ReserveStock, StockLine
from shared.messaging.celery_app import make_celery
from shared.messaging.publisher import CeleryPublisher


async def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        await asyncio.sleep(0.1)


async def test_a_real_worker_reserves_once_and_sells_on_commit(
    books: BookService, catalogue, catalogue_url: str, redis_url: str, run_worker
) -> None:
    isbn, scarce = catalogue.isbn(1), catalogue.isbn(2)
    await books.upsert_books(
        books=[catalogue.book(isbn, "Held", stock=3), catalogue.book(scarce, "Scarce", stock=1)],
        actor="t",
    )
    run_worker("catalogue", {"CATALOGUE_DATABASE_URL": catalogue_url, "REDIS_URL": redis_url})
    publisher = CeleryPublisher(make_celery("checkout", redis_url))
    try:
        order_id = uuid4()
        command = ReserveStock(
            order_id=order_id,
            lines=(StockLine(isbn13=isbn, quantity=2),),
            expires_at=datetime.now(UTC) + timedelta(minutes=30),
        )
        reply = await publisher.request(command, ReservationReply, timeout=20)
        duplicate = await publisher.request(command, ReservationReply, timeout=20)
        short = await publisher.request(
            ReserveStock(
                order_id=uuid4(),
                lines=(StockLine(isbn13=scarce, quantity=2),),
                expires_at=datetime.now(UTC) + timedelta(minutes=30),
            ),
            ReservationReply,
            timeout=20,
        )

        assert reply.ok and reply.order_id == order_id
        assert duplicate == reply
        assert await catalogue.counters(isbn) == (3, 2)
        assert await catalogue.count(models.Reservation.__table__) == 1
        assert not short.ok
        assert [(s.isbn13, s.requested, s.available) for s in short.short] == [(scarce, 2, 1)]

        publisher.send(CommitReservation(order_id=order_id))

        async def sold() -> bool:
            return await catalogue.counters(isbn) == (1, 0)

        await wait_for(sold)
        assert (await catalogue.events(isbn))[-1]["available"] == 1
    finally:
        await publisher.close()
