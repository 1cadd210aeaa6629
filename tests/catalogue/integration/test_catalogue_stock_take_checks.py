"""A stock take's counts that the figures cannot take, on SQLite and Postgres: a count short of
the copies sold or held for orders is reported (an order problem) and the rest of the take is
written; a count taken before a book's figures moved is not offered for writing again."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from conftest import Client, OpenClient
from lxml import html
from sales import WRITE, close, count, form, hold, preview_counts, sell, shelve, texts, write

from services.catalogue.service import BookService, StockService
from shared.auth.roles import Role
from shared.messaging.unit_of_work import UnitOfWorkFactory

RECOUNT = "//form[@action='/staff/stock/stock-take/recount']"


def previewed(isbn: str, counted: int, on_hand: int, awaiting: int) -> dict[str, Any]:
    """A JSON line counted, with the figures its preview showed."""
    return {
        "isbn13": isbn,
        "counted": counted,
        "expected_on_hand": on_hand,
        "expected_awaiting_dispatch": awaiting,
    }


async def stocktakes(stock: StockService, isbn: str) -> list[int]:
    return [e.on_hand_change for e in await stock.ledger(isbn13=isbn) if e.kind == "stocktake"]


# A count short of the copies spoken for ------------------------------------------------------


async def test_a_count_short_of_the_sold_copies_reports_them_and_writes_the_other_books(
    books: BookService, stock: StockService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    gone, fewer, other = catalogue.isbn(61), catalogue.isbn(62), catalogue.isbn(63)
    await shelve(
        books,
        catalogue,
        (gone, "Only copy sold", 1),
        (fewer, "Three sold", 6),
        (other, "Two missing", 5),
    )
    await sell(uows, (gone, 1))
    await sell(uows, (fewer, 3))
    take = count((gone, 0), (fewer, 2), (other, 3))

    preview = await stock.stock_take(take=take, actor="sam", apply=False)

    # The sold copy of `gone` is missing; on hand is 0 already, so nothing to correct. Of
    # `fewer`'s 6, 2 are on the shelf: 1 paid-for copy missing, and the 3 unsold ones.
    assert [
        (d.isbn13, d.on_hand, d.awaiting_dispatch, d.counted, d.difference, d.missing_sold)
        for d in preview.differences
    ] == [(gone, 0, 1, 0, 0, 1), (fewer, 3, 3, 2, -3, 1), (other, 5, 0, 3, -2, 0)]

    applied = await stock.stock_take(take=take, actor="sam", apply=True)

    assert applied.differences == preview.differences and applied.batch_id is not None
    assert await catalogue.counters(gone) == (0, 0)
    assert await catalogue.counters(fewer) == (0, 0)
    assert await catalogue.counters(other) == (3, 0)
    assert await stocktakes(stock, gone) == []  # no correction of 0 in the ledger
    assert await stocktakes(stock, fewer) == [-3]


async def test_a_count_short_of_the_copies_held_for_orders_takes_on_hand_down_to_them(
    books: BookService, stock: StockService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    held, other = catalogue.isbn(64), catalogue.isbn(65)
    await shelve(books, catalogue, (held, "Held", 3), (other, "Other", 2))
    await hold(uows, uuid4(), (held, 1))  # in a reader's checkout, not paid yet
    take = count((held, 0), (other, 1))

    applied = await stock.stock_take(take=take, actor="sam", apply=True)

    assert [
        (d.isbn13, d.difference, d.missing_sold, d.missing_held) for d in applied.differences
    ] == [(held, -2, 0, 1), (other, -1, 0, 0)]
    assert await catalogue.counters(held) == (1, 1)
    assert await catalogue.counters(other) == (1, 0)


async def test_the_api_writes_a_stock_take_short_of_the_sold_copies_and_reports_them(
    open_client: OpenClient, books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    gone, other = catalogue.isbn(66), catalogue.isbn(67)
    await shelve(books, catalogue, (gone, "Gone", 1), (other, "Other", 4))
    await sell(uows, (gone, 1))
    take = {"counts": [previewed(gone, 0, 0, 1), previewed(other, 3, 4, 0)]}
    async with open_client(Role.STOCK) as client:
        applied = await client.post("/api/catalogue/stock/stocktake", json=take)

    assert applied.status_code == 201, applied.text
    assert [
        (d["isbn13"], d["difference"], d["missing_sold"], d["missing_held"])
        for d in applied.json()["differences"]
    ] == [(gone, 0, 1, 0), (other, -1, 0, 0)]
    assert await catalogue.counters(other) == (3, 0)


async def test_the_api_still_refuses_a_stock_take_whose_sold_copies_were_posted_since(
    open_client: OpenClient, books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    posted, other = catalogue.isbn(68), catalogue.isbn(69)
    await shelve(books, catalogue, (posted, "Posted", 1), (other, "Other", 4))
    order_id = await sell(uows, (posted, 1))
    take = {"counts": [previewed(posted, 1, 0, 1), previewed(other, 3, 4, 0)]}
    await close(uows, order_id)
    async with open_client(Role.STOCK) as client:
        refused = await client.post("/api/catalogue/stock/stocktake", json=take)

    assert refused.status_code == 409, refused.text
    assert refused.json()["changed_isbns"] == [posted]
    assert await catalogue.counters(posted) == (0, 0)
    assert await catalogue.counters(other) == (4, 0)


async def test_the_preview_page_warns_of_a_missing_paid_for_copy_and_writes_the_rest(
    client: Client,
    books: BookService,
    stock: StockService,
    uows: UnitOfWorkFactory,
    catalogue: Any,
) -> None:
    gone, other = catalogue.isbn(70), catalogue.isbn(71)
    await shelve(books, catalogue, (gone, "Gone", 4), (other, "Other", 5), subjects=["poetry"])
    await sell(uows, (gone, 3))

    preview = await preview_counts(client, (gone, 2), (other, 4))

    assert preview.status_code == 200, preview.text
    assert texts(preview, "//ul[@id='missing-copies']/li") == [
        "Gone: 2 counted, but 3 are sold and waiting to be posted or collected: 1 paid-for copy"
        " is missing. Find it, or refund its order: a stock take does not write off sold"
        " copies. On hand goes down to 0."
    ]
    written = await write(client, preview)
    assert written.status_code == 200, written.text
    assert "Corrections written: 2 books changed" in written.text
    assert await catalogue.counters(gone) == (0, 0)
    assert await catalogue.counters(other) == (4, 0)
    assert await stocktakes(stock, gone) == [-1]


# A count taken before the figures moved -------------------------------------------------------


async def test_a_book_whose_sold_copy_was_posted_since_the_preview_is_counted_again(
    client: Client,
    books: BookService,
    stock: StockService,
    uows: UnitOfWorkFactory,
    catalogue: Any,
) -> None:
    posted, other = catalogue.isbn(72), catalogue.isbn(73)
    await shelve(books, catalogue, (posted, "Posted", 1), (other, "Other", 5), subjects=["poetry"])
    order_id = await sell(uows, (posted, 1))
    # Posted's 1 is its sold copy, still on the shelf: no difference.
    preview = await preview_counts(client, (posted, 1), (other, 4))
    assert texts(preview, "//table[@id='differences']/tbody/tr") == [f"Other {other} 5 4 -1"]
    await close(uows, order_id)  # posted before the clerk writes

    refused = await write(client, preview)

    assert refused.status_code == 409, refused.text
    [top] = texts(refused, "//p[@role='alert']")
    assert "Posted" in top and "count" in top and "again" in top
    assert texts(refused, "//ul[@id='count-again']/li") == [
        f"Posted ({posted}): figures changed since you counted: count again"
    ]
    # Its count is not offered for writing; the other book's is.
    assert texts(refused, "//table[@id='differences']/tbody/tr") == [f"Other {other} 5 4 -1"]
    again = form(refused, WRITE)
    assert f"count-{posted}" not in again and again[f"count-{other}"] == "4"
    assert f"count-{posted}" not in form(refused, RECOUNT)

    written = await client.post("/staff/stock/stock-take/write", data=again)

    assert written.status_code == 200, written.text
    assert "Corrections written: 1 book changed" in written.text
    assert texts(written, "//ul[@id='count-again']/li") == [
        f"Posted ({posted}): figures changed since you counted: count again"
    ]
    assert await catalogue.counters(posted) == (0, 0)  # the posted copy not back on sale
    assert await catalogue.counters(other) == (4, 0)
    assert await stocktakes(stock, posted) == []


async def test_a_shortfall_counted_before_the_sold_copy_was_posted_is_not_lost(
    client: Client,
    books: BookService,
    stock: StockService,
    uows: UnitOfWorkFactory,
    catalogue: Any,
) -> None:
    short, other = catalogue.isbn(74), catalogue.isbn(75)
    await shelve(books, catalogue, (short, "Short", 4), (other, "Other", 5), subjects=["poetry"])
    order_id = await sell(uows, (short, 1))
    # 3 on hand and 1 sold on the shelf: 1 copy missing.
    preview = await preview_counts(client, (short, 3), (other, 5))
    assert texts(preview, "//table[@id='differences']/tbody/tr") == [f"Short {short} 3 1 3 -1"]
    await close(uows, order_id)

    refused = await write(client, preview)

    assert refused.status_code == 409, refused.text
    # Short's count is dropped and must be taken again: only the other one matches.
    assert "Every count matches" not in refused.text
    assert "Every other count matches the stock figures" in refused.text
    assert texts(refused, "//ul[@id='count-again']/li") == [
        f"Short ({short}): figures changed since you counted: count again"
    ]
    recount = await client.post("/staff/stock/stock-take/recount", data=form(refused, RECOUNT))
    sheet = html.fromstring(recount.text)
    assert sheet.xpath(f"string(//input[@name='count-{short}']/@value)") == ""
    assert sheet.xpath(f"string(//input[@name='count-{other}']/@value)") == "5"
    assert texts(recount, f"//tr[@id='book-{short}']//*[@class='count-again']") == [
        "figures changed since you counted: count again"
    ]
    assert await catalogue.counters(short) == (3, 0)
    assert await stocktakes(stock, short) == []


async def test_when_every_counted_books_figures_moved_the_count_sheet_asks_for_them_again(
    client: Client, books: BookService, uows: UnitOfWorkFactory, catalogue: Any
) -> None:
    posted, uncounted = catalogue.isbn(76), catalogue.isbn(77)
    await shelve(
        books, catalogue, (posted, "Posted", 2), (uncounted, "Uncounted", 1), subjects=["poetry"]
    )
    order_id = await sell(uows, (posted, 1))
    preview = await preview_counts(client, (posted, 3))
    await close(uows, order_id)

    refused = await write(client, preview)

    assert refused.status_code == 409, refused.text
    assert "Posted" in " ".join(texts(refused, "//p[@role='alert']"))
    sheet = html.fromstring(refused.text)
    assert sheet.xpath(f"string(//input[@name='count-{posted}']/@value)") == ""
    assert texts(refused, f"//tr[@id='book-{posted}']//*[@class='count-again']") == [
        "figures changed since you counted: count again"
    ]
    assert texts(refused, f"//tr[@id='book-{uncounted}']//*[@class='count-again']") == []
    assert await catalogue.counters(posted) == (1, 0)
