"""The stock pages say what they leave out and keep what was typed (SQLite and Postgres): a list
cut short says so, and a refused goods-in list comes back as the clerk typed it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import Client, OpenClient
from lxml import html

from services.catalogue.service import BookService
from services.catalogue.staff_pages import book_pages, reorder_pages, shelves
from shared.auth.roles import Role

HTMX = {"hx-request": "true"}
CAPITAL = "9780140449136"
MANIFESTO = "9798463348616"


@pytest.fixture
async def client(
    open_client: OpenClient, books: BookService, catalogue: Any
) -> AsyncIterator[Client]:
    """Signed in as sam, of the stock staff; two books on the 'marxist-theory' shelf, both
    below their reorder point."""
    for isbn, title in ((CAPITAL, "Capital"), (MANIFESTO, "The Communist Manifesto")):
        await books.create(
            book=catalogue.book(
                isbn,
                title,
                authors=("Karl Marx",),
                stock=1,
                subjects=["marxist-theory"],
                reorder_point=3,
            ),
            actor="setup",
        )
    async with open_client(Role.STOCK) as test_client:
        yield test_client


def cut_notice(response: Any) -> str | None:
    assert response.status_code == 200, response.text[:300]
    notes = html.fromstring(response.text).xpath("//*[@id='cut']")
    return " ".join(notes[0].text_content().split()) if notes else None


def rows(response: Any) -> int:
    return len(html.fromstring(response.text).xpath("//tbody/tr"))


# Lists cut short ------------------------------------------------------------------------------


async def test_lists_shown_in_full_say_nothing_more(client: Client) -> None:
    for path, params in (
        ("/staff/stock", {"q": "marx"}),
        ("/staff/stock/search", {"q": "marx"}),
        ("/staff/stock/low-stock", {}),
        ("/staff/stock/stock-take", {"subject": "marxist-theory"}),
    ):
        response = await client.get(path, params=params)
        assert cut_notice(response) is None, path
        assert rows(response) == 2, path


async def test_search_results_cut_short_say_so(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(book_pages, "SEARCH_RESULTS", 1)

    page = await client.get("/staff/stock", params={"q": "marx"})
    typing = await client.get("/staff/stock/search", params={"q": "marx"}, headers=HTMX)

    for response in (page, typing):
        assert rows(response) == 1
        assert cut_notice(response) == (
            "Showing the first 1 matches; there are more: narrow your search to find the rest."
        )


async def test_the_low_stock_page_cut_short_says_so(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reorder_pages, "LOW_STOCK_SHOWN", 1)

    response = await client.get("/staff/stock/low-stock")

    assert rows(response) == 1
    assert cut_notice(response) == (
        "Showing the first 1 books, fewest available first; there are more: the CSV download "
        "lists them all."
    )
    assert (await client.get("/staff/stock/low-stock.csv")).text.count("\r\n") == 3


async def test_a_shelf_too_long_for_one_count_sheet_says_how_long_it_is(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shelves, "MAX_SHELF_BOOKS", 1)

    response = await client.get("/staff/stock/stock-take", params={"subject": "marxist-theory"})

    assert rows(response) == 1
    assert cut_notice(response) == (
        "Showing the first 1 of 2 books on this shelf, by title: the rest are not on this sheet."
    )


# Goods in: a refused list comes back as typed -------------------------------------------------


async def pending_list(client: Client) -> tuple[str, dict[str, str]]:
    """The goods-in page's token and its quantity fields, by ISBN."""
    for isbn in (CAPITAL, MANIFESTO):
        scanned = await client.post("/staff/stock/goods-in/scan", data={"isbn": isbn})
        assert scanned.status_code in (200, 303), scanned.text[:300]
    doc = html.fromstring((await client.get("/staff/stock/goods-in")).text)
    [token] = doc.xpath("//input[@name='token']/@value")
    return token, typed_fields(doc)


def typed_fields(doc: Any) -> dict[str, str]:
    fields = {
        f.get("name"): f.get("value") for f in doc.xpath("//form[@id='delivery-form']//input")
    }
    return {name: value for name, value in fields.items() if name.startswith(("qty-", "reference"))}


@pytest.mark.parametrize("action", ["save", "confirm"])
async def test_a_refused_goods_in_list_comes_back_as_typed_with_the_message(
    client: Client, catalogue: Any, action: str
) -> None:
    token, saved = await pending_list(client)
    assert saved == {f"qty-{CAPITAL}": "1", f"qty-{MANIFESTO}": "1", "reference": ""}
    typed = {f"qty-{CAPITAL}": "12", f"qty-{MANIFESTO}": "2.5", "reference": "Central Books"}

    refused = await client.post(f"/staff/stock/goods-in/{action}", data={"token": token, **typed})

    assert refused.status_code == 400
    doc = html.fromstring(refused.text)
    assert "must be a whole number" in " ".join(doc.xpath("//p[@role='alert']//text()"))
    assert typed_fields(doc) == typed
    # Nothing was saved or written: the list kept is the one before.
    kept = html.fromstring((await client.get("/staff/stock/goods-in")).text)
    assert typed_fields(kept) == saved
    assert await catalogue.counters(CAPITAL) == (1, 0)
