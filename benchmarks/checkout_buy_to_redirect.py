"""Time from the reader's Buy to the Stripe redirect, at 1 and 20 concurrent readers.

    uv run python benchmarks/checkout_buy_to_redirect.py
    uv run python benchmarks/checkout_buy_to_redirect.py --requests 400 --concurrency 1 20

What one Buy does: price the line from checkout's read model, write the order, ask the
catalogue to reserve (a Celery round trip through Redis to a real catalogue worker, which
writes the hold in its own Postgres database), create the Checkout Session on the Stripe
stand-in, record it, answer 303. Everything runs as the compose file deploys it, each in its
own processes: checkout's web app (`bookshop serve checkout --workers 2`), two catalogue
workers (`bookshop worker catalogue --pool solo`), the stand-in (`python -m
services.stripe_standin`), Redis and Postgres. --web-processes and --catalogue-workers change
the counts.

Beside it, in the same run: the bare Celery round trip (a task that only answers, on its own
worker, awaited the way checkout awaits the reservation), and the reservation round trip alone.

Two ways of having 20 readers at once, both printed:
- "together": 20 readers press Buy at the same moment (readers arriving from one article), the
  next 20 once they all have their redirect, --requests in all. This is 20 concurrent readers.
- "back to back": 20 callers that press Buy again the moment they get an answer: the shop's
  saturated throughput, where latency is mostly the queue in front of the busiest process.
And "at 20/s": 20 readers on the shop who press Buy at random moments, 20 Buys a second in all
(--pace), the busiest hour of a popular article rather than a synchronised burst.
Prints p50/p99/max and throughput for each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import httpx
import msgspec
import psutil
import psycopg
import redis

from services.catalogue import models as catalogue_models
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from services.checkout import handlers as checkout_handlers
from services.checkout.models import outbox as checkout_outbox
from shared.contracts import BookChanged, ReservationReply, ReserveStock, StockLine
from shared.db import Database
from shared.messaging.celery_app import make_celery
from shared.messaging.message import Command
from shared.messaging.publisher import CeleryPublisher
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade

REPO = Path(__file__).resolve().parent.parent
ISBN = "9780745334530"
WARM_UP = 20
PING_TASK = "bench.ping.v1"


class Ping(Command, frozen=True, kw_only=True):
    """Benchmark only: a command whose handler does nothing but answer."""

    task: ClassVar[str] = PING_TASK
    replies: ClassVar[bool] = True


class Pong(msgspec.Struct, frozen=True):
    ok: bool


def run_ping_worker(redis_url: str) -> None:
    app = make_celery("bench", redis_url)

    @app.task(name=PING_TASK, ignore_result=False)
    def ping(payload: dict[str, Any]) -> dict[str, bool]:
        return {"ok": True}

    app.worker_main(
        [
            "worker",
            "--queues",
            "bench",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_database(admin_url: str, name: str) -> Iterator[str]:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str], ready: Callable[[], bool], log: Path
) -> Iterator[psutil.Process]:
    proc = subprocess.Popen(
        args, cwd=REPO, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[:4]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    return check


def logged(log: Path, text: str) -> Callable[[], bool]:
    return lambda: log.exists() and text in log.read_text(errors="replace")


async def timed(
    work: Callable[[], Awaitable[None]], *, requests: int, concurrency: int
) -> list[float]:
    """Latencies (ms) of `requests` calls made by `concurrency` concurrent callers."""
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def caller() -> None:
        for _ in remaining:
            started = time.perf_counter()
            await work()
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return latencies


def paced(rate: float) -> Callable[..., Awaitable[list[float]]]:
    """`concurrency` readers who each press Buy at random moments, `rate` Buys a second in all
    (Poisson arrivals): a shop with that many readers on it, rather than all pressing at once."""

    async def run(
        work: Callable[[], Awaitable[None]], *, requests: int, concurrency: int
    ) -> list[float]:
        latencies: list[float] = []
        remaining = iter(range(requests))
        pick = random.Random(1)

        async def reader() -> None:
            for _ in remaining:
                await asyncio.sleep(pick.expovariate(rate / concurrency))
                started = time.perf_counter()
                await work()
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(reader() for _ in range(concurrency)))
        return latencies

    return run


async def together(
    work: Callable[[], Awaitable[None]], *, requests: int, concurrency: int
) -> list[float]:
    """Latencies (ms) of `concurrency` calls started at once, again until `requests` are done."""
    latencies: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        await work()
        latencies.append((time.perf_counter() - started) * 1000)

    while len(latencies) < requests:
        await asyncio.gather(*(one() for _ in range(min(concurrency, requests - len(latencies)))))
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU time of processes and their children (a prefork worker's pool)."""
    total = 0.0
    for process in processes:
        for each in (process, *process.children(recursive=True)):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = each.cpu_times()
                total += times.user + times.system
    return total


def servers() -> dict[str, list[psutil.Process]]:
    """The Postgres and Redis servers on this machine, to count their share of a Buy's CPU."""
    found: dict[str, list[psutil.Process]] = {}
    for each in psutil.process_iter(["name", "ppid"]):
        name = each.info["name"] or ""
        with contextlib.suppress(psutil.Error):
            if name == "redis-server":
                found.setdefault("redis", [each])
            elif name.startswith("postgres") and psutil.Process(each.info["ppid"]).name() != name:
                found.setdefault("postgres", [each])
    return found


def report(name: str, concurrency: int, latencies: list[float], wall: float) -> None:
    print(
        f"{name:<36} c={concurrency:<3} n={len(latencies):<5} "
        f"p50={statistics.median(latencies):7.1f} ms  p99={percentile(latencies, 99):7.1f} ms  "
        f"max={max(latencies):7.1f} ms  {len(latencies) / wall:6.1f}/s"
    )


async def seed(checkout_url: str, catalogue_url: str) -> None:
    catalogue_db = Database(catalogue_url)
    await BookService(
        uow=UnitOfWorkFactory(catalogue_db, catalogue_models.outbox), db=catalogue_db
    ).upsert_books(
        books=[
            BookCreate(
                isbn13=ISBN,
                title="Imperialism and Global Political Economy",
                price_pence=1999,
                stock=100_000,
            )
        ],
        actor="benchmark",
    )
    await catalogue_db.dispose()
    checkout_db = Database(checkout_url)
    async with UnitOfWorkFactory(checkout_db, checkout_outbox)() as uow:
        await checkout_handlers.on_book_changed(
            BookChanged(
                isbn13=ISBN,
                version=1,
                title="Imperialism and Global Political Economy",
                price_pence=1999,
                available=100_000,
            ),
            uow=uow,
        )
    await checkout_db.dispose()


async def measure(
    args: argparse.Namespace,
    checkout_base: str,
    redis_url: str,
    processes: dict[str, list[psutil.Process]],
) -> None:
    publisher = CeleryPublisher(make_celery("checkout", redis_url))
    # aiohttp rather than httpx: the readers' browsers are not on the shop's machine, so the
    # stand-in readers should take as little of its CPU as they can (httpx took 2-3x more).
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30),
        connector=aiohttp.TCPConnector(limit=64),
    ) as http:

        async def buy() -> None:
            async with http.post(
                f"{checkout_base}/checkout/buy",
                data={"isbn13": ISBN, "quantity": "1"},
                allow_redirects=False,
            ) as response:
                if response.status != 303 or "/pay/cs_" not in response.headers["location"]:
                    text = await response.text()
                    raise RuntimeError(f"Buy failed: {response.status} {text[:300]}")

        async def ping() -> None:
            await publisher.request(Ping(), Pong, timeout=10)

        async def reserve() -> None:
            reply = await publisher.request(
                ReserveStock(
                    order_id=uuid.uuid4(),
                    lines=(StockLine(isbn13=ISBN, quantity=1),),
                    expires_at=datetime.now(UTC) + timedelta(minutes=35),
                ),
                ReservationReply,
                timeout=10,
            )
            if not reply.ok:
                raise RuntimeError("reservation refused")

        # The ping worker may still be starting: its first answer can take a while.
        await publisher.request(Ping(), Pong, timeout=60)
        for name, work in (
            ("bare Celery round trip", ping),
            ("reservation round trip", reserve),
            ("Buy -> Stripe redirect", buy),
        ):
            if args.only and work.__name__ not in args.only:
                continue
            await timed(work, requests=WARM_UP, concurrency=1)
            for concurrency in args.concurrency:
                ways = (
                    [("", timed)]
                    if concurrency == 1
                    else [
                        (" together", together),
                        (" back to back", timed),
                        (f" at {args.pace:g}/s", paced(args.pace)),
                    ]
                )
                for label, way in ways:
                    # One untimed round first: the pools open the connections this many readers
                    # need once, and keep them (a shop's first burst after starting pays that).
                    await way(work, requests=concurrency, concurrency=concurrency)
                    cpu_before = {key: cpu_seconds(p) for key, p in processes.items()}
                    client_before = time.process_time()
                    started = time.perf_counter()
                    latencies = await way(work, requests=args.requests, concurrency=concurrency)
                    report(name + label, concurrency, latencies, time.perf_counter() - started)
                    if work is buy:
                        # Where a Buy's CPU goes says what bounds the throughput on 2 cores.
                        print(
                            "    CPU per Buy: "
                            + ", ".join(
                                f"{key} {1000 * (cpu_seconds(p) - cpu_before[key]) / len(latencies):.1f} ms"
                                for key, p in processes.items()
                            )
                            + f", this client {1000 * (time.process_time() - client_before) / len(latencies):.1f} ms"
                        )
    await publisher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BOOKSHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--pace", type=float, default=20, help="Buys a second in all for the paced readers"
    )
    parser.add_argument(
        "--only", nargs="+", choices=["ping", "reserve", "buy"], help="measure these alone"
    )
    parser.add_argument(
        "--catalogue-workers",
        type=int,
        default=2,
        help="catalogue worker processes (the compose file: 2, each --pool solo)",
    )
    parser.add_argument("--catalogue-concurrency", type=int, default=1)
    parser.add_argument(
        "--web-processes", type=int, default=2, help="checkout web processes (the compose file: 2)"
    )
    parser.add_argument("--catalogue-pool", default="solo", choices=["prefork", "solo", "threads"])
    args = parser.parse_args()

    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"checkout-bench-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    redis.Redis.from_url(args.redis).flushdb()
    suffix = uuid.uuid4().hex[:8]
    with (
        postgres_database(args.postgres, f"bench_checkout_{suffix}") as checkout_url,
        postgres_database(args.postgres, f"bench_catalogue_{suffix}") as catalogue_url,
    ):
        upgrade("services.checkout:migrations", checkout_url)
        upgrade("services.catalogue:migrations", catalogue_url)
        asyncio.run(seed(checkout_url, catalogue_url))
        standin_port, checkout_port = free_port(), free_port()
        standin = f"http://127.0.0.1:{standin_port}"
        checkout = f"http://127.0.0.1:{checkout_port}"
        env = {
            "REDIS_URL": args.redis,
            "CATALOGUE_DATABASE_URL": catalogue_url,
            "CHECKOUT_DATABASE_URL": checkout_url,
            "CHECKOUT_STRIPE_API_KEY": "sk_test_benchmark",
            "CHECKOUT_STRIPE_API_BASE": standin,
            "CHECKOUT_PUBLIC_URL": checkout,
            "STRIPE_STANDIN_WEBHOOK_URLS": "[]",
        }
        ping_worker = multiprocessing.get_context("spawn").Process(
            target=run_ping_worker, args=(args.redis,), daemon=True
        )
        ping_worker.start()
        with (
            contextlib.ExitStack() as catalogue_workers,
            process(
                [sys.executable, "-m", "services.stripe_standin", "--port", str(standin_port)],
                env,
                answers(f"{standin}/_standin/faults"),
                logs / "standin.log",
            ) as standin_process,
            process(
                [
                    sys.executable,
                    "-m",
                    "services.cli",
                    "serve",
                    "checkout",
                    "--port",
                    str(checkout_port),
                    "--workers",
                    str(args.web_processes),
                ],
                env,
                answers(f"{checkout}/health/checkout"),
                logs / "checkout.log",
            ) as checkout_process,
        ):
            catalogue_processes = [
                catalogue_workers.enter_context(
                    process(
                        [
                            sys.executable,
                            "-m",
                            "services.cli",
                            "worker",
                            "catalogue",
                            "--pool",
                            args.catalogue_pool,
                            "--concurrency",
                            str(args.catalogue_concurrency),
                            "--loglevel",
                            "INFO",
                        ],
                        env,
                        logged(logs / f"catalogue-{number}.log", "ready"),
                        logs / f"catalogue-{number}.log",
                    )
                )
                for number in range(args.catalogue_workers)
            ]
            print(
                f"{os.cpu_count()} cores; Postgres, Redis, checkout web ({args.web_processes} "
                "processes), catalogue "
                f"workers ({args.catalogue_workers} x {args.catalogue_pool} x"
                f"{args.catalogue_concurrency}), stand-in, all on this machine"
            )
            processes = {
                "checkout web": [checkout_process],
                "catalogue worker": catalogue_processes,
                "stand-in": [standin_process],
                **servers(),
            }
            asyncio.run(measure(args, checkout, args.redis, processes))
        ping_worker.terminate()
    redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
