"""One Celery round trip to catalogue.reserve_stock next to a bare no-op task.

    uv run python benchmarks/catalogue_reserve_roundtrip.py [--requests 300]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Starts a real catalogue worker (`bookshop worker catalogue --pool solo`) on a SQLite file (the
embedded default) or, with --postgres, on a fresh Postgres database made through that admin
URL; and, the same way, a worker whose only task replies at once. Sends requests one after
the other through CeleryPublisher.request (what checkout does) and prints p50/p99 of each and
the ratio of the medians. Target: the reserve under twice the no-op.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from uuid import uuid4

import msgspec
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.contracts import ReservationReply, ReserveStock, StockLine
from shared.messaging.celery_app import make_celery
from shared.messaging.message import Command
from shared.messaging.publisher import CeleryPublisher
from shared.migrations import sync_url, upgrade

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


async def timed(publisher: CeleryPublisher, command: Command, reply_type: type) -> float:
    started = time.perf_counter()
    await publisher.request(command, reply_type, timeout=30)
    return (time.perf_counter() - started) * 1000


def summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"{name:<28} p50 {statistics.median(ordered):6.2f} ms  p99 {p99:6.2f} ms"


async def measure(redis_url: str, count: int, isbn: str) -> tuple[list[float], list[float]]:
    """The two kinds of request taken in turns, so that both see the same machine."""

    def reserve() -> ReserveStock:
        return ReserveStock(
            order_id=uuid4(),
            lines=(StockLine(isbn13=isbn, quantity=1),),
            expires_at=datetime.now(UTC) + timedelta(minutes=30),
        )

    publisher = CeleryPublisher(make_celery("checkout", redis_url))
    noop: list[float] = []
    reserving: list[float] = []
    try:
        for _ in range(20):  # warm up: connections, prepared statements, the workers' pools
            await timed(publisher, Noop(), NoopReply)
            await timed(publisher, reserve(), ReservationReply)
        for _ in range(count):
            noop.append(await timed(publisher, Noop(), NoopReply))
            reserving.append(await timed(publisher, reserve(), ReservationReply))
    finally:
        await publisher.close()
    return noop, reserving


@contextlib.contextmanager
def catalogue_database(folder: str, postgres_admin_url: str | None) -> Iterator[str]:
    """A SQLite file in `folder`, or a Postgres database dropped afterwards."""
    if postgres_admin_url is None:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'catalogue.db'}"
        return
    name = f"bookshop_bench_{uuid4().hex[:8]}"
    admin = create_engine(sync_url(postgres_admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def plenty_of_one_book(url: str) -> str:
    """Enough copies of one demo book for every request to be held, so each does the full work."""
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        isbn = connection.execute(text("SELECT isbn13 FROM books LIMIT 1")).scalar_one()
        connection.execute(
            text("UPDATE stock SET on_hand = 1000000 WHERE isbn13 = :i"), {"i": isbn}
        )
    engine.dispose()
    return isbn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--postgres", help="an admin URL (asyncpg) to create a database with")
    parser.add_argument("--noop-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_worker:
        run_noop_worker(args.redis_url)
        return
    from services.catalogue.seed import seed_demo_catalogue
    from services.catalogue.settings import CatalogueSettings

    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    with (
        tempfile.TemporaryDirectory(prefix="catalogue-reserve-bench-") as folder,
        catalogue_database(folder, args.postgres) as url,
    ):
        upgrade("services.catalogue:migrations", url)
        asyncio.run(seed_demo_catalogue(CatalogueSettings(database_url=url), DEMO_BOOKS))
        isbn = plenty_of_one_book(url)
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
    print(f"catalogue on {'Postgres' if args.postgres else 'SQLite'}")
    print(summary("bare no-op task", noop))
    print(summary("catalogue.reserve_stock.v1", reserving))
    ratio = statistics.median(reserving) / statistics.median(noop)
    print(f"ratio of medians {ratio:.2f}  (target < 2)")


if __name__ == "__main__":
    main()
