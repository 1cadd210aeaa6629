"""A short-lived in-process cache of the public pages, as rendered HTML.

A newspaper article sends its readers to the same few books at once. Without a cache every
view would read the database (about 1 ms through SQLAlchemy and the driver) and render the
template (a few hundred microseconds), capping a web process at a fraction of what it can
serve. With it, a page is built at most once per `ttl_seconds` per process and key, and
concurrent misses for the same key share one build. The price is that a page may show
availability up to `ttl_seconds` old: the figure is informational, since checkout reserves the
copies before anyone pays. Errors (an unknown book) are never cached.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from services.catalogue.book_batches import BookBatches

Build = Callable[[], Awaitable[str]]


class PageCache:
    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_pages: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_pages = max_pages
        self._clock = clock
        self._pages: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
        self._building: dict[Hashable, asyncio.Future[str]] = {}

    def fresh(self, key: Hashable) -> str | None:
        """The page for `key` if there is a fresh one."""
        cached = self._pages.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        return None

    async def get(self, key: Hashable, build: Build) -> str:
        """The page for `key`, built by `build` when there is no fresh one."""
        page = self.fresh(key)
        if page is not None:
            return page
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            page = await build()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            # Nobody else may be waiting: retrieve it so asyncio does not warn about it.
            future.exception()
            raise
        finally:
            del self._building[key]
        future.set_result(page)
        if self._ttl > 0:
            self._pages[key] = (self._clock() + self._ttl, page)
            self._pages.move_to_end(key)
            while len(self._pages) > self._max_pages:
                self._pages.popitem(last=False)
        return page


@dataclass(frozen=True)
class Shopfront:
    """What the public pages read: books (looked up in batches), through the page cache. One
    dependency rather than two: Litestar resolves several dependencies of a handler in a task
    group, which costs more than serving a cached page."""

    books: BookBatches
    pages: PageCache
