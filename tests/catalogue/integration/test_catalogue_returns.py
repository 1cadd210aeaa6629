"""Sold copies back on the shelf, on SQLite and Postgres: never more of a book than the order
bought less those returned before, nothing for an order that was not sold or a book it did not
buy, and the staff's ledger says where the copies came from."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient
from lxml import html
from sales import NOW, clock, give_back, hold, sell
from sqlalchemy import select

from services.catalogue import handlers, models
from services.catalogue.service import BookService
from shared.contracts import ReleaseReservation
from shared.messaging.unit_of_work import UnitOfWorkFactory

RETURNS_LOG = "services.catalogue.returns"


async def returned_entries(catalogue: Any, isbn: str) -> list[models.LedgerEntry]:
    async with catalogue.db.reading() as session:
        return list(
            await session.scalars(
                select(models.LedgerEntry)
                .where(models.LedgerEntry.isbn13 == isbn, models.LedgerEntry.kind == "returned")
                .order_by(models.LedgerEntry.id)
            )
        )


async def test_a_sold_orders_copies_come_back_on_hand_in_the_ledger_and_announced(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    isbn = catalogue.isbn(31)
    await books.upsert_books(books=[catalogue.book(isbn, "Sent back", stock=3)], actor="t")
    order_id = await sell(uows, (isbn, 3))
    assert (await catalogue.events(isbn))[-1]["available"] == 0
    sold_out_version = (await catalogue.events(isbn))[-1]["version"]

    await give_back(uows, order_id, (isbn, 2), refund_id=17, reason="never collected")

    assert await catalogue.counters(isbn) == (2, 0)
    [entry] = await returned_entries(catalogue, isbn)
    assert (entry.on_hand_change, entry.reserved_change) == (2, 0)
    assert (entry.on_hand_after, entry.reserved_after) == (2, 0)
    assert (entry.actor, entry.reason) == ("checkout", "never collected")
    assert entry.reference == f"order {order_id} refund 17"
    assert entry.created_at == NOW
    announced = (await catalogue.events(isbn))[-1]
    assert announced["available"] == 2
    assert announced["version"] > sold_out_version
    async with catalogue.db.reading() as session:
        out_of_stock = set(
            await session.scalars(
                select(models.SearchTerm.out_of_stock).where(models.SearchTerm.isbn13 == isbn)
            )
        )
    assert out_of_stock == {0}, "back in stock for search too"


async def test_a_second_return_for_the_order_is_capped_at_what_is_left_of_it(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any, caplog: pytest.LogCaptureFixture
) -> None:
    isbn = catalogue.isbn(32)
    await books.upsert_books(books=[catalogue.book(isbn, "Returned twice", stock=5)], actor="t")
    order_id = await sell(uows, (isbn, 3))
    # Another order's return of the same book counts against that order, not this one.
    await give_back(uows, await sell(uows, (isbn, 1)), (isbn, 1), refund_id=9)

    await give_back(uows, order_id, (isbn, 2), refund_id=1)
    with caplog.at_level(logging.WARNING, logger=RETURNS_LOG):
        await give_back(uows, order_id, (isbn, 2), refund_id=2)
    events = len(await catalogue.events(isbn))
    await give_back(uows, order_id, (isbn, 1), refund_id=3)

    assert await catalogue.counters(isbn) == (5, 0)
    mine = [e for e in await returned_entries(catalogue, isbn) if str(order_id) in e.reference]
    assert [(e.on_hand_change, e.reference) for e in mine] == [
        (2, f"order {order_id} refund 1"),
        (1, f"order {order_id} refund 2"),
    ]
    assert "2 of" in caplog.text and "1 left to return" in caplog.text
    assert len(await catalogue.events(isbn)) == events, "nothing returned, nothing announced"


async def test_two_returns_racing_for_the_same_order_put_back_no_more_than_it_bought(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    isbn = catalogue.isbn(33)
    await books.upsert_books(books=[catalogue.book(isbn, "Raced back", stock=4)], actor="t")
    order_id = await sell(uows, (isbn, 3))

    await asyncio.gather(*(give_back(uows, order_id, (isbn, 3), refund_id=n) for n in range(1, 5)))

    assert await catalogue.counters(isbn) == (4, 0)
    assert sum(e.on_hand_change for e in await returned_entries(catalogue, isbn)) == 3


@pytest.mark.parametrize("state", ["unknown", "held", "released"])
async def test_an_order_that_was_not_sold_returns_nothing(
    state: str,
    books: BookService,
    uows: UnitOfWorkFactory,
    catalogue: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    isbn = catalogue.isbn(34)
    await books.upsert_books(books=[catalogue.book(isbn, "Never sold", stock=2)], actor="t")
    order_id = uuid4()
    if state != "unknown":
        await hold(uows, order_id, (isbn, 1))
    if state == "released":
        async with uows() as uow:
            await handlers.on_release_reservation(
                ReleaseReservation(order_id=order_id, reason="cancelled"),
                uow=uow,
                clock=clock,
            )
    counters = await catalogue.counters(isbn)
    events = len(await catalogue.events(isbn))

    with caplog.at_level(logging.WARNING, logger=RETURNS_LOG):
        await give_back(uows, order_id, (isbn, 1))

    assert await catalogue.counters(isbn) == counters
    assert await returned_entries(catalogue, isbn) == []
    assert len(await catalogue.events(isbn)) == events
    assert f"its reservation is {state}" in caplog.text


async def test_a_book_the_order_did_not_buy_is_ignored_and_the_rest_come_back(
    books: BookService, uows: UnitOfWorkFactory, catalogue: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bought, other, unknown = catalogue.isbn(35), catalogue.isbn(36), catalogue.isbn(37)
    await books.upsert_books(
        books=[catalogue.book(bought, "Bought", stock=2), catalogue.book(other, "Other", stock=2)],
        actor="t",
    )
    order_id = await sell(uows, (bought, 1))
    events = len(await catalogue.events(other))

    with caplog.at_level(logging.WARNING, logger=RETURNS_LOG):
        await give_back(uows, order_id, (other, 1), (bought, 1), (unknown, 1))

    assert await catalogue.counters(bought) == (2, 0)
    assert await catalogue.counters(other) == (2, 0)
    assert await returned_entries(catalogue, other) == []
    assert len(await catalogue.events(other)) == events
    assert f"{other} ignored" in caplog.text and f"{unknown} ignored" in caplog.text


async def test_the_book_page_tells_a_customers_return_from_a_return_to_the_supplier(
    client: AsyncTestClient[Any], books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    isbn = catalogue.isbn(38)
    await books.upsert_books(books=[catalogue.book(isbn, "Came back", stock=1)], actor="t")
    order_id = await sell(uows, (isbn, 1))
    await give_back(uows, order_id, (isbn, 1), refund_id=4, reason="damaged in the post")

    response = await client.get(f"/staff/stock/books/{isbn}")

    assert response.status_code == 200
    [newest] = html.fromstring(response.text).xpath("//table[@id='ledger']/tbody/tr[1]")
    text = " ".join(" ".join(newest.itertext()).split())
    assert "returned from a customer's order +1" in text
    assert f"damaged in the post · ref. order {order_id} refund 4" in text
