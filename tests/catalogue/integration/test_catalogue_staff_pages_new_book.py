"""Adding a book by hand and correcting its details on the stock pages (SQLite and Postgres):
written as an import writes a book (its BookChanged in the outbox, its search terms), refused
with each problem beside its field and what was typed kept, once per form, and never over
someone else's change unseen."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import Client, OpenClient, StaffSignIn
from lxml import html

from services.catalogue.models import Book
from services.catalogue.schemas import BookUpdate
from services.catalogue.service import BookService
from shared.auth.roles import Role
from shared.auth.sessions import SESSION_COOKIE

pytestmark = pytest.mark.integration

HTMX = {"hx-request": "true"}
CAPITAL = "9780140449136"
NEW = "9780745334530"  # not in the catalogue until a test adds it
NEW_BOOK = "/staff/stock/new-book"


@pytest.fixture(autouse=True)
async def capital(books: BookService, catalogue: Any) -> None:
    """Capital in the catalogue, with three copies."""
    await books.create(
        book=catalogue.book(CAPITAL, "Capital", authors=("Karl Marx",), stock=3), actor="setup"
    )


def doc(response: Any) -> Any:
    return html.fromstring(response.text)


def said(response: Any, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in doc(response).xpath(xpath)]


def form_of(response: Any, action: str) -> dict[str, str]:
    """The form's fields as the page filled them in, as a browser would send them (which
    drops the line break that opens a textarea: lxml keeps it)."""
    [form] = doc(response).xpath(f"//form[@action='{action}']")
    boxes = set(form.xpath(".//textarea/@name"))
    return {
        name: value.removeprefix("\n") if name in boxes else value
        for name, value in form.form_values()
    }


async def new_book_form(client: Client, isbn: str = "") -> dict[str, str]:
    page = await client.get(NEW_BOOK, params={"isbn": isbn} if isbn else None)
    assert page.status_code == 200
    return form_of(page, NEW_BOOK)


NEW_FIELDS = {
    "isbn": "0-7453-3453-9",
    "title": "The New Imperialism",
    "subtitle": "Crisis and Contradictions",
    "authors": "David Harvey, Ruth Gilmore",
    "publisher": "Pluto Press",
    "year": "2015",
    "format": "Paperback",
    "price": "£14.99",
    "subjects": "Imperialism\nPolitical economy",
    "description": "How capital moves on.",
}


async def add(client: Client, **fields: str) -> Any:
    typed = {**await new_book_form(client), **NEW_FIELDS, **fields}
    return await client.post(NEW_BOOK, data=typed, follow_redirects=False)


def edit_path(isbn13: str) -> str:
    return f"/staff/stock/books/{isbn13}/edit"


async def edit_form(client: Client, isbn13: str = CAPITAL) -> dict[str, str]:
    page = await client.get(f"/staff/stock/books/{isbn13}")
    assert page.status_code == 200
    return form_of(page, edit_path(isbn13))


# Where the form is found ----------------------------------------------------------------------


async def test_the_form_is_linked_from_the_stock_home_and_from_goods_ins_refusal(
    client: Client,
) -> None:
    home = await client.get("/staff/stock")
    assert NEW_BOOK in doc(home).xpath("//a/@href")
    unknown = await client.get("/staff/stock", params={"q": NEW}, headers={"accept": "text/html"})
    assert f"{NEW_BOOK}?isbn={NEW}" in doc(unknown).xpath("//p[@role='alert']//a/@href")

    scanned = await client.post("/staff/stock/goods-in/scan", data={"isbn": NEW}, headers=HTMX)
    assert "Add the book (or import the supplier's file) first" in said(scanned, "//p")[0]
    assert doc(scanned).xpath("//p[@id='add-unknown']/a/@href") == [f"{NEW_BOOK}?isbn={NEW}"]
    # The scans refused stay listed, each such one with the way to add it.
    listed = doc(await client.get("/staff/stock/goods-in"))
    assert listed.xpath("//*[@id='refused-scans']//li//a/@href") == [f"{NEW_BOOK}?isbn={NEW}"]

    prefilled = await new_book_form(client, isbn=NEW)
    assert prefilled["isbn"] == NEW


# Adding a book --------------------------------------------------------------------------------


async def test_a_book_added_is_on_its_stock_page_in_search_and_announced(
    client: Client, catalogue: Any
) -> None:
    # Opening stock is not the form's to set, even if a post names it: goods in books it in.
    added = await add(client, stock="12")

    assert added.status_code == 303
    assert added.headers["location"] == f"/staff/stock/books/{NEW}?done=added"
    page = await client.get(added.headers["location"])
    assert "Book added to the catalogue" in said(page, "//p[@role='status']")[0]
    assert said(page, "//h1") == ["The New ImperialismCrisis and Contradictions"]  # <br> between
    assert doc(page).xpath("string(//dd[@id='on-hand'])") == "0"
    assert "No stock movements yet." in page.text
    # Goods in is offered: one click puts the book on the delivery being booked in.
    offer = form_of(page, "/staff/stock/goods-in/scan")
    offered = await client.post("/staff/stock/goods-in/scan", data=offer, follow_redirects=False)
    assert offered.status_code == 303
    goods_in = doc(await client.get(offered.headers["location"]))
    assert goods_in.xpath(f"string(//input[@name='qty-{NEW}']/@value)") == "1"

    for words in ("new imperial", "harvey"):
        found = await client.get("/staff/stock/search", params={"q": words}, headers=HTMX)
        assert said(found, "//tbody/tr/td[1]/a") == ["The New Imperialism"], words

    [event] = await catalogue.events(NEW)
    assert {name: event[name] for name in NEW_EVENT} == NEW_EVENT
    assert await catalogue.counters(NEW) == (0, 0)


NEW_EVENT = {
    "isbn13": NEW,
    "version": 1,
    "title": "The New Imperialism",
    "subtitle": "Crisis and Contradictions",
    "authors": ["David Harvey", "Ruth Gilmore"],
    "publisher": "Pluto Press",
    "year": 2015,
    "format": "paperback",
    "price_pence": 1499,
    "subjects": ["imperialism", "political-economy"],
    "description": "How capital moves on.",
    "available": 0,
}


async def test_bad_fields_are_refused_beside_each_with_what_was_typed_kept(
    client: Client, catalogue: Any
) -> None:
    books_before = await catalogue.count(Book)
    refused = await add(client, isbn="978-0-7453-3453-1", title=" ", year="MMXV", price="14.999")

    assert refused.status_code == 400
    assert said(refused, "//p[@id='form-problem']") == ["Please correct the fields marked below."]
    assert said(refused, "//p[@id='book-isbn-error']") == [
        "Invalid ISBN: '978-0-7453-3453-1' has a wrong check digit: is a digit mistyped?"
    ]
    assert said(refused, "//p[@id='book-title-error']") == ["Missing title."]
    assert said(refused, "//p[@id='book-year-error']") == [
        "Year must be a whole number, not 'MMXV'."
    ]
    assert said(refused, "//p[@id='book-price-error']") == [
        "'14.999' is not a price: type pounds and pence, like 12.99."
    ]
    isbn_box = doc(refused).xpath("//input[@id='book-isbn']")[0]
    assert isbn_box.get("aria-invalid") == "true"
    assert "book-isbn-error" in isbn_box.get("aria-describedby")
    assert isbn_box.get("autofocus") is not None
    # Every field as typed, to correct.
    kept = form_of(refused, NEW_BOOK)
    assert {name: kept[name] for name in ("isbn", "year", "price", "authors", "subjects")} == {
        "isbn": "978-0-7453-3453-1",
        "year": "MMXV",
        "price": "14.999",
        "authors": NEW_FIELDS["authors"],
        "subjects": NEW_FIELDS["subjects"],
    }
    assert await catalogue.count(Book) == books_before
    assert await catalogue.events(NEW) == []

    corrected = await client.post(
        NEW_BOOK,
        data={**kept, "isbn": NEW, "title": "The New Imperialism", "year": "2015"},
        follow_redirects=False,
    )
    assert corrected.status_code == 400  # the price is still wrong
    assert said(corrected, "//p[@class='message error' and starts-with(@id, 'book-')]") == [
        "'14.999' is not a price: type pounds and pence, like 12.99."
    ]


async def test_an_isbn_in_the_catalogue_already_is_refused_with_the_way_to_its_page(
    client: Client, catalogue: Any
) -> None:
    events_before = await catalogue.events()

    refused = await add(client, isbn="0-14-044913-2", title="Capital, again")

    assert refused.status_code == 409
    [problem] = doc(refused).xpath("//p[@id='form-problem']")
    assert f"The catalogue already has ISBN {CAPITAL}" in problem.text_content()
    assert problem.xpath(".//a/@href") == [f"/staff/stock/books/{CAPITAL}"]
    assert form_of(refused, NEW_BOOK)["title"] == "Capital, again"
    assert await catalogue.events() == events_before
    assert await catalogue.counters(CAPITAL) == (3, 0)


async def test_a_double_clicked_add_adds_one_book(client: Client, catalogue: Any) -> None:
    typed = {**await new_book_form(client), **NEW_FIELDS}

    both = await asyncio.gather(
        *(client.post(NEW_BOOK, data=typed, follow_redirects=False) for _ in range(2))
    )

    assert [r.status_code for r in both] == [303, 303]
    assert {r.headers["location"] for r in both} == {f"/staff/stock/books/{NEW}?done=added"}
    assert len(await catalogue.events(NEW)) == 1


# Correcting a book's details ------------------------------------------------------------------


async def test_details_corrected_are_saved_and_announced(
    client: Client, catalogue: Any, books: BookService
) -> None:
    shown = await edit_form(client)
    assert (shown["title"], shown["authors"].strip(), shown["price"]) == (
        "Capital",
        "Karl Marx",
        "9.99",
    )
    before = await books.get(isbn13=CAPITAL)

    saved = await client.post(
        edit_path(CAPITAL),
        data={
            **shown,
            "title": "Capital: Volume One",
            "authors": "Karl Marx\nBen Fowkes",
            "price": "16.99",
            "subjects": "marxist-theory",
        },
        follow_redirects=False,
    )

    assert saved.status_code == 303
    assert saved.headers["location"] == f"/staff/stock/books/{CAPITAL}?done=edited"
    page = await client.get(saved.headers["location"])
    assert said(page, "//p[@role='status']") == ["Details saved."]
    assert said(page, "//h1") == ["Capital: Volume One"]
    event = (await catalogue.events(CAPITAL))[-1]
    assert (event["title"], event["authors"], event["price_pence"], event["subjects"]) == (
        "Capital: Volume One",
        ["Karl Marx", "Ben Fowkes"],
        1699,
        ["marxist-theory"],
    )
    assert event["version"] == before.version + 1
    assert event["available"] == 3
    # Stock is not the form's: it stands as it was.
    assert await catalogue.counters(CAPITAL) == (3, 0)
    found = await client.get("/staff/stock/search", params={"q": "fowkes"}, headers=HTMX)
    assert said(found, "//tbody/tr/td[1]/a") == ["Capital: Volume One"]


async def test_refused_details_are_shown_beside_their_fields_and_nothing_changes(
    client: Client, catalogue: Any
) -> None:
    events_before = await catalogue.events(CAPITAL)
    shown = await edit_form(client)

    refused = await client.post(
        edit_path(CAPITAL), data={**shown, "title": "", "year": "3000", "publisher": "Verso"}
    )

    assert refused.status_code == 400
    assert doc(refused).xpath("//details[@id='edit-details'][@open]")
    assert said(refused, "//p[@id='book-title-error']") == ["Missing title."]
    assert said(refused, "//p[@id='book-year-error']") == ["Year 3000: expected a number <= 2100."]
    kept = form_of(refused, edit_path(CAPITAL))
    assert (kept["year"], kept["publisher"]) == ("3000", "Verso")
    assert said(refused, "//h1") == ["Capital"]
    assert await catalogue.events(CAPITAL) == events_before


async def test_details_changed_by_someone_else_meanwhile_are_not_overwritten(
    client: Client, catalogue: Any, books: BookService
) -> None:
    shown = await edit_form(client)
    await books.update(isbn13=CAPITAL, changes=BookUpdate(price_pence=1199), actor="pat")

    refused = await client.post(edit_path(CAPITAL), data={**shown, "title": "Das Kapital"})

    assert refused.status_code == 409
    assert "Someone changed this book's details" in said(refused, "//p[@id='edit-problem']")[0]
    book = await books.get(isbn13=CAPITAL)
    assert (book.title, book.price_pence) == ("Capital", 1199)
    # What was typed is kept; saving it again, now seen against the change, is heard.
    again = form_of(refused, edit_path(CAPITAL))
    assert (again["title"], again["price"]) == ("Das Kapital", "9.99")
    resaved = await client.post(edit_path(CAPITAL), data=again, follow_redirects=False)
    assert resaved.status_code == 303
    book = await books.get(isbn13=CAPITAL)
    assert (book.title, book.price_pence) == ("Das Kapital", 999)


async def test_of_two_saves_at_once_from_the_same_page_one_is_refused(
    client: Client, open_client: OpenClient, books: BookService
) -> None:
    shown = await edit_form(client)
    async with open_client(Role.STOCK, username="kim") as kim:
        kims = await edit_form(kim)
        both = await asyncio.gather(
            client.post(
                edit_path(CAPITAL), data={**shown, "title": "Sam's"}, follow_redirects=False
            ),
            kim.post(edit_path(CAPITAL), data={**kims, "title": "Kim's"}, follow_redirects=False),
        )

    assert sorted(r.status_code for r in both) == [303, 409]
    winner = "Sam's" if both[0].status_code == 303 else "Kim's"
    assert (await books.get(isbn13=CAPITAL)).title == winner


async def test_a_sale_while_the_form_is_open_does_not_refuse_it(
    client: Client, catalogue: Any, books: BookService
) -> None:
    shown = await edit_form(client)
    await catalogue.sell(CAPITAL)

    saved = await client.post(
        edit_path(CAPITAL), data={**shown, "title": "Capital I"}, follow_redirects=False
    )

    assert saved.status_code == 303
    assert (await books.get(isbn13=CAPITAL)).title == "Capital I"


async def test_a_double_clicked_save_saves_once(client: Client, catalogue: Any) -> None:
    typed = {**await edit_form(client), "title": "Capital I"}
    events_before = len(await catalogue.events(CAPITAL))

    both = await asyncio.gather(
        *(client.post(edit_path(CAPITAL), data=typed, follow_redirects=False) for _ in range(2))
    )

    assert [r.status_code for r in both] == [303, 303]
    assert {r.headers["location"] for r in both} == {f"/staff/stock/books/{CAPITAL}?done=edited"}
    assert len(await catalogue.events(CAPITAL)) == events_before + 1


# Who may --------------------------------------------------------------------------------------


async def test_only_stock_staff_may_add_or_correct_a_book(
    open_client: OpenClient, staff_session: StaffSignIn, csrf_token_for: Any, catalogue: Any
) -> None:
    typed = {**NEW_FIELDS, "isbn": NEW}
    html_please = {"accept": "text/html"}
    async with open_client() as app_client:
        csrf_token_for(app_client)
        anonymous = await app_client.post(NEW_BOOK, data=typed, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/staff/login?next=")

        await staff_session(app_client, Role.PHONE_ORDERS, username="pat")
        for response in (
            await app_client.get(NEW_BOOK, headers=html_please),
            await app_client.post(NEW_BOOK, data=typed, headers=html_please),
            await app_client.post(edit_path(CAPITAL), data=typed, headers=html_please),
        ):
            assert response.status_code == 403
            assert "stock role" in response.text

        await staff_session(app_client, Role.ADMIN, username="ada")
        assert (await app_client.get(NEW_BOOK)).status_code == 200
    assert await catalogue.events(NEW) == []


async def test_a_form_posted_without_the_csrf_token_is_refused(
    open_client: OpenClient, staff_credentials: Any, catalogue: Any
) -> None:
    sam = await staff_credentials(Role.STOCK, username="sam")
    session_only = {"Cookie": f"{SESSION_COOKIE}={sam.session_id}"}
    typed = {**NEW_FIELDS, "isbn": NEW}
    events_before = await catalogue.events()

    async with open_client() as app_client:
        for path in (NEW_BOOK, edit_path(CAPITAL)):
            response = await app_client.post(path, data=typed, headers=session_only)
            assert response.status_code == 403, path
            assert "CSRF" in response.text

    assert await catalogue.events() == events_before
