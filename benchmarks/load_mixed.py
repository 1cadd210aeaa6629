"""A steady mixed load on the whole shop: article link clicks, book pages, search, Buy (and paying
on the Stripe stand-in), staff stock edits. Reports throughput and p50/p99 per route, errors
(there must be none) and each process's memory at the end against the start.

    uv run python benchmarks/load_mixed.py                    # 2 minutes at 20 requests/s
    uv run python benchmarks/load_mixed.py --duration 30 --rate 10

The shop runs as `bookshop up` runs it (load_race.running_shop: one web process, a worker per
service and beat) on a Redis of its own and fresh Postgres databases, on loopback only. The
load is open-loop: requests start on a fixed schedule whether or not earlier ones finished,
so a slow shop shows as latency rather than as a politely lower rate. A warm-up at the same
rate comes first; memory is measured after it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psutil
from load_race import (
    PAY_BY_CARD,
    STAFF_PASSWORD,
    STAFF_USER,
    RunningShop,
    add_book,
    isbn13,
    percentile,
    running_shop,
)
from sqlalchemy import func, select

from services.catalogue import models as cat
from services.checkout import models as co
from shared.db import Database

BUY_ISBN = isbn13(501)
SEED_ARTICLE = "a000"
SEARCHES = ("imperialism", "callinicos", "marx", "revolution", "capital", "stalinism", "lenin")
# Share of each kind of visit in the load.
MIX = {"link click": 30, "book page": 30, "search": 20, "buy": 10, "staff stock edit": 10}
EXPECTED = {
    "link click": 303,
    "book page": 200,
    "search": 200,
    "buy": 303,
    "pay (stand-in)": 303,
    "staff stock edit": 201,
}
# Growth of a process's resident memory over the run that is not noise.
GROWTH_LIMIT_MB = 25.0


class Load:
    def __init__(self, http: httpx.AsyncClient, staff: httpx.AsyncClient, isbns: list[str]):
        self.http = http
        self.staff = staff
        self.isbns = isbns
        self.rng = random.Random(7)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.sent_to_pay = 0

    async def timed(self, route: str, call: Callable[[], Awaitable[httpx.Response]]) -> Any:
        started = time.monotonic()
        try:
            response = await call()
        except httpx.HTTPError as error:
            self.errors[route].append(f"{type(error).__name__}: {error}")
            return None
        self.latencies[route].append(time.monotonic() - started)
        if response.status_code != EXPECTED[route]:
            body = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))[:120]
            self.errors[route].append(f"{response.status_code} {body}")
            return None
        return response

    async def visit(self, kind: str) -> None:
        isbn = self.rng.choice(self.isbns)
        if kind == "link click":
            await self.timed("link click", lambda: self.http.get(f"/go/{SEED_ARTICLE}/{isbn}"))
        elif kind == "book page":
            await self.timed("book page", lambda: self.http.get(f"/books/{isbn}"))
        elif kind == "search":
            query = self.rng.choice(SEARCHES)
            await self.timed("search", lambda: self.http.get("/search", params={"q": query}))
        elif kind == "buy":
            bought = await self.timed(
                "buy",
                lambda: self.http.post(
                    "/checkout/buy",
                    data={"isbn13": BUY_ISBN, "quantity": "1"},
                    headers={"Accept": "text/html"},
                ),
            )
            if bought is not None:
                self.sent_to_pay += 1
                url = bought.headers["location"]
                await self.timed("pay (stand-in)", lambda: self.http.post(url, data=PAY_BY_CARD))
        else:
            change = self.rng.choice((1, -1))
            await self.timed(
                "staff stock edit",
                lambda: self.staff.post(
                    "/api/catalogue/stock/adjustments",
                    json={"isbn13": BUY_ISBN, "change": change, "reason": "load test recount"},
                ),
            )

    async def run(self, *, seconds: float, rate: float) -> float:
        """Start visits at `rate` per second for `seconds`; wait for the last; elapsed time."""
        kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
        started = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        for number in range(int(seconds * rate)):
            delay = started + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.visit(self.rng.choice(kinds))))
        await asyncio.gather(*tasks)
        return time.monotonic() - started


async def staff_client(url: str) -> httpx.AsyncClient:
    """A client signed in at /staff/login, sending the CSRF token with every request."""
    client = httpx.AsyncClient(base_url=url, timeout=30)
    form = await client.get("/staff/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token, "the sign-in form has no CSRF token"
    signed_in = await client.post(
        "/staff/login",
        data={"username": STAFF_USER, "password": STAFF_PASSWORD, "_csrf_token": token.group(1)},
    )
    assert signed_in.status_code == 303, signed_in.text[:300]
    client.headers["x-csrftoken"] = token.group(1)
    return client


def memory_mb(pids: dict[str, int]) -> dict[str, float]:
    return {name: psutil.Process(pid).memory_info().rss / 2**20 for name, pid in pids.items()}


async def demo_isbns(shop: RunningShop) -> list[str]:
    db = Database(shop.database_urls["catalogue"])
    try:
        async with db.reading() as session:
            return list(
                await session.scalars(
                    select(cat.Stock.isbn13).where(cat.Stock.on_hand > 0).order_by(cat.Stock.isbn13)
                )
            )
    finally:
        await db.dispose()


async def paid_orders(shop: RunningShop, expected: int) -> int:
    """Paid orders once the webhooks have caught up (or after 60 s)."""
    db = Database(shop.database_urls["checkout"])
    try:
        deadline = time.monotonic() + 60
        while True:
            async with db.reading() as session:
                paid = int(
                    await session.scalar(
                        select(func.count()).select_from(co.Order).where(co.Order.status == "paid")
                    )
                    or 0
                )
            if paid >= expected or time.monotonic() > deadline:
                return paid
            await asyncio.sleep(0.5)
    finally:
        await db.dispose()


async def mixed_load(shop: RunningShop, *, duration: float, rate: float, warm_up: float) -> bool:
    await add_book(shop, BUY_ISBN, copies=100_000, title="The Steady Seller")
    isbns = [isbn for isbn in await demo_isbns(shop) if isbn != BUY_ISBN]
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so a request is never
    # sent on a connection the server is closing (a client-side error, not the shop's).
    limits = httpx.Limits(max_connections=200, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=shop.url, timeout=30, limits=limits) as http:
        staff = await staff_client(shop.url)
        try:
            warm = Load(http, staff, isbns)
            await warm.run(seconds=warm_up, rate=rate)
            pids = shop.processes()
            before = memory_mb(pids)
            load = Load(http, staff, isbns)
            elapsed = await load.run(seconds=duration, rate=rate)
            after = memory_mb(pids)
        finally:
            await staff.aclose()
    sent_to_pay = warm.sent_to_pay + load.sent_to_pay
    paid = await paid_orders(shop, sent_to_pay)

    total = sum(len(v) for v in load.latencies.values())
    errors = sum(len(v) for v in load.errors.values())
    print(f"mixed load: {duration:.0f} s at {rate:g} visits/s (after {warm_up:.0f} s warm-up)")
    print(f"{'route':<18}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for route in EXPECTED:
        times = load.latencies.get(route, [])
        p50 = f"{percentile(times, 50) * 1000:.0f}" if times else "-"
        p99 = f"{percentile(times, 99) * 1000:.0f}" if times else "-"
        print(
            f"{route:<18}{len(times):>9}{len(times) / elapsed:>8.1f}{p50:>9}{p99:>9}"
            f"{len(load.errors.get(route, [])):>8}"
        )
    print(f"{'all':<18}{total:>9}{total / elapsed:>8.1f}{'':>18}{errors:>8}")
    for route, messages in load.errors.items():
        print(f"  errors on {route}: {sorted(set(messages))[:5]}")
    print(f"orders sent to pay (warm-up too): {sent_to_pay}, paid once webhooks caught up: {paid}")
    print(f"{'process':<32}{'RSS start MB':>14}{'RSS end MB':>12}{'growth MB':>11}")
    grew = []
    for name in pids:
        growth = after[name] - before[name]
        print(f"{name:<32}{before[name]:>14.1f}{after[name]:>12.1f}{growth:>+11.1f}")
        if growth > GROWTH_LIMIT_MB:
            grew.append(name)
    ok = errors == 0 and paid == sent_to_pay and not grew
    print(
        "RESULT:",
        "no errors, every order paid, no memory growth beyond noise"
        if ok
        else f"FAILED (errors {errors}, paid {paid}/{sent_to_pay}, grew: {grew})",
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of measured load")
    parser.add_argument("--rate", type=float, default=20.0, help="visits started per second")
    parser.add_argument("--warm-up", type=float, default=15.0, help="seconds before measuring")
    args = parser.parse_args()
    with running_shop() as shop:
        ok = asyncio.run(
            mixed_load(shop, duration=args.duration, rate=args.rate, warm_up=args.warm_up)
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
