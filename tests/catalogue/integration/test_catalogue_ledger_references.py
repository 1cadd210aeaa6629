"""The ledger names an order as staff know it: by the reference the orders pages show (V9PDJV46),
which checkout sends with the hold, for the hold, the sale, a release or expiry and a return; by
the reservation's id only for a hold asked for without one (a message queued before)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

from sales import NOW, clock, commit, give_back, hold
from sqlalchemy import select

from services.catalogue import handlers, models, reservations
from services.catalogue.service import BookService
from shared.contracts import ReleaseReservation
from shared.messaging.unit_of_work import UnitOfWorkFactory


async def entries(catalogue: Any, isbn: str) -> list[tuple[str, str | None]]:
    """The book's ledger entries for orders, oldest first: (kind, reference)."""
    async with catalogue.db.reading() as session:
        rows = await session.execute(
            select(models.LedgerEntry.kind, models.LedgerEntry.reference)
            .where(models.LedgerEntry.isbn13 == isbn, models.LedgerEntry.actor == "checkout")
            .order_by(models.LedgerEntry.id)
        )
        return [(kind, reference) for kind, reference in rows]


async def test_a_hold_its_sale_and_its_returns_name_the_orders_reference(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    isbn = catalogue.isbn(61)
    await books.upsert_books(books=[catalogue.book(isbn, "Named", stock=4)], actor="t")
    order_id = uuid4()

    await hold(uows, order_id, (isbn, 2), reference="V9PDJV46")
    await commit(uows, order_id)
    await give_back(uows, order_id, (isbn, 1), refund_id=5)
    # The order's lines still count what came back: one more, then nothing left to return.
    await give_back(uows, order_id, (isbn, 2), refund_id=6)

    assert await entries(catalogue, isbn) == [
        ("reserved", "order V9PDJV46"),
        ("sold", "order V9PDJV46"),
        ("returned", "order V9PDJV46 refund 5"),
        ("returned", "order V9PDJV46 refund 6"),
    ]
    assert await catalogue.counters(isbn) == (4, 0)


async def test_a_released_and_an_expired_hold_name_their_orders(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    isbn = catalogue.isbn(62)
    await books.upsert_books(books=[catalogue.book(isbn, "Let go", stock=4)], actor="t")
    cancelled, lapsed = uuid4(), uuid4()
    await hold(uows, cancelled, (isbn, 1), reference="CANC3LED", minutes=60)
    await hold(uows, lapsed, (isbn, 1), reference="LAPS3D22", minutes=5)

    async with uows() as uow:
        await handlers.on_release_reservation(
            ReleaseReservation(order_id=cancelled, reason="cancelled"), uow=uow, clock=clock
        )
    assert await reservations.expire_due(uows, now=NOW + timedelta(minutes=10)) == 1

    assert await entries(catalogue, isbn) == [
        ("reserved", "order CANC3LED"),
        ("reserved", "order LAPS3D22"),
        ("released", "order CANC3LED"),
        ("released", "order LAPS3D22"),
    ]


async def test_a_lapsed_hold_renewed_by_a_reserve_without_a_reference_keeps_naming_it(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    isbn = catalogue.isbn(63)
    await books.upsert_books(books=[catalogue.book(isbn, "Renewed", stock=2)], actor="t")
    order_id = uuid4()
    await hold(uows, order_id, (isbn, 1), reference="R3N3W3D2", minutes=5)
    assert await reservations.expire_due(uows, now=NOW + timedelta(minutes=10)) == 1

    await hold(uows, order_id, (isbn, 1), reference=None, minutes=60)
    await commit(uows, order_id)

    assert await entries(catalogue, isbn) == [
        ("reserved", "order R3N3W3D2"),
        ("released", "order R3N3W3D2"),
        ("reserved", "order R3N3W3D2"),
        ("sold", "order R3N3W3D2"),
    ]


async def test_a_hold_asked_for_without_a_reference_names_the_reservations_id(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    isbn = catalogue.isbn(64)
    await books.upsert_books(books=[catalogue.book(isbn, "Unnamed", stock=3)], actor="t")
    order_id = uuid4()

    await hold(uows, order_id, (isbn, 2), reference=None)
    await commit(uows, order_id)
    await give_back(uows, order_id, (isbn, 1), refund_id=9)

    assert await entries(catalogue, isbn) == [
        ("reserved", f"order {order_id}"),
        ("sold", f"order {order_id}"),
        ("returned", f"order {order_id} refund 9"),
    ]
