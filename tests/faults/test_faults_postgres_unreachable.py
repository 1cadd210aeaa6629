"""Postgres briefly unreachable: requests fail fast and clearly (503 with Retry-After, within a few
seconds), and the services recover by themselves when it is back, with nothing restarted.

The catalogue and checkout apps reach their databases through a TCP proxy the test cuts and
restores: refusing (connections dropped, new ones refused: a database restarting) or as a
blackhole (nothing gets through and nothing is refused: a lost route; only timeouts notice).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from conftest import (
    NewDatabase,
    RedisServer,
    ServerThread,
    TcpProxy,
    bound_socket,
    isbn13,
    report,
    through_proxy,
    url_of,
)

from services.catalogue import models as cat
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from services.catalogue.settings import CatalogueSettings
from services.checkout import handlers as checkout_handlers
from services.checkout import models as co
from services.checkout.app import create_app as create_checkout
from services.checkout.settings import CheckoutSettings
from shared.auth.settings import StaffAuthSettings
from shared.contracts import BookChanged
from shared.db import CONNECT_TIMEOUT_SECONDS, STATEMENT_TIMEOUT_SECONDS, Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade

pytestmark = pytest.mark.integration

ISBN = isbn13(201)
# SQLAlchemy closes an invalidated asyncpg connection politely first, waiting up to this long
# (its dialect's _terminate_graceful_close) before it drops it.
GRACEFUL_CLOSE_SECONDS = 2
# A request while the database is away is answered within this: at worst a pooled connection's
# ping times out (statement timeout), its close waits out the blackhole, and the reconnection
# times out too (connect timeout); a CI run met all three once, in 17.01 s.
FAIL_FAST_SECONDS = STATEMENT_TIMEOUT_SECONDS + GRACEFUL_CLOSE_SECONDS + CONNECT_TIMEOUT_SECONDS + 2


@pytest.fixture
async def shop_urls(
    new_postgres_database: NewDatabase,
    postgres_proxy: TcpProxy,
    own_redis: RedisServer,
    staff_auth: StaffAuthSettings,
) -> AsyncIterator[tuple[str, str]]:
    catalogue_url, checkout_url = (new_postgres_database(name) for name in ("cat", "co"))
    await asyncio.to_thread(upgrade, "services.catalogue:migrations", catalogue_url)
    await asyncio.to_thread(upgrade, "services.checkout:migrations", checkout_url)
    for url, add in ((catalogue_url, _add_to_catalogue), (checkout_url, _add_to_checkout)):
        db = Database(url)
        await add(db)
        await db.dispose()
    catalogue_sock, checkout_sock = bound_socket(), bound_socket()
    catalogue_app = create_catalogue(
        CatalogueSettings(
            database_url=through_proxy(catalogue_url, postgres_proxy),
            redis_url=own_redis.url,
            page_cache_seconds=0,
            staff_auth=staff_auth,
        )
    )
    checkout_app = create_checkout(
        CheckoutSettings(
            database_url=through_proxy(checkout_url, postgres_proxy),
            redis_url=own_redis.url,
            public_url=url_of(checkout_sock),
            staff_auth=staff_auth,
        )
    )
    with ServerThread(catalogue_app, catalogue_sock), ServerThread(checkout_app, checkout_sock):
        yield url_of(catalogue_sock), url_of(checkout_sock)


async def _add_to_catalogue(db: Database) -> None:
    books = BookService(uow=UnitOfWorkFactory(db, cat.outbox), db=db)
    await books.upsert_books(
        books=[BookCreate(isbn13=ISBN, title="Imperialism", price_pence=1999, stock=3)],
        actor="test",
    )


async def _add_to_checkout(db: Database) -> None:
    async with UnitOfWorkFactory(db, co.outbox)() as uow:
        await checkout_handlers.on_book_changed(
            BookChanged(isbn13=ISBN, version=1, title="Imperialism", price_pence=1999, available=3),
            uow=uow,
        )


def requests(catalogue: str, checkout: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Each route that needs its database: (method, url, httpx keyword arguments)."""
    html = {"Accept": "text/html"}
    return {
        "book page": ("GET", f"{catalogue}/books/{ISBN}", {"headers": html}),
        "search page": ("GET", f"{catalogue}/search?q=imperialism", {"headers": html}),
        "buy": (
            "POST",
            f"{checkout}/checkout/buy",
            {"data": {"isbn13": ISBN, "quantity": "1"}, "headers": html},
        ),
        "order status": (
            "POST",
            f"{checkout}/orders/status",
            {"data": {"reference": "BK-NONE", "email": "a@b.org"}, "headers": html},
        ),
    }


# What each route answers with its database up (the Buy gets no reply from a catalogue worker,
# which is not running here: that is its own clear 503).
HEALTHY_STATUS = {
    "book page": {200},
    "search page": {200},
    "buy": {503},
    "order status": {404},
}


@pytest.mark.parametrize("how", ["refuse", "blackhole"])
async def test_requests_fail_fast_while_postgres_is_cut_and_succeed_once_it_is_back(
    how: str,
    shop_urls: tuple[str, str],
    postgres_proxy: TcpProxy,
    csrf_token_for: Callable[[httpx.AsyncClient], str],
) -> None:
    catalogue, checkout = shop_urls
    routes = requests(catalogue, checkout)
    async with httpx.AsyncClient(timeout=30) as http:
        csrf_token_for(http)

        async def call(name: str) -> tuple[httpx.Response, float]:
            method, url, kwargs = routes[name]
            started = time.monotonic()
            response = await http.request(method, url, **kwargs)
            return response, time.monotonic() - started

        before = {name: (await call(name))[0].status_code for name in routes}
        assert all(before[name] in HEALTHY_STATUS[name] for name in routes), before

        postgres_proxy.cut(how)
        cut_at = time.monotonic()
        # Twice each, at once: some find pooled connections that died, the rest none left.
        answers = await asyncio.gather(*(call(name) for name in [*routes, *routes]))
        while_cut: dict[str, tuple[int, float]] = {}
        for name, (response, took) in zip([*routes, *routes], answers, strict=True):
            assert response.status_code == 503, (name, response.status_code, response.text)
            assert response.headers.get("retry-after"), name
            assert took < FAIL_FAST_SECONDS, (name, took)
            while_cut[name] = (response.status_code, max(took, while_cut.get(name, (0, 0))[1]))
        health = {
            service: (await http.get(f"{base}/health/{service}")).json()
            for service, base in (("catalogue", catalogue), ("checkout", checkout))
        }
        assert all(h["database"] != "ok" and h["broker"] == "ok" for h in health.values())
        postgres_proxy.restore()
        down_for = time.monotonic() - cut_at

        after = {name: (await call(name))[0].status_code for name in routes}
        assert after == before
        health_after = [
            (await http.get(f"{base}/health/{service}")).status_code
            for service, base in (("catalogue", catalogue), ("checkout", checkout))
        ]
        assert health_after == [200, 200]
    report(
        f"Postgres unreachable ({how})",
        routes_tried=list(routes),
        requests_while_cut=2 * len(routes),
        answers_while_cut={n: f"{s} within {t:.2f} s" for n, (s, t) in while_cut.items()},
        connections_refused_by_the_cut_line=postgres_proxy.refused,
        database_away_for=f"{down_for:.1f} s",
        answers_after=after,
    )
