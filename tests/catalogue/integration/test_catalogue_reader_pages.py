"""What a reader sees: the front page, where the header's "Bookshop" link and every "Back to the
shop" lead (it answered 404, so a reader who clicked the shop's name was told the shop was not
found); search, which says when it shows only the first matches; a book page's words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import OpenClient
from litestar.testing import AsyncTestClient
from lxml import html

from services.catalogue.controllers import pages
from shared.auth.roles import Role
from shared.auth.sessions import SESSION_COOKIE


def book(isbn13: str, title: str, stock: int) -> dict[str, object]:
    return {
        "isbn13": isbn13,
        "title": title,
        "authors": ["A. Writer"],
        "price_pence": 1299,
        "stock": stock,
    }


@pytest.fixture
async def client(open_client: OpenClient) -> AsyncIterator[AsyncTestClient[Any]]:
    """Three books added in turn, the middle one out of stock; then signed out, as a reader."""
    async with open_client(Role.STOCK) as test_client:
        for record in (
            book("9798463348616", "Imperialism and Global Political Economy", 2),
            book("9780140449136", "Crime and Punishment", 0),
            book("9781784780678", "The New Imperialism", 1),
        ):
            response = await test_client.post("/api/catalogue/books", json=record)
            assert response.status_code == 201, response.text
        test_client.cookies.delete(SESSION_COOKIE)
        yield test_client


async def test_the_front_page_shows_the_newest_books_a_reader_can_buy(
    client: AsyncTestClient[Any],
) -> None:
    response = await client.get("/", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = html.fromstring(response.text)
    listed = [link.text_content() for link in page.cssselect("ol.hits a")]
    assert listed == ["The New Imperialism", "Imperialism and Global Political Economy"]
    assert page.cssselect("ol.hits a")[0].get("href") == "/books/9781784780678"
    # the search form is on it, and the shop's name leads back to it
    assert page.cssselect("form[action='/search'] input[name=q]")
    assert page.cssselect("header a[href='/']")


async def test_with_nothing_in_stock_the_front_page_says_so(open_client: OpenClient) -> None:
    async with open_client() as client:
        response = await client.get("/")

    assert response.status_code == 200
    assert "No books are in stock just now." in response.text


async def test_the_front_page_answers_head(client: AsyncTestClient[Any]) -> None:
    response = await client.head("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_search_says_when_it_shows_only_the_first_matches(
    client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "SEARCH_SHOWN", 1)

    cut = html.fromstring((await client.get("/search", params={"q": "imperialism"})).text)
    whole = html.fromstring((await client.get("/search", params={"q": "crime"})).text)

    assert len(cut.cssselect("ol.hits li")) == 1
    assert "Showing the first 1 matches; there are more." in cut.text_content()
    assert len(whole.cssselect("ol.hits li")) == 1
    assert "there are more" not in whole.text_content()


async def test_a_mistyped_isbn_is_told_in_one_sentence(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/books/9798463348617", headers={"accept": "text/html"})

    assert page.status_code == 400
    text = " ".join(html.fromstring(page.text).text_content().split())
    assert "wrong check digit: is a digit mistyped? Check the link, or search:" in text


async def test_the_book_page_says_where_the_shop_posts_before_the_reader_pays(
    client: AsyncTestClient[Any],
) -> None:
    # A reader abroad found out only on Stripe's page, after Buy ("We cannot ship to FR").
    on_sale = html.fromstring((await client.get("/books/9798463348616")).text)
    sold_out = html.fromstring((await client.get("/books/9780140449136")).text)

    assert "We post to UK addresses only." in on_sale.text_content()
    assert "We post to UK addresses only." not in sold_out.text_content()


def gone_notice(response: Any) -> str:
    """The page's words on the gone book an article's link was for ("" if none)."""
    found = html.fromstring(response.text).cssselect("[data-testid=gone]")
    return " ".join(found[0].text_content().split()) if found else ""


async def test_a_book_page_reached_instead_of_a_gone_book_says_why_and_keeps_the_article(
    client: AsyncTestClient[Any],
) -> None:
    # An article's link for Crime and Punishment, gone, lands on the article's next book.
    query = {"article": "sw-2308", "gone": "9780140449136"}
    page = await client.get("/books/9781784780678", params=query)

    assert gone_notice(page) == (
        "The book from the article, “Crime and Punishment”, is no longer available. "
        "This is the closest we have."
    )
    buy = html.fromstring(page.text).cssselect("form.buy input[name=article]")[0]
    assert buy.get("value") == "sw-2308"
    # The catalogue has forgotten it: its ISBN, and an ISBN-10 is read as its ISBN-13.
    unknown = await client.get("/books/9781784780678", params={"gone": "0-306-40615-2"})
    assert "The book from the article, 9780306406157, is no longer" in gone_notice(unknown)
    # Nor is anything said on the plain page, kept apart in the page cache.
    assert gone_notice(await client.get("/books/9781784780678")) == ""


async def test_a_hyphenated_isbn_keeps_the_gone_book_through_its_redirect(
    client: AsyncTestClient[Any],
) -> None:
    moved = await client.get(
        "/books/978-1-78478-067-8", params={"gone": "9780140449136"}, follow_redirects=False
    )

    assert moved.headers["location"] == "/books/9781784780678?gone=9780140449136"


@pytest.mark.parametrize(
    "gone", ['"><script>alert(1)</script>', "9780140449137", "sw-2308", "9" * 400, ""]
)
async def test_only_an_isbn_is_taken_as_the_gone_book(
    client: AsyncTestClient[Any], gone: str
) -> None:
    for path in ("/books/9781784780678", "/search"):
        page = await client.get(path, params={"gone": gone, "q": "imperialism"})

        assert page.status_code == 200
        assert gone_notice(page) == ""
        assert "<script>alert" not in page.text


async def test_the_search_for_a_gone_book_says_why(client: AsyncTestClient[Any]) -> None:
    page = await client.get(
        "/search", params={"q": "Crime and Punishment", "gone": "9780140449136"}
    )

    assert gone_notice(page) == (
        "The book from the article, “Crime and Punishment”, is no longer available. "
        "These are the closest we have."
    )
