"""The rate limiter counts a moving window in Redis: at most N requests in any window's length,
however the requests fall against the clock (fixed windows let 2N through across their end)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shared.ratelimit import Limit, RateLimiter

pytestmark = pytest.mark.integration

ALLOWED, WINDOW = 3, 2


@pytest.fixture
async def limiter(redis_url: str) -> AsyncIterator[RateLimiter]:
    client = Redis.from_url(redis_url)
    yield RateLimiter(client)
    await client.aclose()


@pytest.fixture
def limit() -> Limit:
    # A name of its own per test: counts left by an earlier run do not leak in.
    return Limit(f"test-{uuid.uuid4().hex[:8]}", "POST", "/x", ALLOWED, window_seconds=WINDOW)


async def test_over_the_limit_a_client_is_told_how_long_to_wait(
    limiter: RateLimiter, limit: Limit
) -> None:
    assert [await limiter.hit(limit, "10.0.0.1") for _ in range(ALLOWED)] == [None] * ALLOWED
    wait = await limiter.hit(limit, "10.0.0.1")
    assert wait is not None and 1 <= wait <= WINDOW
    # Another key has a count of its own.
    assert await limiter.hit(limit, "10.0.0.2") is None


async def test_the_limit_holds_across_the_end_of_a_clock_window(
    limiter: RateLimiter, limit: Limit
) -> None:
    # Three requests late in one clock window of WINDOW seconds, one early in the next: a
    # fixed-window counter would start afresh at the boundary and let the fourth through.
    await asyncio.sleep(WINDOW - time.time() % WINDOW + WINDOW * 0.6)
    for _ in range(ALLOWED):
        assert await limiter.hit(limit, "10.0.0.1") is None
    await asyncio.sleep(WINDOW * 0.6)
    assert await limiter.hit(limit, "10.0.0.1") is not None


async def test_a_client_is_let_in_again_once_its_requests_leave_the_window(
    limiter: RateLimiter, limit: Limit
) -> None:
    for _ in range(ALLOWED):
        await limiter.hit(limit, "10.0.0.1")
    # Refused tries are not counted: hammering does not keep the client out for longer.
    for _ in range(5):
        assert await limiter.hit(limit, "10.0.0.1") is not None
    await asyncio.sleep(WINDOW + 0.1)
    assert await limiter.hit(limit, "10.0.0.1") is None
