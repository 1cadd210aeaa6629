"""The catalogue over HTTP, against a real database: the staff JSON API refuses bad input with a
clear 4xx and changes nothing; the public pages; health and the OpenAPI schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import OpenClient, StaffSignIn
from litestar.testing import AsyncTestClient
from lxml import html

from services.catalogue import models
from shared.auth.roles import Role
from shared.auth.sessions import SESSION_COOKIE

HTML = {"accept": "text/html"}
ISBN = "9798463348616"
BOOK = {
    "isbn13": ISBN,
    "title": "Imperialism and Global Political Economy",
    "authors": ["Alex Callinicos"],
    "publisher": "Polity",
    "price_pence": 1999,
    "description": "Two logics of imperialism.",
    "stock": 2,
}


@pytest.fixture
async def client(open_client: OpenClient) -> AsyncIterator[AsyncTestClient[Any]]:
    """Signed in as sam, of the stock staff; BOOK added."""
    async with open_client(Role.STOCK) as test_client:
        response = await test_client.post("/api/catalogue/books", json=BOOK)
        assert response.status_code == 201, response.text
        yield test_client


async def state(catalogue) -> tuple[int, int, int]:
    return (
        await catalogue.count(models.Book.__table__),
        await catalogue.count(models.LedgerEntry.__table__),
        await catalogue.count(models.outbox),
    )


BAD_REQUESTS = [
    pytest.param(
        "/api/catalogue/books", {**BOOK, "isbn13": "9798463348617"}, 400, "check digit", id="isbn"
    ),
    pytest.param(
        "/api/catalogue/books", {**BOOK, "isbn13": "1234"}, 400, "isbn13", id="short-isbn"
    ),
    pytest.param(
        "/api/catalogue/books",
        {**BOOK, "isbn13": "9780140449136", "price_pence": 12.5},
        400,
        "price_pence",
        id="price-fraction",
    ),
    pytest.param(
        "/api/catalogue/books",
        {**BOOK, "isbn13": "9780140449136", "price_pence": "12.99"},
        400,
        "price_pence",
        id="price-string",
    ),
    pytest.param(
        "/api/catalogue/stock/deliveries",
        {"lines": [{"isbn13": ISBN, "quantity": 0}]},
        400,
        "quantity",
        id="zero-quantity",
    ),
    pytest.param(
        "/api/catalogue/stock/deliveries",
        {"lines": [{"isbn13": ISBN, "quantity": -3}]},
        400,
        "quantity",
        id="negative-quantity",
    ),
    pytest.param(
        "/api/catalogue/stock/deliveries",
        {"lines": [{"isbn13": ISBN, "quantity": 1}, {"isbn13": "9780140449136", "quantity": 1}]},
        404,
        "9780140449136",
        id="unknown-book",
    ),
    pytest.param(
        "/api/catalogue/stock/adjustments",
        {"isbn13": ISBN, "change": -1},
        400,
        "reason",
        id="no-reason",
    ),
    pytest.param(
        "/api/catalogue/stock/adjustments",
        {"isbn13": ISBN, "change": -5, "reason": "lost in the flood"},
        409,
        "at most 2",
        id="more-than-held",
    ),
    pytest.param(
        "/api/catalogue/stock/stocktake",
        {"counts": [{"isbn13": ISBN, "counted": -1}]},
        400,
        "counted",
        id="negative-count",
    ),
    pytest.param(
        "/api/catalogue/stock/stocktake",
        {"counts": [{"isbn13": ISBN, "counted": 1, "expected_on_hand": -1}]},
        400,
        "expected_on_hand",
        id="negative-expected-figure",
    ),
]


@pytest.mark.parametrize(("path", "body", "status", "says"), BAD_REQUESTS)
async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    client: AsyncTestClient[Any], catalogue, path: str, body: dict, status: int, says: str
) -> None:
    before = await state(catalogue)
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    assert says in response.text
    assert await state(catalogue) == before


async def test_a_body_that_is_not_json_or_too_big_is_refused(
    client: AsyncTestClient[Any], catalogue
) -> None:
    before = await state(catalogue)
    not_json = await client.post(
        "/api/catalogue/books",
        content=b"isbn13=9780140449136&title=x",
        headers={"content-type": "application/json"},
    )
    too_big = await client.post(
        "/api/catalogue/books",
        json={**BOOK, "isbn13": "9780140449136", "description": "x" * 300_000},
    )
    assert not_json.status_code == 400
    assert too_big.status_code == 413
    assert await state(catalogue) == before


async def test_the_staff_api_needs_a_staff_session_with_the_stock_role(
    client: AsyncTestClient[Any], catalogue, staff_session: StaffSignIn
) -> None:
    before = await state(catalogue)
    delivery = {"lines": [{"isbn13": ISBN, "quantity": 1}]}
    client.cookies.delete(SESSION_COOKIE)
    signed_out = await client.post("/api/catalogue/stock/deliveries", json=delivery)
    await staff_session(client, Role.EDITOR, username="eve")
    editor = await client.post("/api/catalogue/stock/deliveries", json=delivery)
    editor_looks_up = await client.get(f"/api/catalogue/books/{ISBN}")
    assert signed_out.status_code == 401
    assert "Sign in" in signed_out.json()["detail"]
    assert editor.status_code == 403
    assert "stock role" in editor.json()["detail"]
    assert editor_looks_up.status_code == 200
    assert await state(catalogue) == before


async def test_staff_receive_and_read_the_ledger(client: AsyncTestClient[Any]) -> None:
    received = await client.post(
        "/api/catalogue/stock/deliveries",
        json={"lines": [{"isbn13": "979-8-4633-4861-6", "quantity": 5}], "reference": "INV-1"},
    )
    ledger = await client.get(f"/api/catalogue/books/{ISBN}/ledger")
    book = await client.get(f"/api/catalogue/books/{ISBN}")
    assert received.status_code == 201
    assert [(e["kind"], e["actor"]) for e in ledger.json()] == [
        ("received", "sam"),
        ("received", "sam"),
    ]
    assert book.json()["available"] == 7


async def test_a_stock_take_applied_after_a_sale_is_refused_naming_the_book(
    client: AsyncTestClient[Any], catalogue
) -> None:
    counted = {"isbn13": ISBN, "counted": 1}
    preview = await client.post(
        "/api/catalogue/stock/stocktake/preview", json={"counts": [counted]}
    )
    [difference] = preview.json()["differences"]
    await catalogue.sell(ISBN)
    before = await state(catalogue)

    take = {"counts": [{**counted, "expected_on_hand": difference["on_hand"]}]}
    refused = await client.post("/api/catalogue/stock/stocktake", json=take)

    assert refused.status_code == 409, refused.text
    assert refused.json()["changed_isbns"] == [ISBN]
    assert f"ISBN {ISBN} changed since the preview" in refused.json()["detail"]
    assert await state(catalogue) == before
    assert await catalogue.counters(ISBN) == (1, 0)  # the sale stands, not the stale count

    # Counted again: the copy left, and the sold one waiting on the shelf to be posted.
    take = {"counts": [{"isbn13": ISBN, "counted": 2, "expected_on_hand": 1}]}
    applied = await client.post("/api/catalogue/stock/stocktake", json=take)
    assert applied.status_code == 201, applied.text
    assert applied.json()["differences"] == []


async def test_search_api_answers_as_you_type(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/catalogue/search", params={"q": "callin"})
    assert response.status_code == 200
    assert [(hit["isbn13"], hit["match"]) for hit in response.json()["hits"]] == [(ISBN, "author")]


async def test_the_book_page_shows_the_book_and_a_buy_form_with_the_articles_attribution(
    client: AsyncTestClient[Any],
) -> None:
    response = await client.get(f"/books/{ISBN}", params={"article": "a000", "link": "l2"})
    assert response.status_code == 200
    page = html.fromstring(response.text)
    assert page.findtext(".//h1") == BOOK["title"]
    assert "Alex Callinicos" in page.text_content()
    assert "£19.99" in page.text_content()
    assert page.find_class("availability")[0].text_content() == "Only 2 left"
    [form] = page.xpath("//form[@action='/checkout/buy']")
    assert form.method.lower() == "post"
    fields = dict(form.form_values())
    assert fields.pop("submission")
    assert fields == {"isbn13": ISBN, "article": "a000", "link": "l2", "quantity": "1"}
    assert [o.get("value") for o in form.xpath(".//select[@name='quantity']/option")] == ["1", "2"]
    assert form.xpath(".//label[@for='quantity']")


@pytest.mark.parametrize(
    ("given", "carried"),
    [("café-2024:ü", "café-2024:ü"), ("..", None), ("a b", None), ("x" * 121, None)],
)
async def test_the_buy_form_carries_only_what_could_be_an_article_id(
    client: AsyncTestClient[Any], given: str, carried: str | None
) -> None:
    """The article id rule every service reads: a link can never reach an article of dots."""
    response = await client.get(f"/books/{ISBN}", params={"article": given})

    [form] = html.fromstring(response.text).xpath("//form[@action='/checkout/buy']")
    assert dict(form.form_values()).get("article") == carried


async def test_each_view_of_a_book_page_gives_its_buy_form_its_own_submission_id(
    client: AsyncTestClient[Any],
) -> None:
    """Checkout makes one order of a Buy submitted twice with the same id (a double click);
    two readers, or one reader's two views, must never share one, though the page is cached."""
    views = [await client.get(f"/books/{ISBN}", params={"article": "a000"}) for _ in range(3)]

    ids = [dict(html.fromstring(view.text).forms[-1].form_values())["submission"] for view in views]
    assert len(set(ids)) == 3 and all(len(i) >= 16 for i in ids)


async def test_book_page_addresses_errors_and_search(client: AsyncTestClient[Any]) -> None:
    unknown = await client.get("/books/9780140449136", headers=HTML)
    invalid = await client.get("/books/not-an-isbn", headers=HTML)
    hyphenated = await client.get(
        "/books/979-8-4633-4861-6", params={"article": "a1"}, follow_redirects=False
    )
    search = await client.get("/search", params={"q": "imperialism"})

    assert unknown.status_code == 404 and "have that book" in unknown.text
    assert invalid.status_code == 400 and "not an ISBN" in invalid.text
    assert hyphenated.status_code == 301
    assert hyphenated.headers["location"] == f"/books/{ISBN}?article=a1"
    assert search.status_code == 200 and f'href="/books/{ISBN}"' in search.text


async def test_sold_out_books_have_no_buy_form(client: AsyncTestClient[Any]) -> None:
    await client.post(
        "/api/catalogue/stock/adjustments",
        json={"isbn13": ISBN, "change": -2, "reason": "display copies damaged"},
    )
    page = html.fromstring((await client.get(f"/books/{ISBN}")).text)
    assert page.find_class("availability")[0].text_content() == "Out of stock"
    assert not page.xpath("//form[@action='/checkout/buy']")


async def test_health_and_the_openapi_schema(client: AsyncTestClient[Any]) -> None:
    health = await client.get("/health/catalogue")
    schema = await client.get("/api/catalogue/schema/openapi.json")
    assert health.json() == {
        "service": "catalogue",
        "status": "ok",
        "database": "ok",
        "broker": "ok",
    }
    assert "/api/catalogue/stock/stocktake/preview" in schema.json()["paths"]
    counted_line = schema.json()["components"]["schemas"]["CountedLine"]["properties"]
    assert "changed_isbns" in str(counted_line["expected_on_hand"])
