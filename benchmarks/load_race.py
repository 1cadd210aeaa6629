"""200 readers racing for the last 20 copies of one book: exactly 20 paid orders, no oversell.

    uv run python benchmarks/load_race.py
    uv run python benchmarks/load_race.py --readers 200 --copies 20

Runs the whole shop as `bookshop up` does (one web process behind one address, a worker per
service and beat), on a Redis of its own and fresh Postgres databases, on loopback only. Stock
staff add the book with 20 copies; 200 readers open its page and press Buy at once; each one
sent to Stripe (the stand-in) pays; the webhooks mark orders paid. A reader told 503 (the shop
busy) presses Buy again after the Retry-After wait, three presses at most, as a person would.
Then it prints what happened: every press's answer, each reader's outcome, paid orders, commits
sent, and the catalogue's counters and ledger; exactly the copies sold is the only pass.

`running_shop()` is shared with load_mixed.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis
from sqlalchemy import func, select

from services.catalogue import models as cat
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from services.checkout import models as co
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory

REPO = Path(__file__).resolve().parent.parent
ADMIN_POSTGRES_URL = os.environ.get(
    "BOOKSHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SERVICES = ("catalogue", "checkout", "recommendation")


def isbn13(n: int) -> str:
    """A valid ISBN-13 of the 979 range no real book of the demo catalogue uses."""
    first12 = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


RACE_ISBN = isbn13(500)
STAFF_USER, STAFF_PASSWORD = "load-staff", "a long load-test password"
# The stand-in's Pay button, pressed with the shipping address Stripe's page asks a web order for.
PAY_BY_CARD = {
    "action": "pay",
    "shipping_name": "Load Reader",
    "shipping_line1": "1 Red Lane",
    "shipping_city": "London",
    "shipping_postal_code": "N1 1AA",
    "shipping_country": "GB",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningShop:
    url: str
    database_urls: dict[str, str]
    up: subprocess.Popen[bytes]
    folder: Path

    def processes(self) -> dict[str, int]:
        """Each process of the shop by name (web, each worker, beat): its pid."""
        import psutil

        found = {"web (gateway, all three apps)": self.up.pid}
        for child in psutil.Process(self.up.pid).children(recursive=True):
            command = " ".join(child.cmdline())
            match = re.search(r"services\.cli (worker \w+|beat)", command)
            if match:
                found[match.group(1)] = child.pid
        return found


@contextlib.contextmanager
def running_shop(*, ready_timeout: float = 180.0) -> Iterator[RunningShop]:
    """`bookshop up` on a Redis of its own and one fresh Postgres database per service."""
    folder = Path(tempfile.mkdtemp(prefix="bookshop-load-"))
    redis_port, web_port = free_port(), free_port()
    redis_server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    names = {service: f"bookshop_load_{service}_{uuid.uuid4().hex[:8]}" for service in SERVICES}
    base = ADMIN_POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    urls = {service: f"{base}/{name}" for service, name in names.items()}
    up: subprocess.Popen[bytes] | None = None
    try:
        with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'CREATE DATABASE "{name}"')
        env = {
            **os.environ,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "BOOKSHOP_DATA_DIR": str(folder),
            "BOOKSHOP_LOG_LEVEL": "WARNING",
            **{f"{service.upper()}_DATABASE_URL": url for service, url in urls.items()},
        }
        wait_for_redis(redis_port)
        staff_add = ["staff", "add", STAFF_USER, "--role", "stock", "--password-stdin"]
        subprocess.run(
            [sys.executable, "-m", "services.cli", *staff_add],
            input=f"{STAFF_PASSWORD}\n".encode(),
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        up = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--port", str(web_port)],
            cwd=REPO,
            env=env,
            stdout=(folder / "up.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{web_port}"
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the shop did not start:\n{(folder / 'up.log').read_text()}")
            time.sleep(0.5)
        yield RunningShop(url=url, database_urls=urls, up=up, folder=folder)
    finally:
        if up is not None and up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                up.kill()
        redis_server.terminate()
        redis_server.wait(timeout=10)
        with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


def wait_for_redis(port: int) -> None:
    client = redis.Redis(port=port, socket_connect_timeout=1)
    for _ in range(100):
        with contextlib.suppress(redis.RedisError):
            if client.ping():
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start on port {port}")


async def add_book(shop: RunningShop, isbn: str, *, copies: int, title: str) -> None:
    """Stock staff add the book; wait until checkout's copy of the catalogue has it."""
    catalogue = Database(shop.database_urls["catalogue"])
    checkout = Database(shop.database_urls["checkout"])
    try:
        books = BookService(uow=UnitOfWorkFactory(catalogue, cat.outbox), db=catalogue)
        await books.upsert_books(
            books=[BookCreate(isbn13=isbn, title=title, price_pence=1499, stock=copies)],
            actor="load test",
        )
        deadline = time.monotonic() + 60
        while True:
            async with checkout.reading() as session:
                book = await session.get(co.Book, isbn)
            if book is not None and book.available == copies:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("checkout never heard of the book")
            await asyncio.sleep(0.2)
    finally:
        await catalogue.dispose()
        await checkout.dispose()


# A reader told 503 (the shop busy, or no stock answer in time) waits as the Retry-After header
# asks, plus up to as long again (people do not all press at the same instant), then presses
# Buy again; after this many presses in all they give up.
BUY_ATTEMPTS = 3
LONGEST_WAIT_SECONDS = 10.0
SETTLE_SECONDS = 90.0
UNAVAILABLE_REASONS = {
    "could not check our stock": "no stock answer within the bounded wait",
    "too busy": "database pool exhausted",
    "cannot reach its database": "database unreachable",
    "payment provider": "Stripe unreachable",
}


def answer_of(response: httpx.Response) -> str:
    """What the reader was told, in a few words."""
    text = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
    if response.status_code == 303:
        return "303 sent to pay"
    if response.status_code == 409 and "only 0 left" in text.lower():
        return "409 sold out (only 0 left)"
    if response.status_code == 503:
        for phrase, reason in UNAVAILABLE_REASONS.items():
            if phrase in text:
                return f"503 {reason}"
    return f"{response.status_code} {text[:80]}"


async def race(
    shop: RunningShop, *, readers: int, copies: int, attempts: int = BUY_ATTEMPTS
) -> dict[str, object]:
    await add_book(shop, RACE_ISBN, copies=copies, title="The Last Copies")
    limits = httpx.Limits(
        max_connections=readers, max_keepalive_connections=readers, keepalive_expiry=2
    )
    async with httpx.AsyncClient(base_url=shop.url, timeout=60, limits=limits) as http:
        start = asyncio.Event()
        pages: Counter[int] = Counter()
        told: dict[int, Counter[str]] = {attempt: Counter() for attempt in range(1, attempts + 1)}
        outcomes: Counter[str] = Counter()
        buy_seconds: list[float] = []

        async def reader(number: int) -> str | None:
            rng = random.Random(number)
            page = await http.get(f"/books/{RACE_ISBN}")
            pages[page.status_code] += 1
            await start.wait()
            for attempt in range(1, attempts + 1):
                started = time.monotonic()
                bought = await http.post(
                    "/checkout/buy",
                    data={"isbn13": RACE_ISBN, "quantity": "1"},
                    headers={"Accept": "text/html"},
                )
                buy_seconds.append(time.monotonic() - started)
                answer = answer_of(bought)
                told[attempt][answer] += 1
                if bought.status_code == 303:
                    outcomes[f"sent to pay (press {attempt})"] += 1
                    return bought.headers["location"]
                if bought.status_code != 503:
                    outcomes[answer] += 1
                    return None
                if attempt < attempts:
                    asked = float(bought.headers.get("Retry-After") or 5)
                    await asyncio.sleep(min(asked, LONGEST_WAIT_SECONDS) * (1 + rng.random()))
            outcomes[f"gave up after {attempts} answers of 503"] += 1
            return None

        tasks = [asyncio.create_task(reader(number)) for number in range(readers)]
        await asyncio.sleep(1.0)
        race_started = time.monotonic()
        start.set()
        payment_urls = [url for url in await asyncio.gather(*tasks) if url]
        race_seconds = time.monotonic() - race_started
        paid_redirects = await asyncio.gather(
            *(http.post(url, data=PAY_BY_CARD) for url in payment_urls)
        )
        pay_answers = Counter(answer.status_code for answer in paid_redirects)

    checkout = Database(shop.database_urls["checkout"])
    catalogue = Database(shop.database_urls["catalogue"])
    try:
        # Until every payment is an order paid and sold, and nothing is held for a closed order.
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            async with checkout.reading() as session:
                statuses = Counter(
                    status
                    for (status,) in await session.execute(
                        select(co.Order.status)
                        .join(co.OrderLine)
                        .where(co.OrderLine.isbn13 == RACE_ISBN)
                    )
                )
                commits_sent = await session.scalar(
                    select(func.count())
                    .select_from(co.outbox)
                    .where(co.outbox.c.kind == "catalogue.commit_reservation.v1")
                )
            async with catalogue.reading() as session:
                stock = await session.get(cat.Stock, RACE_ISBN)
                sold = await session.scalar(
                    select(func.count()).where(
                        cat.LedgerEntry.isbn13 == RACE_ISBN, cat.LedgerEntry.kind == "sold"
                    )
                )
            assert stock is not None
            settled = (
                statuses["paid"] == pay_answers[303] and sold == statuses["paid"]
            ) and stock.reserved == 0
            if settled or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await checkout.dispose()
        await catalogue.dispose()
    return {
        "readers": readers,
        "copies": copies,
        "book page answers": dict(pages),
        **{f"Buy press {attempt}": dict(answers) for attempt, answers in told.items() if answers},
        "readers' outcome": dict(outcomes),
        "Buy p50 / max": f"{percentile(buy_seconds, 50):.2f} s / {max(buy_seconds):.2f} s",
        "all answered in": f"{race_seconds:.1f} s (retries' waits included)",
        "Stripe pay": dict(pay_answers),
        "orders": dict(statuses),
        "paid orders": statuses["paid"],
        # More commits than paid orders are re-sends of commits the catalogue had not confirmed.
        "commits sent": f"{commits_sent} for {statuses['paid']} paid orders",
        "catalogue": f"on hand {stock.on_hand}, reserved {stock.reserved}, sold {sold}",
        "settled": "yes" if settled else f"no, not within {SETTLE_SECONDS:.0f} s",
        "oversold": stock.on_hand < 0 or sold > copies,
        "on hand + sold = copies": stock.on_hand + sold == copies,
        "one sale per paid order": sold == statuses["paid"],
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def verdict(figures: dict[str, object], copies: int) -> tuple[bool, str]:
    if figures["oversold"]:
        return False, "FAILED: oversold"
    if not (figures["on hand + sold = copies"] and figures["one sale per paid order"]):
        return False, "FAILED: the catalogue's counters or ledger disagree with the paid orders"
    if figures["paid orders"] == copies:
        return True, "exactly the copies sold, no oversell"
    return False, (
        f"INCONCLUSIVE: no oversell, but only {figures['paid orders']} of {copies} copies sold "
        "(readers gave up after 503s, or the shop did not settle: see above)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument(
        "--attempts", type=int, default=BUY_ATTEMPTS, help="Buy presses per reader, at most"
    )
    args = parser.parse_args()
    with running_shop() as shop:
        figures = asyncio.run(
            race(shop, readers=args.readers, copies=args.copies, attempts=args.attempts)
        )
    for name, value in figures.items():
        print(f"{name:>24}: {value}")
    print(f"{'load average':>24}: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok, said = verdict(figures, args.copies)
    print("RESULT:", said)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
