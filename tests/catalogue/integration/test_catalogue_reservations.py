"""Holding copies for orders, on SQLite and Postgres: no overselling, all or nothing, and every
command safe to repeat or to arrive out of order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
from sqlalchemy import event, select

from services.catalogue import handlers, models, reservations
from services.catalogue.service import BookService
from shared.contracts import (
    CommitReservation,
    LinePrice,
    ReleaseReservation,
    ReservationCommitted,
    ReservationReply,
    ReserveStock,
    StockLine,
)
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def reserve_message(order_id: UUID, *lines: tuple[str, int], minutes: int = 30) -> ReserveStock:
    return ReserveStock(
        order_id=order_id,
        lines=tuple(StockLine(isbn13=isbn, quantity=q) for isbn, q in lines),
        expires_at=NOW + timedelta(minutes=minutes),
    )


async def reserve(uows: UnitOfWorkFactory, message: ReserveStock) -> ReservationReply:
    async with uows() as uow:
        return await handlers.on_reserve_stock(message, uow=uow, clock=clock)


async def commit(uows: UnitOfWorkFactory, order_id: UUID) -> None:
    async with uows() as uow:
        await handlers.on_commit_reservation(
            CommitReservation(order_id=order_id), uow=uow, clock=clock
        )


async def release(uows: UnitOfWorkFactory, order_id: UUID) -> None:
    async with uows() as uow:
        await handlers.on_release_reservation(
            ReleaseReservation(order_id=order_id, reason="cancelled"), uow=uow, clock=clock
        )


async def ledger_kinds(catalogue, isbn: str) -> list[str]:
    async with catalogue.db.reading() as session:
        return list(
            await session.scalars(
                select(models.LedgerEntry.kind)
                .where(models.LedgerEntry.isbn13 == isbn)
                .order_by(models.LedgerEntry.id)
            )
        )


async def confirmations(catalogue) -> list[str]:
    """The order ids of the ReservationCommitted events in the outbox, oldest first."""
    async with catalogue.db.reading() as session:
        rows = await session.execute(
            select(models.outbox.c.payload)
            .where(models.outbox.c.kind == ReservationCommitted.task)
            .order_by(models.outbox.c.id)
        )
        return [row.payload["order_id"] for row in rows]


async def test_fifty_orders_racing_for_the_last_five_copies_get_exactly_five(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(1)
    await books.upsert_books(books=[catalogue.book(isbn, "The Last Copies", stock=5)], actor="t")

    replies = await asyncio.gather(
        *(reserve(uows, reserve_message(uuid4(), (isbn, 1))) for _ in range(50))
    )

    assert sum(reply.ok for reply in replies) == 5
    refused = [reply for reply in replies if not reply.ok]
    assert all(reply.short[0].available == 0 for reply in refused)
    assert await catalogue.counters(isbn) == (5, 5)
    assert (await ledger_kinds(catalogue, isbn)).count("reserved") == 5
    assert await catalogue.count(models.Reservation.__table__) == 5


async def test_a_hold_moves_the_counters_and_records_its_ledger_entry_and_line(
    books: BookService, uows: UnitOfWorkFactory, catalogue, db: Database
) -> None:
    isbn = catalogue.isbn(4)
    await books.upsert_books(books=[catalogue.book(isbn, "Held", stock=7)], actor="t")
    order_id = uuid4()
    statements: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _connection, _cursor, statement, *_: statements.append(statement),
    )

    reply = await reserve(uows, reserve_message(order_id, (isbn, 3)))
    statements_made = len(statements)

    assert reply.ok
    # the price the copies are held at, which checkout charges
    assert reply.prices == (LinePrice(isbn13=isbn, price_pence=999),)
    assert await catalogue.counters(isbn) == (7, 3)
    async with db.reading() as session:
        entry = (
            await session.scalars(
                select(models.LedgerEntry)
                .where(models.LedgerEntry.isbn13 == isbn)
                .order_by(models.LedgerEntry.id.desc())
            )
        ).first()
        assert entry is not None
        assert (entry.kind, entry.on_hand_change, entry.reserved_change) == ("reserved", 0, 3)
        assert (entry.on_hand_after, entry.reserved_after) == (7, 3)
        assert (entry.actor, entry.reference) == ("checkout", f"order {order_id}")
        assert entry.created_at == NOW
        lines = await session.execute(
            select(models.ReservationLine.isbn13, models.ReservationLine.quantity).where(
                models.ReservationLine.order_id == order_id
            )
        )
        assert lines.all() == [(isbn, 3)]
    if db.is_postgres:
        # One book on Postgres: the hold is one statement, before the worker's inbox row.
        assert statements_made == 1
    else:
        # SQLite: its BEGIN, then one statement per table the hold writes; the price comes
        # back from the stock's UPDATE, each statement being three or four trips to
        # aiosqlite's thread.
        assert statements_made == 5


async def test_an_order_gets_all_its_lines_or_none_and_hears_which_are_short(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    plenty, scarce = catalogue.isbn(2), catalogue.isbn(3)
    await books.upsert_books(
        books=[
            catalogue.book(plenty, "Plenty", stock=10),
            catalogue.book(scarce, "Scarce", stock=1),
        ],
        actor="t",
    )
    events_before = len(await catalogue.events())

    reply = await reserve(uows, reserve_message(uuid4(), (plenty, 2), (scarce, 2)))

    assert not reply.ok
    assert [(s.isbn13, s.requested, s.available) for s in reply.short] == [(scarce, 2, 1)]
    assert await catalogue.counters(plenty) == (10, 0)
    assert "reserved" not in await ledger_kinds(catalogue, plenty)
    assert await catalogue.count(models.Reservation.__table__) == 0
    assert len(await catalogue.events()) == events_before


async def test_an_unknown_book_is_a_short_line_with_none_available(
    uows: UnitOfWorkFactory, catalogue
) -> None:
    reply = await reserve(uows, reserve_message(uuid4(), (catalogue.isbn(99), 1)))
    assert not reply.ok
    assert reply.short[0].available == 0


async def test_reserving_again_for_a_held_order_gives_the_same_answer_and_holds_no_more(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(4)
    await books.upsert_books(books=[catalogue.book(isbn, "Again", stock=3)], actor="t")
    order_id = uuid4()

    first = await reserve(uows, reserve_message(order_id, (isbn, 2)))
    second = await reserve(uows, reserve_message(order_id, (isbn, 2), minutes=90))

    assert first.ok and second.ok
    assert second.expires_at == first.expires_at
    assert await catalogue.counters(isbn) == (3, 2)


async def test_commit_sells_the_held_copies_once(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(5)
    await books.upsert_books(books=[catalogue.book(isbn, "Sold", stock=4)], actor="t")
    order_id = uuid4()
    await reserve(uows, reserve_message(order_id, (isbn, 3)))

    await commit(uows, order_id)
    await commit(uows, order_id)
    await release(uows, order_id)  # a release after the sale changes nothing

    assert await catalogue.counters(isbn) == (1, 0)
    assert await ledger_kinds(catalogue, isbn) == ["received", "reserved", "sold"]
    # Announced: the import and the sale; the hold left a copy on the shelf, so it was not.
    versions = [event["version"] for event in await catalogue.events(isbn)]
    assert versions == sorted(versions) and len(set(versions)) == len(versions) == 2
    assert (await catalogue.events(isbn))[-1]["available"] == 1
    # Each commit is confirmed, the repeat too: checkout re-sends until it hears.
    assert await confirmations(catalogue) == [str(order_id)] * 2


async def test_release_puts_copies_back_once(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(6)
    await books.upsert_books(books=[catalogue.book(isbn, "Back", stock=2)], actor="t")
    order_id = uuid4()
    await reserve(uows, reserve_message(order_id, (isbn, 2)))

    await release(uows, order_id)
    await release(uows, order_id)
    await commit(uows, order_id)  # a commit after the release sells nothing

    assert await catalogue.counters(isbn) == (2, 0)
    assert await ledger_kinds(catalogue, isbn) == ["received", "reserved", "released"]
    assert await confirmations(catalogue) == []


async def test_a_release_that_arrives_before_its_reserve_closes_the_order(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(7)
    await books.upsert_books(books=[catalogue.book(isbn, "Late", stock=2)], actor="t")
    order_id = uuid4()

    await release(uows, order_id)
    late = await reserve(uows, reserve_message(order_id, (isbn, 1)))

    assert not late.ok and late.short == ()
    assert await catalogue.counters(isbn) == (2, 0)


async def test_the_sweep_releases_expired_holds_and_a_late_payment_may_hold_again(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(8)
    await books.upsert_books(books=[catalogue.book(isbn, "Expiring", stock=2)], actor="t")
    lapsing, lasting = uuid4(), uuid4()
    await reserve(uows, reserve_message(lapsing, (isbn, 1), minutes=5))
    await reserve(uows, reserve_message(lasting, (isbn, 1), minutes=60))

    expired = await reservations.expire_due(uows, now=NOW + timedelta(minutes=10))
    again = await reservations.expire_due(uows, now=NOW + timedelta(minutes=10))

    assert (expired, again) == (1, 0)
    assert await catalogue.counters(isbn) == (2, 1)
    renewed = await reserve(uows, reserve_message(lapsing, (isbn, 1), minutes=40))
    assert renewed.ok
    assert await catalogue.counters(isbn) == (2, 2)


class SomethingHappensFirst(UnitOfWorkFactory):
    """A sweep's units of work, the first of which lets `meanwhile` run before it opens: what
    another worker does between the sweep reading the due holds and letting them go."""

    def __init__(self, uows: UnitOfWorkFactory, meanwhile: Callable[[], Awaitable[None]]) -> None:
        super().__init__(uows.db, uows.outbox)
        self._meanwhile: Callable[[], Awaitable[None]] | None = meanwhile

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        async with super().__call__() as uow:
            yield uow


async def test_a_sweep_does_not_let_go_a_hold_renewed_since_it_read_it_as_due(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(9)
    await books.upsert_books(books=[catalogue.book(isbn, "Renewed", stock=2)], actor="t")
    order_id = uuid4()
    await reserve(uows, reserve_message(order_id, (isbn, 1), minutes=5))
    later = NOW + timedelta(minutes=10)

    async def another_sweep_then_a_late_payment() -> None:
        assert await reservations.expire_due(uows, now=later) == 1
        assert (await reserve(uows, reserve_message(order_id, (isbn, 1), minutes=40))).ok

    stale = await reservations.expire_due(
        SomethingHappensFirst(uows, another_sweep_then_a_late_payment), now=later
    )

    assert stale == 0
    assert await catalogue.counters(isbn) == (2, 1)
    await commit(uows, order_id)
    assert await catalogue.counters(isbn) == (1, 0), "the paid copy is sold"


async def test_a_hold_is_announced_only_when_it_takes_the_last_copies(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    isbn = catalogue.isbn(12)
    await books.upsert_books(books=[catalogue.book(isbn, "Last two", stock=2)], actor="t")
    imported = len(await catalogue.events(isbn))

    await reserve(uows, reserve_message(uuid4(), (isbn, 1)))
    assert len(await catalogue.events(isbn)) == imported, "one copy is still on the shelf"

    await reserve(uows, reserve_message(uuid4(), (isbn, 1)))
    events = await catalogue.events(isbn)
    assert len(events) == imported + 1 and events[-1]["available"] == 0


async def test_every_held_book_of_an_order_comes_with_its_price_however_often_asked(
    books: BookService, uows: UnitOfWorkFactory, catalogue
) -> None:
    first, second = catalogue.isbn(21), catalogue.isbn(22)
    await books.upsert_books(
        books=[
            msgspec.structs.replace(catalogue.book(first, "First", stock=3), price_pence=1250),
            msgspec.structs.replace(catalogue.book(second, "Second", stock=3), price_pence=800),
        ],
        actor="t",
    )
    message = reserve_message(uuid4(), (first, 1), (second, 2))

    held = await reserve(uows, message)
    again = await reserve(uows, message)

    for reply in (held, again):
        assert reply.ok
        assert {(p.isbn13, p.price_pence) for p in reply.prices} == {
            (first, 1250),
            (second, 800),
        }
