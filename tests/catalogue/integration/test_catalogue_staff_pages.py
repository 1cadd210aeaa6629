"""The stock clerk's pages over HTTP (signed in with a real Redis session; SQLite and Postgres):
finding a book, its ledger and adjustments, goods in, stock take, the reorder list, imports.
Bad input is refused with a message and writes nothing."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Any, NamedTuple
from uuid import UUID

import pytest
from conftest import Client, OpenClient, StaffSignIn
from lxml import html
from sqlalchemy import select

from services.catalogue import models
from services.catalogue.models import LedgerEntry
from services.catalogue.service import BookService, StockService
from shared.auth.roles import Role

HTMX = {"hx-request": "true"}
CAPITAL = "9780140449136"
MANIFESTO = "9798463348616"


@pytest.fixture
async def shelf(books: BookService, catalogue: Any) -> dict[str, str]:
    """Three books: two on the 'marxist-theory' shelf, one of them low on stock."""
    made = {
        "capital": (CAPITAL, "Capital", ("Karl Marx",), 5, ["marxist-theory"], 2),
        "manifesto": (
            MANIFESTO,
            "The Communist Manifesto",
            ("Karl Marx",),
            1,
            ["marxist-theory", "history-general"],
            3,
        ),
        "roses": (
            catalogue.isbn(7),
            "Bread and Roses",
            ("Mari Jo Buhle",),
            4,
            ["labour-history"],
            1,
        ),
    }
    for isbn, title, authors, stock, subjects, reorder in made.values():
        await books.create(
            book=catalogue.book(
                isbn, title, authors=authors, stock=stock, subjects=subjects, reorder_point=reorder
            ),
            actor="setup",
        )
    return {name: values[0] for name, values in made.items()}


@pytest.fixture
async def app_client(open_client: OpenClient, shelf: dict[str, str]) -> AsyncIterator[Client]:
    async with open_client() as test_client:
        yield test_client


@pytest.fixture
async def client(app_client: Client, staff_session: StaffSignIn) -> Client:
    """Signed in as sam, of the stock staff."""
    await staff_session(app_client, Role.STOCK, username="sam")
    return app_client


def page(response: Any) -> Any:
    return html.fromstring(response.text)


def texts(response: Any, xpath: str) -> list[str]:
    """Each node's text, its pieces (cells, links) separated by one space."""
    return [" ".join(" ".join(node.itertext()).split()) for node in page(response).xpath(xpath)]


class Entry(NamedTuple):
    id: int
    batch_id: UUID
    isbn13: str
    kind: str
    on_hand_change: int
    actor: str
    reason: str | None
    reference: str | None


async def ledger(catalogue: Any, isbn13: str | None = None) -> list[Entry]:
    async with catalogue.db.reading() as session:
        query = select(*(getattr(LedgerEntry, name) for name in Entry._fields)).order_by(
            LedgerEntry.id
        )
        if isbn13 is not None:
            query = query.where(LedgerEntry.isbn13 == isbn13)
        return [Entry(*row) for row in await session.execute(query)]


# Who may use the pages ------------------------------------------------------------------------


async def test_the_pages_are_for_the_stock_role_and_admin(
    app_client: Client, staff_session: StaffSignIn
) -> None:
    anonymous = await app_client.get("/staff/stock/goods-in", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/staff/login?next=%2Fstaff%2Fstock%2Fgoods-in"

    await staff_session(app_client, Role.PHONE_ORDERS, username="pat")
    refused = await app_client.get("/staff/stock/low-stock", headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert "stock role" in refused.text

    await staff_session(app_client, Role.ADMIN, username="ada")
    for path in (
        "/staff/stock",
        "/staff/stock/goods-in",
        "/staff/stock/stock-take",
        "/staff/stock/low-stock",
        "/staff/stock/import",
        f"/staff/stock/books/{CAPITAL}",
    ):
        response = await app_client.get(path)
        assert response.status_code == 200, path
        assert "Ada" in response.text  # the shared layout shows who is signed in


async def test_the_shared_layout_and_its_assets_are_served(client: Client) -> None:
    response = await client.get("/staff/stock")
    doc = page(response)
    assert doc.xpath("//link[@rel='stylesheet']/@href") == ["/static/catalogue/staff.css"]
    assert doc.xpath("//a[@aria-current='page']/text()") == ["Find a book"]
    for asset in ("/static/catalogue/staff.css", "/static/catalogue/htmx.min.js"):
        assert (await client.get(asset)).status_code == 200, asset


# Finding a book -------------------------------------------------------------------------------


async def test_search_as_you_type_answers_a_fragment_of_matching_books(client: Client) -> None:
    response = await client.get("/staff/stock/search", params={"q": "commun"}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert texts(response, "//tbody/tr/td[1]/a") == ["The Communist Manifesto"]
    links = page(response).xpath("//tbody/tr/td[1]/a/@href")
    assert links == [f"/staff/stock/books/{MANIFESTO}"]

    box = page(await client.get("/staff/stock")).xpath("//input[@id='q']")[0]
    assert box.get("hx-get") == "/staff/stock/search"
    assert box.get("hx-trigger") == "input changed delay:150ms, search"


async def test_enter_on_an_isbn_opens_the_books_page(client: Client) -> None:
    response = await client.get(
        "/staff/stock", params={"q": "978-0-14-044913-6"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/stock/books/{CAPITAL}"

    unknown = await client.get("/staff/stock", params={"q": "9780000000002"})
    assert unknown.status_code == 404
    assert "No book with ISBN 9780000000002" in unknown.text

    words = await client.get("/staff/stock", params={"q": "marx"})
    assert sorted(texts(words, "//tbody/tr/td[1]/a")) == ["Capital", "The Communist Manifesto"]


@pytest.mark.parametrize("q", ["9781999000012", "978-0-14-044913-7"])
async def test_an_isbn_with_a_wrong_check_digit_says_so(client: Client, q: str) -> None:
    entered = await client.get("/staff/stock", params={"q": q})
    assert entered.status_code == 400
    assert texts(entered, "//p[@role='alert']") == [
        f"'{q}' has a wrong check digit: is a digit mistyped?"
    ]

    typed = await client.get("/staff/stock/search", params={"q": q}, headers=HTMX)
    assert typed.status_code == 200
    assert texts(typed, "//p[@role='alert']") == texts(entered, "//p[@role='alert']")
    assert "Nothing found" not in typed.text

    # Digits that are no attempt at an ISBN are searched as words.
    short = await client.get("/staff/stock/search", params={"q": "1917"}, headers=HTMX)
    assert "Nothing found for “1917”" in short.text


# A book's page --------------------------------------------------------------------------------


async def test_the_book_page_shows_the_figures_and_the_ledger_newest_first(
    client: Client, stock: Any
) -> None:
    adjusted = await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust",
        data={"change": "-1", "reason": "damaged in the window"},
        follow_redirects=False,
    )
    assert adjusted.status_code == 303
    response = await client.get(adjusted.headers["location"])
    assert "Stock adjusted" in response.text
    doc = page(response)
    assert doc.xpath("string(//dd[@id='on-hand'])") == "4"
    assert doc.xpath("string(//dd[@id='available'])") == "4"
    assert doc.xpath("string(//dd[@id='reorder-point'])") == "2"
    rows = texts(response, "//table[@id='ledger']/tbody/tr")
    assert len(rows) == 2
    assert rows[0].endswith("adjusted -1 4 0 sam damaged in the window")
    assert rows[1].endswith("received +5 5 0 setup opening stock")


async def test_adjusting_without_a_reason_is_refused_and_writes_nothing(
    client: Client, catalogue: Any
) -> None:
    before = await ledger(catalogue)
    response = await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust", data={"change": "3", "reason": " "}
    )
    assert response.status_code == 400
    assert "the reason is required" in texts(response, "//p[@id='adjust-error']")[0]
    # What was typed is kept for the correction.
    assert page(response).xpath("string(//input[@id='change']/@value)") == "3"

    not_a_number = await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust", data={"change": "two", "reason": "found"}
    )
    assert not_a_number.status_code == 400
    assert "whole number" in not_a_number.text

    too_many = await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust", data={"change": "-6", "reason": "lost"}
    )
    assert too_many.status_code == 409
    assert "at most 5 can go" in too_many.text
    assert await ledger(catalogue) == before
    assert await catalogue.counters(CAPITAL) == (5, 0)


async def test_a_double_clicked_adjustment_is_written_once(client: Client, catalogue: Any) -> None:
    book_page = page(await client.get(f"/staff/stock/books/{CAPITAL}"))
    [form] = book_page.xpath(f"//form[@action='/staff/stock/books/{CAPITAL}/adjust']")
    typed = {**dict(form.form_values()), "change": "-1", "reason": "damaged"}
    before = await ledger(catalogue, CAPITAL)

    both = await asyncio.gather(
        *(
            client.post(f"/staff/stock/books/{CAPITAL}/adjust", data=typed, follow_redirects=False)
            for _ in range(2)
        )
    )

    # The browser shows the second answer: the book's page, with the one change made.
    assert [r.status_code for r in both] == [303, 303]
    assert {r.headers["location"] for r in both} == {f"/staff/stock/books/{CAPITAL}?done=adjusted"}
    assert await catalogue.counters(CAPITAL) == (4, 0)
    assert len(await ledger(catalogue, CAPITAL)) == len(before) + 1
    # A later resubmission of the same form (the back button) writes nothing either.
    again = await client.post(f"/staff/stock/books/{CAPITAL}/adjust", data=typed)
    assert again.status_code == 200
    assert await catalogue.counters(CAPITAL) == (4, 0)


async def test_a_refused_adjustment_leaves_its_form_usable_once_corrected(
    client: Client, catalogue: Any
) -> None:
    book_page = page(await client.get(f"/staff/stock/books/{CAPITAL}"))
    token = book_page.xpath("string(//input[@name='submission']/@value)")
    assert token

    refused = await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust",
        data={"change": "-1", "reason": "", "submission": token},
    )
    assert refused.status_code == 400
    corrected = await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust",
        data={"change": "-1", "reason": "damaged", "submission": token},
        follow_redirects=False,
    )

    assert corrected.status_code == 303
    assert await catalogue.counters(CAPITAL) == (4, 0)


async def test_the_reorder_point_form_changes_the_reorder_point_and_never_the_price(
    client: Client, books: BookService
) -> None:
    before = await books.get(isbn13=CAPITAL)
    book_page = page(await client.get(f"/staff/stock/books/{CAPITAL}"))
    [action] = book_page.xpath("//form[.//input[@name='reorder_point']]/@action")
    # the form is named for what it sets: the book's details are under Edit details
    assert action == f"/staff/stock/books/{CAPITAL}/reorder-point"

    saved = await client.post(
        action, data={"price": "£12.50", "reorder_point": "4"}, follow_redirects=False
    )
    assert saved.status_code == 303
    book = await books.get(isbn13=CAPITAL)
    assert (book.price_pence, book.reorder_point) == (before.price_pence, 4)

    bad = await client.post(action, data={"reorder_point": "-1"})
    assert bad.status_code == 400
    assert page(bad).xpath("string(//*[@id='reorder-point-error'])")
    assert (await books.get(isbn13=CAPITAL)).reorder_point == 4

    old = await client.post(
        f"/staff/stock/books/{CAPITAL}/details",
        data={"reorder_point": "9"},
        headers={"accept": "text/html"},
    )
    assert old.status_code == 404
    assert (await books.get(isbn13=CAPITAL)).reorder_point == 4


async def test_the_book_page_has_one_price_box_the_edit_details_one(client: Client) -> None:
    book_page = page(await client.get(f"/staff/stock/books/{CAPITAL}"))

    assert len(book_page.xpath("//input[@name='price']")) == 1
    assert book_page.xpath("//details[@id='edit-details']//input[@name='price']")


async def test_a_book_page_by_isbn_10_redirects_and_an_unknown_book_is_404(client: Client) -> None:
    response = await client.get("/staff/stock/books/0140449132", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/stock/books/{CAPITAL}"
    missing = await client.get("/staff/stock/books/9780000000002", headers={"accept": "text/html"})
    assert missing.status_code == 404


@pytest.mark.parametrize("before", [str(2**63), "0"])
async def test_a_ledger_page_beyond_any_entry_is_refused_not_an_error(
    client: Client, before: str
) -> None:
    response = await client.get(
        f"/staff/stock/books/{CAPITAL}", params={"before": before}, headers={"accept": "text/html"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")


async def test_the_ledger_pages_back_by_entry(client: Client, catalogue: Any) -> None:
    await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust", data={"change": "1", "reason": "found one"}
    )
    _, adjusted = await ledger(catalogue, CAPITAL)

    older = await client.get(f"/staff/stock/books/{CAPITAL}", params={"before": str(adjusted.id)})

    assert older.status_code == 200
    rows = texts(older, "//table[@id='ledger']/tbody/tr")
    assert len(rows) == 1 and rows[0].endswith("received +5 5 0 setup opening stock")


# Goods in -------------------------------------------------------------------------------------


async def scan(client: Client, isbn: str) -> Any:
    response = await client.post("/staff/stock/goods-in/scan", data={"isbn": isbn}, headers=HTMX)
    assert response.status_code == 200
    return response


def pending(response: Any) -> dict[str, str]:
    doc = page(response)
    return {
        field.get("name")[4:]: field.get("value")
        for field in doc.xpath("//input[starts-with(@name, 'qty-')]")
    }


async def test_goods_in_scans_add_up_and_one_confirm_writes_one_delivery(
    client: Client, catalogue: Any
) -> None:
    await scan(client, CAPITAL)
    await scan(client, "978-0-14-044913-6")  # the same book typed with hyphens
    last = await scan(client, MANIFESTO)
    assert pending(last) == {CAPITAL: "2", MANIFESTO: "1"}
    assert "Added The Communist Manifesto: 1 on this delivery" in last.text

    # The list survives a reload of the page.
    reloaded = await client.get("/staff/stock/goods-in")
    assert pending(reloaded) == {CAPITAL: "2", MANIFESTO: "1"}
    [token] = page(reloaded).xpath("//input[@name='token']/@value")

    # Quantities are editable; the confirm sends them with the supplier's note.
    before = len(await ledger(catalogue))
    confirm = {
        "token": token,
        f"qty-{CAPITAL}": "3",
        f"qty-{MANIFESTO}": "1",
        "reference": "Central Books invoice 4821",
    }
    done = await client.post("/staff/stock/goods-in/confirm", data=confirm, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/staff/stock/goods-in?written={token}"

    entries = (await ledger(catalogue))[before:]
    assert [(e.isbn13, e.kind, e.on_hand_change) for e in entries] == [
        (CAPITAL, "received", 3),
        (MANIFESTO, "received", 1),
    ]
    assert len({e.batch_id for e in entries}) == 1
    assert {(e.actor, e.reference) for e in entries} == {("sam", "Central Books invoice 4821")}
    assert await catalogue.counters(CAPITAL) == (8, 0)

    result = await client.get(done.headers["location"])
    assert "Delivery written: 4 copies of 2 books" in result.text
    assert texts(result, "//section[@id='written']//tbody/tr") == [
        f"Capital {CAPITAL} 3 8",
        f"The Communist Manifesto {MANIFESTO} 1 2",
    ]
    assert pending(result) == {}  # a fresh list for the next delivery

    # A double submit (or the browser re-posting) writes nothing more and shows the same result.
    again = await client.post("/staff/stock/goods-in/confirm", data=confirm, follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == done.headers["location"]
    assert len(await ledger(catalogue)) == before + 2
    assert await catalogue.counters(CAPITAL) == (8, 0)


async def test_two_confirms_at_once_write_one_delivery(client: Client, catalogue: Any) -> None:
    await scan(client, CAPITAL)
    [token] = page(await client.get("/staff/stock/goods-in")).xpath("//input[@name='token']/@value")
    form = {"token": token, f"qty-{CAPITAL}": "2", "reference": ""}
    first, second = await asyncio.gather(
        client.post("/staff/stock/goods-in/confirm", data=form, follow_redirects=False),
        client.post("/staff/stock/goods-in/confirm", data=form, follow_redirects=False),
    )
    assert first.status_code == second.status_code == 303
    received = [e for e in await ledger(catalogue, CAPITAL) if e.kind == "received"]
    assert [e.on_hand_change for e in received] == [5, 2]


async def test_goods_in_refuses_an_unknown_or_invalid_isbn_inline_and_adds_nothing(
    client: Client,
) -> None:
    await scan(client, CAPITAL)
    unknown = await scan(client, "9780000000002")
    assert texts(unknown, "//p[@role='alert']") == [
        "Not added: no book with ISBN 9780000000002 in the catalogue. Add the book (or import "
        "the supplier's file) first, then scan it again."
    ]
    assert pending(unknown) == {CAPITAL: "1"}

    mistyped = await scan(client, "9780140449137")
    assert "wrong check digit" in texts(mistyped, "//p[@role='alert']")[0]
    not_a_book = await scan(client, "5012345678900")
    assert "not a book" in texts(not_a_book, "//p[@role='alert']")[0]
    assert pending(not_a_book) == {CAPITAL: "1"}

    # Without htmx the whole page comes back with the message.
    plain = await client.post("/staff/stock/goods-in/scan", data={"isbn": "12345"})
    assert plain.status_code == 400
    assert "is not an ISBN" in plain.text
    assert page(plain).xpath("//input[@id='scan']/@autofocus")


async def test_goods_in_quantity_zero_removes_a_line_and_an_empty_list_cannot_be_confirmed(
    client: Client, catalogue: Any
) -> None:
    await scan(client, CAPITAL)
    await scan(client, MANIFESTO)
    saved = await client.post(
        "/staff/stock/goods-in/save",
        data={f"qty-{CAPITAL}": "0", f"qty-{MANIFESTO}": "4", "reference": "note"},
        headers=HTMX,
    )
    assert pending(saved) == {MANIFESTO: "4"}
    bad = await client.post(
        "/staff/stock/goods-in/save", data={f"qty-{MANIFESTO}": "-2"}, headers=HTMX
    )
    assert "from 0 to 10000" in bad.text
    assert pending(bad) == {MANIFESTO: "-2"}  # as typed, to correct
    assert pending(await client.get("/staff/stock/goods-in")) == {MANIFESTO: "4"}

    removed = await client.post(f"/staff/stock/goods-in/remove/{MANIFESTO}", headers=HTMX)
    assert pending(removed) == {}
    before = await ledger(catalogue)
    empty = await client.post("/staff/stock/goods-in/confirm", data={"token": "whatever"})
    assert empty.status_code == 400
    assert "The delivery is empty" in empty.text
    assert await ledger(catalogue) == before


async def test_each_clerk_has_their_own_delivery_list(
    client: Client, app_client: Client, staff_session: StaffSignIn
) -> None:
    await scan(client, CAPITAL)
    await staff_session(app_client, Role.STOCK, username="kim")
    assert pending(await app_client.get("/staff/stock/goods-in")) == {}


# Stock take -----------------------------------------------------------------------------------


async def test_stock_take_previews_the_differences_then_writes_them(
    client: Client, catalogue: Any
) -> None:
    shelves = await client.get("/staff/stock/stock-take")
    assert "marxist theory (2)" in texts(shelves, "//select[@id='subject']/option")

    counting = await client.get("/staff/stock/stock-take", params={"subject": "marxist-theory"})
    assert sorted(page(counting).xpath("//input[starts-with(@name, 'count-')]/@name")) == [
        f"count-{CAPITAL}",
        f"count-{MANIFESTO}",
    ]

    before = await ledger(catalogue)
    counts = {"subject": "marxist-theory", f"count-{CAPITAL}": "3", f"count-{MANIFESTO}": "1"}
    preview = await client.post("/staff/stock/stock-take/preview", data=counts)
    assert preview.status_code == 200
    assert texts(preview, "//table[@id='differences']/tbody/tr") == [f"Capital {CAPITAL} 5 3 -2"]
    assert "nothing has been written yet" in preview.text
    assert await ledger(catalogue) == before
    assert await catalogue.counters(CAPITAL) == (5, 0)

    [write] = page(preview).xpath("//form[@action='/staff/stock/stock-take/write']")
    written = await client.post("/staff/stock/stock-take/write", data=dict(write.form_values()))
    assert written.status_code == 200
    assert "Corrections written: 1 book changed" in written.text
    assert await catalogue.counters(CAPITAL) == (3, 0)
    [entry] = (await ledger(catalogue))[len(before) :]
    assert (entry.kind, entry.on_hand_change, entry.actor, entry.reason) == (
        "stocktake",
        -2,
        "sam",
        "stock take: marxist-theory",
    )


async def test_stock_take_refuses_to_write_when_the_stock_moved_since_the_preview(
    client: Client, catalogue: Any
) -> None:
    counts = {"subject": "marxist-theory", f"count-{CAPITAL}": "3"}
    preview = await client.post("/staff/stock/stock-take/preview", data=counts)
    [write] = page(preview).xpath("//form[@action='/staff/stock/stock-take/write']")
    await client.post(
        f"/staff/stock/books/{CAPITAL}/adjust", data={"change": "1", "reason": "found one"}
    )
    before = await ledger(catalogue)
    refused = await client.post("/staff/stock/stock-take/write", data=dict(write.form_values()))
    assert refused.status_code == 409
    assert "The stock of Capital moved since you counted" in refused.text
    # Back to the count sheet: the count of 3 may have missed the copy found, so it is asked
    # for again rather than written against the new figure.
    assert page(refused).xpath(f"string(//input[@name='count-{CAPITAL}']/@value)") == ""
    assert await ledger(catalogue) == before


async def test_stock_take_refuses_a_sale_that_lands_while_the_corrections_are_written(
    client: Client, catalogue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Capital's count matches its 5; the Manifesto's 1 is counted as 0.
    counts = {"subject": "marxist-theory", f"count-{CAPITAL}": "5", f"count-{MANIFESTO}": "0"}
    preview = await client.post("/staff/stock/stock-take/preview", data=counts)
    [write] = page(preview).xpath("//form[@action='/staff/stock/stock-take/write']")
    real_stock_take = StockService.stock_take

    async def sale_lands_first(self: StockService, **given: Any) -> Any:
        # A reader buys a Capital after the page has read the form, just before the write.
        if given["apply"]:
            monkeypatch.setattr(StockService, "stock_take", real_stock_take)
            await catalogue.sell(CAPITAL)
        return await real_stock_take(self, **given)

    monkeypatch.setattr(StockService, "stock_take", sale_lands_first)
    refused = await client.post("/staff/stock/stock-take/write", data=dict(write.form_values()))

    assert refused.status_code == 409, refused.text
    assert "The stock of Capital moved since you counted" in refused.text
    # Capital's count, taken before the sale, is asked for again; the Manifesto's still holds.
    assert texts(refused, "//ul[@id='count-again']/li") == [
        f"Capital ({CAPITAL}): figures changed since you counted: count again"
    ]
    assert texts(refused, "//table[@id='differences']/tbody/tr") == [
        f"The Communist Manifesto {MANIFESTO} 1 0 -1",
    ]
    assert f"count-{CAPITAL}" not in dict(
        page(refused).xpath("//form[@action='/staff/stock/stock-take/write']")[0].form_values()
    )
    assert await catalogue.counters(CAPITAL) == (4, 0)
    assert await catalogue.counters(MANIFESTO) == (1, 0)
    assert [entry.kind for entry in await ledger(catalogue, CAPITAL)][-1] == "sold"
    assert "stocktake" not in {entry.kind for entry in await ledger(catalogue)}


async def test_stock_take_without_counts_or_with_a_bad_count_is_refused(client: Client) -> None:
    blank = await client.post(
        "/staff/stock/stock-take/preview",
        data={"subject": "marxist-theory", f"count-{CAPITAL}": ""},
    )
    assert blank.status_code == 400
    assert "at least one book" in blank.text
    negative = await client.post(
        "/staff/stock/stock-take/preview",
        data={"subject": "marxist-theory", f"count-{CAPITAL}": "-1"},
    )
    assert negative.status_code == 400
    # The book named as the clerk finds it on the shelf.
    assert f"The count for Capital ({CAPITAL}) must be from 0" in negative.text
    # The counts typed are kept.
    assert page(negative).xpath(f"string(//input[@name='count-{CAPITAL}']/@value)") == "-1"


# Low stock ------------------------------------------------------------------------------------


async def test_low_stock_lists_books_below_their_reorder_point_with_a_csv(
    client: Client, books: BookService, catalogue: Any
) -> None:
    await books.create(
        book=catalogue.book(catalogue.isbn(8), '=HYPERLINK("x")', reorder_point=2), actor="setup"
    )
    response = await client.get("/staff/stock/low-stock")
    rows = texts(response, "//table[@id='low-stock']/tbody/tr")
    assert rows == [
        f'=HYPERLINK("x") {catalogue.isbn(8)} 0 0 0 2 4',
        f"The Communist Manifesto Karl Marx {MANIFESTO} 1 0 1 3 5",
    ]
    download = await client.get("/staff/stock/low-stock.csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    # a byte-order mark, so that Excel on Windows reads it as UTF-8, not ANSI
    assert download.content.startswith(codecs.BOM_UTF8)
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert table[0] == [
        "isbn13",
        "title",
        "authors",
        "on_hand",
        "reserved",
        "available",
        "reorder_point",
        "suggested_order",
    ]
    assert table[1] == [catalogue.isbn(8), '\'=HYPERLINK("x")', "", "0", "0", "0", "2", "4"]
    assert table[2] == [MANIFESTO, "The Communist Manifesto", "Karl Marx", "1", "0", "1", "3", "5"]


# Import ---------------------------------------------------------------------------------------


async def finished_import(client: Client, location: str) -> Any:
    """Poll the progress fragment as the page does, until it stops polling."""
    for _ in range(200):
        fragment = await client.get(f"{location}/progress", headers=HTMX)
        assert fragment.status_code == 200
        if "hx-trigger" not in fragment.text:
            return fragment
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def upload(client: Client, name: str, content: bytes, format: str = "") -> Any:
    return await client.post(
        "/staff/stock/import",
        files={"file": (name, content, "application/octet-stream")},
        data={"format": format},
        follow_redirects=False,
    )


async def test_an_import_runs_in_the_background_and_reports_what_it_did(
    client: Client, books: BookService, catalogue: Any
) -> None:
    new = catalogue.isbn(21)
    content = (
        "isbn13,title,authors,price_pence,subjects,stock\n"
        f"{new},Women Race and Class,Angela Davis,1099,,2\n"
        f"{CAPITAL},Capital,Karl Marx,999,marxist-theory,0\n"
        f"{MANIFESTO},The Communist Manifesto: new edition,Karl Marx,999,,0\n"
        "not-an-isbn,Broken,Someone,100,,0\n"
        f"{catalogue.isbn(22)},,Nobody,100,,0\n"
    ).encode()
    started = await upload(client, "supplier.csv", content)
    assert started.status_code == 303
    location = started.headers["location"]
    assert re.fullmatch(r"/staff/stock/import/[\w-]+", location)

    job_page = await client.get(location)
    assert "Import of supplier.csv" in job_page.text
    assert page(job_page).xpath("//section[@id='import-progress']")

    report = await finished_import(client, location)
    assert texts(report, "//p[@id='import-result']") == [
        "Import finished: 5 records: 1 created, 1 updated, 1 unchanged, 2 skipped."
    ]
    skipped = texts(report, "//table[@id='skipped']/tbody/tr")
    assert skipped[0].startswith("line 5 invalid ISBN: 'not-an-isbn'")
    assert skipped[1] == "line 6 missing title"
    assert (await books.get(isbn13=new)).on_hand == 2
    assert (await books.get(isbn13=MANIFESTO)).title == "The Communist Manifesto: new edition"


async def test_a_malformed_file_is_refused_with_a_message_and_nothing_is_written(
    client: Client, catalogue: Any
) -> None:
    before = (await catalogue.count(models.Book.__table__), len(await ledger(catalogue)))
    started = await upload(
        client, "feed.xml", b'<ONIXMessage release="3.0"><Product><RecordReference>1</Product>'
    )
    assert started.status_code == 303
    report = await finished_import(client, started.headers["location"])
    [message] = texts(report, "//p[@id='import-result']")
    assert message.startswith(
        "The file was refused, and nothing was written: this is not well-formed XML"
    )
    assert (await catalogue.count(models.Book.__table__), len(await ledger(catalogue))) == before


async def test_an_upload_that_cannot_be_imported_is_refused_on_the_form(client: Client) -> None:
    empty = await upload(client, "empty.csv", b"")
    assert empty.status_code == 400
    assert texts(empty, "//p[@role='alert']") == [
        "Nothing was imported: the file is empty: choose the supplier's file again."
    ]
    unknown = await upload(client, "books.xlsx", b"PK\x03\x04")
    assert unknown.status_code == 400
    assert "cannot tell the format of 'books.xlsx'" in texts(unknown, "//p[@role='alert']")[0]
    chosen = await upload(client, "books.txt", b"isbn13,title,price_pence\n", format="csv")
    assert chosen.status_code == 303  # the chosen format wins over the name


async def test_the_import_page_says_which_columns_a_csv_needs(client: Client) -> None:
    # A supplier's file headed ISBN,Title,Price,Qty was refused, and only the refusal said why.
    guide = texts(
        await client.get("/staff/stock/import"), "//section[@aria-labelledby='columns-heading']//dt"
    )
    assert guide[0] == "isbn13 , title , price_pence"
    assert "stock" in guide


async def test_an_unknown_import_is_404(client: Client) -> None:
    response = await client.get("/staff/stock/import/nothing-here", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "no such import" in response.text
