"""Sold copies awaiting dispatch, on SQLite and Postgres: a paid order's copies are on the shelf
until its sale is closed, so a stock take counts them there and never puts them back on hand;
returned copies are not counted twice; a close may come before the commit, or for nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient
from sales import (
    NOW,
    close,
    commit,
    count,
    give_back,
    hold,
    preview_counts,
    sell,
    shelve,
    texts,
    write,
)
from sqlalchemy import select

from services.catalogue import dispatch, models
from services.catalogue.schemas import CountedLine, StockTake
from services.catalogue.service import BookService, FiguresChanged, StockService
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory

DISPATCH_LOG = "services.catalogue.dispatch"


async def awaiting(db: Database, *isbns: str) -> dict[str, int]:
    async with db.reading() as session:
        return await dispatch.awaiting_dispatch(session, isbns)


async def test_a_paid_orders_copies_count_with_the_shelf_until_its_sale_is_closed(
    books: BookService, stock: StockService, uows: UnitOfWorkFactory, db: Database, catalogue: Any
) -> None:
    isbn = catalogue.isbn(51)
    await books.upsert_books(books=[catalogue.book(isbn, "Posted later", stock=5)], actor="t")
    order_id = await sell(uows, (isbn, 2))
    assert await catalogue.counters(isbn) == (3, 0)

    # Staff count the 5 copies on the shelf, the 2 sold ones among them: nothing to correct.
    waiting = await stock.stock_take(take=count((isbn, 5)), actor="sam", apply=True)
    assert waiting.differences == [] and waiting.batch_id is None
    assert waiting.awaiting_dispatch == {isbn: 2}
    assert await catalogue.counters(isbn) == (3, 0)
    # A count without them is 2 short.
    [short] = (await stock.stock_take(take=count((isbn, 3)), actor="sam", apply=False)).differences
    assert (short.on_hand, short.awaiting_dispatch, short.counted, short.difference) == (
        3,
        2,
        3,
        -2,
    )

    await close(uows, order_id)

    assert await awaiting(db, isbn) == {}
    posted = await stock.stock_take(take=count((isbn, 3)), actor="sam", apply=False)
    assert posted.differences == [] and posted.awaiting_dispatch == {}
    # Still counted after they were posted, they would be 2 found: they are not the shop's.
    [found] = (await stock.stock_take(take=count((isbn, 5)), actor="sam", apply=False)).differences
    assert (found.on_hand, found.awaiting_dispatch, found.difference) == (3, 0, 2)


async def test_returned_copies_are_on_hand_and_no_longer_awaiting_dispatch(
    books: BookService, stock: StockService, uows: UnitOfWorkFactory, db: Database, catalogue: Any
) -> None:
    isbn = catalogue.isbn(52)
    await books.upsert_books(books=[catalogue.book(isbn, "One refunded", stock=4)], actor="t")
    order_id = await sell(uows, (isbn, 3))
    other_order = await sell(uows, (isbn, 1))

    await give_back(uows, order_id, (isbn, 1))

    assert await catalogue.counters(isbn) == (1, 0)
    assert await awaiting(db, isbn) == {isbn: 3}
    take = await stock.stock_take(take=count((isbn, 4)), actor="sam", apply=False)
    assert take.differences == []
    await close(uows, other_order)
    assert await awaiting(db, isbn) == {isbn: 2}


async def test_a_close_before_the_commit_still_closes_the_sale(
    books: BookService, uows: UnitOfWorkFactory, db: Database, catalogue: Any
) -> None:
    isbn = catalogue.isbn(53)
    await books.upsert_books(books=[catalogue.book(isbn, "Paid at the till", stock=2)], actor="t")
    order_id = uuid4()
    await hold(uows, order_id, (isbn, 1))

    await close(uows, order_id)
    await commit(uows, order_id)

    assert await catalogue.counters(isbn) == (1, 0)
    assert await awaiting(db, isbn) == {}
    async with db.reading() as session:
        closed_at = await session.scalar(
            select(models.Reservation.closed_at).where(models.Reservation.order_id == order_id)
        )
    assert closed_at == NOW


async def test_closing_again_keeps_the_first_close(
    books: BookService, uows: UnitOfWorkFactory, db: Database, catalogue: Any
) -> None:
    isbn = catalogue.isbn(54)
    await books.upsert_books(books=[catalogue.book(isbn, "Closed twice", stock=1)], actor="t")
    order_id = await sell(uows, (isbn, 1))

    async with uows() as uow:
        assert await dispatch.close_sale(uow, order_id=order_id, now=NOW)
    async with uows() as uow:
        assert not await dispatch.close_sale(uow, order_id=order_id, now=NOW + timedelta(days=1))

    async with db.reading() as session:
        closed_at = await session.scalar(
            select(models.Reservation.closed_at).where(models.Reservation.order_id == order_id)
        )
    assert closed_at == NOW


async def test_closing_the_sale_of_an_unknown_order_changes_nothing(
    uows: UnitOfWorkFactory, catalogue: Any, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = uuid4()
    with caplog.at_level(logging.WARNING, logger=DISPATCH_LOG):
        await close(uows, order_id)

    assert f"order {order_id} ignored: the order is unknown" in caplog.text
    assert await catalogue.count(models.Reservation.__table__) == 0
    assert await catalogue.count(models.outbox) == 0


async def test_copies_posted_since_the_preview_refuse_the_stock_take(
    books: BookService, stock: StockService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    """The count included copies that have left since: written against the figures of now,
    it would put them back on hand."""
    isbn = catalogue.isbn(55)
    await books.upsert_books(books=[catalogue.book(isbn, "Posted meanwhile", stock=6)], actor="t")
    order_id = await sell(uows, (isbn, 2))
    # Previewed: 5 counted against 4 on hand and 2 awaiting dispatch, one copy missing.
    take = StockTake(
        counts=[
            CountedLine(isbn13=isbn, counted=5, expected_on_hand=4, expected_awaiting_dispatch=2)
        ]
    )
    await close(uows, order_id)

    with pytest.raises(FiguresChanged) as refused:
        await stock.stock_take(take=take, actor="sam", apply=True)

    assert refused.value.extra == {"changed_isbns": [isbn]}
    assert "posted or collected" in refused.value.message
    assert await catalogue.counters(isbn) == (4, 0)


async def test_the_stock_take_pages_count_sold_copies_with_the_shelf(
    client: AsyncTestClient[Any], books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    waiting, matched = catalogue.isbn(56), catalogue.isbn(57)
    await shelve(
        books, catalogue, (waiting, "Waiting", 5), (matched, "Matched", 2), subjects=["poetry"]
    )
    await sell(uows, (waiting, 2))
    await sell(uows, (matched, 1))
    counting = await client.get("/staff/stock/stock-take", params={"subject": "poetry"})
    assert "sold copies waiting to be posted or collected included" in counting.text

    # One copy of Waiting is missing; Matched's count takes in its sold copy.
    preview = await preview_counts(client, (waiting, 4), (matched, 2))

    assert preview.status_code == 200
    assert texts(preview, "//table[@id='differences']/thead/tr") == [
        "Book On hand Sold, awaiting dispatch Counted Difference"
    ]
    assert texts(preview, "//table[@id='differences']/tbody/tr") == [f"Waiting {waiting} 3 2 4 -1"]
    [note] = texts(preview, "//p[@id='awaiting-dispatch']")
    assert note.endswith("Sold, awaiting dispatch: Matched (1); Waiting (2).")

    written = await write(client, preview)
    assert written.status_code == 200, written.text
    assert "Corrections written: 1 book changed" in written.text
    assert await catalogue.counters(waiting) == (2, 0)
    assert await catalogue.counters(matched) == (1, 0)

    book = await client.get(f"/staff/stock/books/{waiting}")
    assert texts(book, "//dd[@id='awaiting-dispatch']") == ["2"]
    assert texts(book, "//dd[@id='on-hand']") == ["2"]
