"""HEAD on a book's page, where an article's links land: link checkers and CMSs ask with HEAD
and read a 405 as a broken link. HEAD answers as GET would, without the body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import OpenClient
from litestar.testing import AsyncTestClient

from services.catalogue.service import BookService

ISBN = "9798463348616"


@pytest.fixture
async def client(
    open_client: OpenClient, books: BookService, catalogue
) -> AsyncIterator[AsyncTestClient[Any]]:
    await books.create(
        book=catalogue.book(ISBN, "Imperialism and Global Political Economy", stock=2),
        actor="setup",
    )
    async with open_client() as test_client:
        yield test_client


async def test_head_on_a_book_page_answers_as_get_does(client: AsyncTestClient[Any]) -> None:
    got = await client.get(f"/books/{ISBN}", params={"article": "a1"})
    head = await client.head(f"/books/{ISBN}", params={"article": "a1"})

    assert got.status_code == head.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-type"].startswith("text/html")
    assert head.headers.get("cache-control") == got.headers.get("cache-control")
    assert head.content == b""


async def test_head_answers_a_book_pages_redirect_and_not_found_as_get_does(
    client: AsyncTestClient[Any],
) -> None:
    hyphenated = await client.head("/books/979-8-4633-4861-6", follow_redirects=False)
    unknown = await client.head("/books/9780140449136")

    assert hyphenated.status_code == 301
    assert hyphenated.headers["location"] == f"/books/{ISBN}"
    assert unknown.status_code == 404
