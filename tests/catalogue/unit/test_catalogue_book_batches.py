"""Book look-ups for the public pages: those that arrive while a query is out go together in
the next one; each reader gets their own book, a NotFound, or the query's error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from services.catalogue.book_batches import BookBatches
from shared.errors import NotFound

A, B, C, UNKNOWN = "9780745334530", "9781844676620", "9780262033848", "9780306406157"


class FakeBooks:
    """Answers `get_many` after the test lets it, and remembers each query's ISBNs."""

    def __init__(self) -> None:
        self.queries: list[list[str]] = []
        self.release = asyncio.Event()
        self.error: Exception | None = None

    async def get_many(self, *, isbn13s: Sequence[str]) -> dict[str, Any]:
        self.queries.append(list(isbn13s))
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return {isbn: {"isbn13": isbn} for isbn in isbn13s if isbn != UNKNOWN}


async def test_look_ups_made_while_a_query_is_out_go_together_in_the_next() -> None:
    books = FakeBooks()
    batches = BookBatches(books)  # type: ignore[arg-type]
    first = asyncio.create_task(batches.get(isbn13=A))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(batches.get(isbn13=isbn)) for isbn in (B, C, B, "0-262-03384-4")]
    await asyncio.sleep(0)
    books.release.set()
    assert (await first) == {"isbn13": A}
    assert [book["isbn13"] for book in await asyncio.gather(*waiting)] == [B, C, B, C]
    assert books.queries == [[A], [B, C]], "one query each, a book asked for twice asked once"


async def test_an_unknown_book_is_not_found_and_a_failed_query_fails_its_readers() -> None:
    books = FakeBooks()
    books.release.set()
    batches = BookBatches(books)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await batches.get(isbn13=UNKNOWN)
    books.error = ConnectionError("database gone")
    results = await asyncio.gather(
        batches.get(isbn13=A), batches.get(isbn13=B), return_exceptions=True
    )
    assert all(isinstance(result, ConnectionError) for result in results)
    books.error = None
    assert await batches.get(isbn13=A) == {"isbn13": A}, "the next look-up starts afresh"


async def test_a_reader_who_gives_up_leaves_the_others_their_answer() -> None:
    books = FakeBooks()
    batches = BookBatches(books)  # type: ignore[arg-type]
    blocker = asyncio.create_task(batches.get(isbn13=C))
    await asyncio.sleep(0)
    leaving = asyncio.create_task(batches.get(isbn13=A))
    staying = asyncio.create_task(batches.get(isbn13=A))
    await asyncio.sleep(0)
    leaving.cancel()
    books.release.set()
    assert await staying == {"isbn13": A}
    assert await blocker == {"isbn13": C}
    with pytest.raises(asyncio.CancelledError):
        await leaving
