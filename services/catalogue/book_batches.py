"""Single-book look-ups for the public pages, answered together while the shop is busy.

When the page cache's pages run out, each book page is rebuilt from the database. A look-up
costs little in SQLite itself but much around it (a session, and a thread hop per step of the
driver: about 2 ms of CPU on a busy web process), and a query for twenty books costs hardly
more than a query for one. So look-ups that arrive while one query is out wait for it to end
and then go together in the next: one query when the shop is quiet, few and larger ones when
it is busy, and no look-up waits for a timer.
"""

from __future__ import annotations

import asyncio
import contextvars

from services.catalogue.schemas import BookRead
from services.catalogue.service import BookService
from shared.errors import NotFound
from shared.isbn import to_isbn13

# Far below any database's limit on bound parameters.
MAX_BATCH = 500


class BookBatches:
    def __init__(self, books: BookService) -> None:
        self._books = books
        # Each look-up has its own future: one reader giving up cancels no one else's.
        self._waiting: dict[str, list[asyncio.Future[BookRead | None]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def get(self, *, isbn13: str) -> BookRead:
        """As `BookService.get`: the book with its stock, or NotFound."""
        isbn13 = to_isbn13(isbn13)
        found: asyncio.Future[BookRead | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(isbn13, []).append(found)
        if self._reader is None:
            # In a context of its own: the batch serves many requests, not the first one's.
            self._reader = asyncio.create_task(self._read(), context=contextvars.Context())
        book = await found
        if book is None:
            raise NotFound(f"no book with ISBN {isbn13} in the catalogue")
        return book

    async def _read(self) -> None:
        batch: dict[str, list[asyncio.Future[BookRead | None]]] = {}
        try:
            while self._waiting:
                batch = dict(list(self._waiting.items())[:MAX_BATCH])
                for isbn13 in batch:
                    del self._waiting[isbn13]
                try:
                    books = await self._books.get_many(isbn13s=list(batch))
                except Exception as error:
                    for future in _pending(batch):
                        future.set_exception(error)
                    continue
                for isbn13, futures in batch.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(books.get(isbn13))
        finally:
            # Cancelled (the loop is closing): nobody may be left waiting for an answer.
            for future in [*_pending(batch), *_pending(self._waiting)]:
                future.cancel()
            self._waiting.clear()
            self._reader = None


def _pending(
    batch: dict[str, list[asyncio.Future[BookRead | None]]],
) -> list[asyncio.Future[BookRead | None]]:
    return [future for futures in batch.values() for future in futures if not future.done()]
