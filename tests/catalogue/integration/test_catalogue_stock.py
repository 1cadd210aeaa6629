"""Stock staff's work on SQLite and Postgres: deliveries, returns, adjustments, stock takes, the
ledger and the low-stock report."""

from __future__ import annotations

from typing import Any

import pytest

from services.catalogue import service
from services.catalogue.schemas import (
    Adjustment,
    CountedLine,
    Delivery,
    DeliveryLine,
    StockTake,
)
from services.catalogue.service import BookService, FiguresChanged, StockService
from shared.errors import Conflict, InvalidInput, NotFound


async def two_books(books: BookService, catalogue) -> tuple[str, str]:
    first, second = catalogue.isbn(1), catalogue.isbn(2)
    await books.upsert_books(
        books=[
            catalogue.book(first, "First", stock=2, reorder_point=3),
            catalogue.book(second, "Second", stock=10),
        ],
        actor="t",
    )
    return first, second


async def test_a_delivery_is_one_ledger_batch_of_all_its_lines(
    books: BookService, stock: StockService, catalogue
) -> None:
    first, second = await two_books(books, catalogue)

    batch = await stock.receive(
        delivery=Delivery(
            lines=[
                DeliveryLine(isbn13=first, quantity=3),
                DeliveryLine(isbn13=second, quantity=1),
                DeliveryLine(isbn13=first, quantity=1),
            ],
            reference="Bookmarks invoice 881",
        ),
        actor="sam",
    )

    assert [(e.isbn13, e.kind, e.on_hand_change, e.on_hand_after) for e in batch.entries] == [
        (first, "received", 4, 6),
        (second, "received", 1, 11),
    ]
    assert {(e.actor, e.reference, e.batch_id) for e in batch.entries} == {
        ("sam", "Bookmarks invoice 881", batch.batch_id)
    }


async def test_a_delivery_with_an_unknown_book_receives_nothing(
    books: BookService, stock: StockService, catalogue
) -> None:
    first, _ = await two_books(books, catalogue)
    with pytest.raises(NotFound, match=catalogue.isbn(3)):
        await stock.receive(
            delivery=Delivery(
                lines=[
                    DeliveryLine(isbn13=first, quantity=3),
                    DeliveryLine(isbn13=catalogue.isbn(3), quantity=1),
                ]
            ),
            actor="sam",
        )
    assert await catalogue.counters(first) == (2, 0)


async def test_adjustments_need_a_reason_and_cannot_take_more_than_is_free(
    books: BookService, stock: StockService, catalogue
) -> None:
    first, _ = await two_books(books, catalogue)

    damaged = await stock.adjust(
        adjustment=Adjustment(isbn13=first, change=-1, reason="water damaged"), actor="sam"
    )
    with pytest.raises(Conflict, match="at most 1 can go"):
        await stock.adjust(
            adjustment=Adjustment(isbn13=first, change=-2, reason="lost"), actor="sam"
        )
    with pytest.raises(InvalidInput, match="0 copies"):
        await stock.adjust(adjustment=Adjustment(isbn13=first, change=0, reason="none"), actor="s")
    with pytest.raises(InvalidInput, match="reason"):
        await stock.adjust(adjustment=Adjustment(isbn13=first, change=1, reason="   "), actor="s")

    [entry] = damaged.entries
    assert (entry.kind, entry.on_hand_change, entry.reason) == ("adjusted", -1, "water damaged")
    assert await catalogue.counters(first) == (1, 0)


async def test_returns_to_the_supplier_take_copies_off_the_shelf(
    books: BookService, stock: StockService, catalogue
) -> None:
    _, second = await two_books(books, catalogue)
    batch = await stock.return_to_supplier(
        delivery=Delivery(lines=[DeliveryLine(isbn13=second, quantity=4)], reference="RTN-7"),
        actor="sam",
    )
    assert [(e.kind, e.on_hand_change) for e in batch.entries] == [("returned_to_supplier", -4)]
    assert await catalogue.counters(second) == (6, 0)


async def test_a_stock_take_preview_shows_differences_and_writes_nothing(
    books: BookService, stock: StockService, catalogue
) -> None:
    first, second = await two_books(books, catalogue)
    take = StockTake(
        counts=[CountedLine(isbn13=first, counted=2), CountedLine(isbn13=second, counted=7)]
    )

    preview = await stock.stock_take(take=take, actor="sam", apply=False)
    assert not preview.applied
    assert [(d.isbn13, d.on_hand, d.counted, d.difference) for d in preview.differences] == [
        (second, 10, 7, -3)
    ]
    assert await catalogue.counters(second) == (10, 0)

    applied = await stock.stock_take(take=take, actor="sam", apply=True)
    assert applied.applied and applied.batch_id is not None
    assert await catalogue.counters(second) == (7, 0)
    [correction] = await stock.ledger(isbn13=second, limit=1)
    assert (correction.kind, correction.on_hand_change, correction.on_hand_after) == (
        "stocktake",
        -3,
        7,
    )
    again = await stock.stock_take(take=take, actor="sam", apply=True)
    assert again.differences == [] and again.batch_id is None


def previewed_take(*counts: tuple[str, int, int]) -> StockTake:
    """(ISBN, counted, the on-hand figure the preview showed) per line."""
    return StockTake(
        counts=[
            CountedLine(isbn13=isbn, counted=counted, expected_on_hand=figure)
            for isbn, counted, figure in counts
        ]
    )


async def test_a_sale_since_the_preview_refuses_the_stock_take_and_is_not_overwritten(
    books: BookService, stock: StockService, catalogue
) -> None:
    first, second = await two_books(books, catalogue)
    # Previewed: first matched its 2, second counted 7 against 10.
    take = previewed_take((first, 2, 2), (second, 7, 10))
    await catalogue.sell(first)
    ledger_before = await stock.ledger(isbn13=second)

    with pytest.raises(FiguresChanged) as refused:
        await stock.stock_take(take=take, actor="sam", apply=True)

    assert refused.value.status_code == 409
    assert refused.value.extra == {"changed_isbns": [first]}
    assert first in refused.value.message and "since the preview" in refused.value.message
    assert await catalogue.counters(first) == (1, 0)  # the sale stands
    assert await catalogue.counters(second) == (10, 0)  # nothing of the take written
    assert await stock.ledger(isbn13=second) == ledger_before

    # The sold copy waits on the shelf until it is posted: the count of 2 still matches.
    applied = await stock.stock_take(
        take=previewed_take((first, 2, 1), (second, 7, 10)), actor="sam", apply=True
    )
    assert [(d.isbn13, d.difference) for d in applied.differences] == [(second, -3)]
    assert await catalogue.counters(second) == (7, 0)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_sale_inside_the_stock_takes_transaction_is_not_overwritten(
    books: BookService, stock: StockService, catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Postgres only: on SQLite the take's BEGIN IMMEDIATE keeps every other writer out."""
    _, second = await two_books(books, catalogue)
    real_move = service.move

    async def sale_lands_first(*args: Any, **kwargs: Any) -> Any:
        # After the take has read the figures, before it writes its first correction.
        monkeypatch.setattr(service, "move", real_move)
        await catalogue.sell(second)
        return await real_move(*args, **kwargs)

    monkeypatch.setattr(service, "move", sale_lands_first)
    with pytest.raises(FiguresChanged) as refused:
        await stock.stock_take(take=previewed_take((second, 7, 10)), actor="sam", apply=True)

    assert refused.value.extra == {"changed_isbns": [second]}
    assert await catalogue.counters(second) == (9, 0)
    [sale] = await stock.ledger(isbn13=second, limit=1)
    assert sale.kind == "sold"


async def test_the_ledger_is_newest_first_and_pages_back(
    books: BookService, stock: StockService, catalogue
) -> None:
    first, _ = await two_books(books, catalogue)
    for quantity in (1, 2, 3):
        await stock.receive(
            delivery=Delivery(lines=[DeliveryLine(isbn13=first, quantity=quantity)]), actor="s"
        )
    newest = await stock.ledger(isbn13=first, limit=2)
    older = await stock.ledger(isbn13=first, limit=10, before_id=newest[-1].id)
    assert [e.on_hand_change for e in newest] == [3, 2]
    assert [e.on_hand_change for e in older] == [1, 2]  # then the opening stock


async def test_low_stock_lists_books_available_below_their_reorder_point(
    books: BookService, stock: StockService, catalogue
) -> None:
    first, second = await two_books(books, catalogue)
    low = await stock.low_stock()
    assert [(row.isbn13, row.available, row.reorder_point) for row in low] == [(first, 2, 3)]
    assert second not in {row.isbn13 for row in low}
