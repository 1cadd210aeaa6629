"""One Celery round trip to catalogue.reserve_stock next to a bare no-op task.

    uv run python benchmarks/catalogue_reserve_roundtrip.py [--requests 300]

Starts a real catalogue worker (`bookshop worker catalogue --pool solo`, SQLite) and, the same
way, a worker whose only task replies at once; sends requests one after the other through
CeleryPublisher.request (what checkout does) and prints p50/p99 of each and the ratio of the
medians. Target: the reserve under twice the no-op.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from uuid import uuid4

import msgspec
import redis

from shared.contracts import ReservationReply, ReserveStock, StockLine
from shared.messaging.celery_app import make_celery
from shared.messaging.message import Command
from shared.messaging.publisher import CeleryPublisher

REPO = Path(__file__).resolve().parent.parent
DEMO_BOOKS = REPO / "services" / "catalogue" / "demo" / "books.jsonl"
NOOP_QUEUE = "benchnoop"


class Noop(Command, frozen=True, kw_only=True):
    task: ClassVar[str] = f"{NOOP_QUEUE}.noop.v1"
    replies: ClassVar[bool] = True


class NoopReply(msgspec.Struct, frozen=True):
    ok: bool


def run_noop_worker(redis_url: str) -> None:
    app = make_celery(NOOP_QUEUE, redis_url)

    def noop(payload: dict[str, object]) -> dict[str, bool]:
        return {"ok": True}

    app.task(noop, name=Noop.task, ignore_result=False)
    app.worker_main(
        [
            "worker",
            "--queues",
            NOOP_QUEUE,
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{NOOP_QUEUE}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited:\n{log.read_text()}")
        if "ready." in log.read_text(errors="replace"):
            return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"worker not ready:\n{log.read_text()}")


async def time_requests(publisher: CeleryPublisher, make, reply_type, count: int) -> list[float]:
    for _ in range(20):  # warm up: connections, prepared statements, the worker's pool
        await publisher.request(make(), reply_type, timeout=30)
    timings = []
    for _ in range(count):
        command = make()
        started = time.perf_counter()
        await publisher.request(command, reply_type, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"{name:<28} p50 {statistics.median(ordered):6.2f} ms  p99 {p99:6.2f} ms"


async def measure(redis_url: str, count: int, isbn: str) -> tuple[list[float], list[float]]:
    publisher = CeleryPublisher(make_celery("checkout", redis_url))
    try:
        noop = await time_requests(publisher, lambda: Noop(), NoopReply, count)

        def reserve() -> ReserveStock:
            return ReserveStock(
                order_id=uuid4(),
                lines=(StockLine(isbn13=isbn, quantity=1),),
                expires_at=datetime.now(UTC) + timedelta(minutes=30),
            )

        reserving = await time_requests(publisher, reserve, ReservationReply, count)
    finally:
        await publisher.close()
    return noop, reserving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--noop-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_worker:
        run_noop_worker(args.redis_url)
        return
    from services.catalogue.seed import seed_demo_catalogue
    from services.catalogue.settings import CatalogueSettings
    from shared.migrations import upgrade

    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    with tempfile.TemporaryDirectory(prefix="catalogue-reserve-bench-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'catalogue.db'}"
        upgrade("services.catalogue:migrations", url)
        asyncio.run(seed_demo_catalogue(CatalogueSettings(database_url=url), DEMO_BOOKS))
        # Enough copies for every request to be held, so each one does the full work.
        from sqlalchemy import create_engine, text

        from shared.migrations import sync_url

        engine = create_engine(sync_url(url))
        with engine.begin() as connection:
            isbn = connection.execute(text("SELECT isbn13 FROM books LIMIT 1")).scalar_one()
            connection.execute(
                text("UPDATE stock SET on_hand = 1000000 WHERE isbn13 = :i"), {"i": isbn}
            )
        engine.dispose()
        env = {"CATALOGUE_DATABASE_URL": url, "REDIS_URL": args.redis_url}
        workers = [
            start(
                [sys.executable, "-m", "services.cli", "worker", "catalogue", "--pool", "solo"],
                env,
                Path(folder) / "catalogue.log",
            ),
            start(
                [sys.executable, __file__, "--noop-worker", "--redis-url", args.redis_url],
                env,
                Path(folder) / "noop.log",
            ),
        ]
        try:
            noop, reserving = asyncio.run(measure(args.redis_url, args.requests, isbn))
        except Exception:
            print((Path(folder) / "catalogue.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
            broker.flushdb()
    print(summary("bare no-op task", noop))
    print(summary("catalogue.reserve_stock.v1", reserving))
    ratio = statistics.median(reserving) / statistics.median(noop)
    print(f"ratio of medians {ratio:.2f}  (target < 2)")


if __name__ == "__main__":
    main()
