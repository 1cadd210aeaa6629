"""The public pages' cache: one build per key while fresh, shared by concurrent misses; errors
are never kept."""

from __future__ import annotations

import asyncio

import pytest

from services.catalogue.page_cache import PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_page_is_built_once_while_fresh_and_again_after() -> None:
    clock = Clock()
    cache = PageCache(ttl_seconds=2.0, clock=clock)
    builds = 0

    async def build() -> str:
        nonlocal builds
        builds += 1
        return f"page {builds}"

    assert await cache.get("a", build) == "page 1"
    clock.now += 1.9
    assert await cache.get("a", build) == "page 1"
    clock.now += 0.2
    assert await cache.get("a", build) == "page 2"
    assert await cache.get("b", build) == "page 3"


async def test_concurrent_misses_share_one_build() -> None:
    cache = PageCache(ttl_seconds=2.0)
    release = asyncio.Event()
    builds = 0

    async def build() -> str:
        nonlocal builds
        builds += 1
        await release.wait()
        return "page"

    waiting = [asyncio.create_task(cache.get("a", build)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == ["page"] * 10
    assert builds == 1


async def test_a_failed_build_is_not_kept() -> None:
    cache = PageCache(ttl_seconds=2.0)

    async def missing() -> str:
        raise LookupError("no such book")

    async def found() -> str:
        return "page"

    with pytest.raises(LookupError):
        await cache.get("a", missing)
    assert await cache.get("a", found) == "page"


async def test_no_ttl_means_no_caching_and_the_oldest_pages_go_first() -> None:
    uncached = PageCache(ttl_seconds=0)
    small = PageCache(ttl_seconds=60, max_pages=2)
    count = 0

    async def build() -> str:
        nonlocal count
        count += 1
        return str(count)

    assert [await uncached.get("a", build) for _ in range(2)] == ["1", "2"]
    for key in ("a", "b", "c"):
        await small.get(key, build)
    assert await small.get("b", build) == "4"  # still held
    assert await small.get("a", build) == "6"  # dropped as the oldest


async def test_a_fresh_page_can_be_had_without_building() -> None:
    clock = Clock()
    cache = PageCache(ttl_seconds=2.0, clock=clock)
    assert cache.fresh("book") is None

    async def build() -> str:
        return "page"

    await cache.get("book", build)
    assert cache.fresh("book") == "page"
    clock.now += 2.0
    assert cache.fresh("book") is None
