"""Redis unreachable without refusing (a lost route, a frozen server: only timeouts notice):
a reader's Buy is answered 503 within the bounded wait; meanwhile a reader's page that needs
only the database answers at once (nothing waits on the broker with the event loop held) and a
rate-limited form soon after, its limit unchecked.

Checkout reaches its broker through a TCP proxy the test blackholes, then restores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import httpx
import pytest
import redis
from conftest import (
    NewDatabase,
    RedisServer,
    ServerThread,
    TcpProxy,
    bound_socket,
    isbn13,
    report,
    url_of,
)
from waiting import eventually

from services.checkout import handlers as checkout_handlers
from services.checkout import models as co
from services.checkout.app import create_app as create_checkout
from services.checkout.settings import CheckoutSettings
from shared.auth.settings import StaffAuthSettings
from shared.contracts import BookChanged
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade
from shared.ratelimit import REDIS_TIMEOUT_SECONDS

pytestmark = pytest.mark.integration

ISBN = isbn13(211)
REPLY_TIMEOUT_SECONDS = 2.0
# The Buy waits for the catalogue's reply at most this long, the broker included.
BOUNDED_WAIT_SECONDS = REPLY_TIMEOUT_SECONDS + 1.5


@pytest.fixture
async def checkout_url(
    new_postgres_database: NewDatabase,
    own_redis: RedisServer,
    staff_auth: StaffAuthSettings,
) -> AsyncIterator[tuple[str, TcpProxy]]:
    database_url = new_postgres_database("co")
    await asyncio.to_thread(upgrade, "services.checkout:migrations", database_url)
    db = Database(database_url)
    async with UnitOfWorkFactory(db, co.outbox)() as uow:
        await checkout_handlers.on_book_changed(
            BookChanged(isbn13=ISBN, version=1, title="Imperialism", price_pence=1999, available=3),
            uow=uow,
        )
    await db.dispose()
    proxy = TcpProxy("127.0.0.1", own_redis.port)
    proxy.start()
    sock = bound_socket()
    app = create_checkout(
        CheckoutSettings(
            database_url=database_url,
            redis_url=f"redis://127.0.0.1:{proxy.port}/0",
            public_url=url_of(sock),
            staff_auth=staff_auth,
            reply_timeout_seconds=REPLY_TIMEOUT_SECONDS,
        )
    )
    try:
        with ServerThread(app, sock):
            yield url_of(sock), proxy
    finally:
        proxy.stop()


async def _buy_sends(
    buy: Callable[[], Awaitable[tuple[int, float]]], queued: redis.Redis, before: int
) -> bool:
    await buy()
    return int(queued.llen("catalogue")) > before


async def test_a_buy_is_answered_within_the_bounded_wait_while_redis_is_blackholed(
    checkout_url: tuple[str, TcpProxy],
    own_redis: RedisServer,
    csrf_token_for: Callable[[httpx.AsyncClient], str],
) -> None:
    base, proxy = checkout_url
    html = {"Accept": "text/html"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        csrf_token_for(http)

        async def buy() -> tuple[int, float]:
            started = time.monotonic()
            answer = await http.post(
                "/checkout/buy", data={"isbn13": ISBN, "quantity": "1"}, headers=html
            )
            return answer.status_code, time.monotonic() - started

        async def status_lookup() -> tuple[int, float]:
            started = time.monotonic()
            answer = await http.post(
                "/orders/status", data={"reference": "BK-NONE", "email": "a@b.org"}, headers=html
            )
            return answer.status_code, time.monotonic() - started

        async def back_from_stripe() -> tuple[int, float]:
            started = time.monotonic()
            answer = await http.get(f"/checkout/cancel?order_id={uuid4()}", headers=html)
            return answer.status_code, time.monotonic() - started

        # No catalogue worker runs: with the broker up, the Buy's own answer is a clear 503
        # once the reply wait is over, which makes every connection to Redis a warm one.
        assert (await buy())[0] == 503
        proxy.cut("blackhole")
        cut_buys = asyncio.gather(buy(), buy())
        await asyncio.sleep(0.3)
        page_status, page_took = await back_from_stripe()
        # A rate-limited form: its limit cannot be checked, so it is let through, soon.
        lookup_status, lookup_took = await status_lookup()
        buys_while_cut = await cut_buys
        proxy.restore()
        queued = redis.Redis.from_url(own_redis.url)
        before = queued.llen("catalogue")
        restored_at = time.monotonic()
        await eventually(
            lambda: _buy_sends(buy, queued, before),
            timeout=15,
            what="a Buy's reservation reaching the queue",
        )
        recovered_in = time.monotonic() - restored_at
    for status, took in buys_while_cut:
        assert status == 503
        assert took < BOUNDED_WAIT_SECONDS, took
    assert page_status == 200, "Stripe's way back answers from the database alone"
    assert page_took < 1.0, f"a page that needs no broker waited {page_took:.1f} s"
    assert lookup_status == 404, "the order status lookup answers, its limit unchecked"
    assert lookup_took < REDIS_TIMEOUT_SECONDS + 1.0, lookup_took
    report(
        "Redis blackholed",
        buys_while_cut=[f"{s} in {t:.2f} s" for s, t in buys_while_cut],
        page_while_cut=f"{page_status} in {page_took:.2f} s",
        rate_limited_lookup_while_cut=f"{lookup_status} in {lookup_took:.2f} s",
        sent_again_after_restore=f"{recovered_in:.2f} s",
    )
