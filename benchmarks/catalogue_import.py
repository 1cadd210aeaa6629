"""How fast an import writes: a generated JSON-lines file of new books, the same file again
(every book unchanged), then again with every price changed, through import_file and the real
BookService, as `bookshop catalogue import` and the staff import page run it.

    uv run python benchmarks/catalogue_import.py                         # SQLite, 2,000 books
    uv run python benchmarks/catalogue_import.py --books 5000            # the QA case
    uv run python benchmarks/catalogue_import.py --books 20000 \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres          # and Postgres

Prints the seconds and books a second of each run, how often progress was reported, and (SQLite)
the longest a reservation-like write waited while the import ran: a second connection, as the
catalogue's worker would hold, writes one stock row every 20 ms in its own short transaction.
A reader's reservation gives up after 3 s, so that wait must stay well under it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from services.catalogue import models
from services.catalogue.imports.formats import ImportFormat
from services.catalogue.imports.runner import import_file
from services.catalogue.service import BookService
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade


def isbn13(n: int) -> str:
    first12 = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def jsonl(count: int, *, price_rise: int = 0) -> bytes:
    return "\n".join(
        json.dumps(
            {
                "isbn13": isbn13(n),
                "title": f"Pamphlet number {n} on the mass strike",
                "authors": [f"Author {n % 997}"],
                "price_pence": 300 + n % 2000 + price_rise,
                "subjects": ["politics", f"shelf {n % 50}"],
                "description": "A short history of the mass strike and what it teaches. " * 4,
                "stock": n % 4,
            }
        )
        for n in range(count)
    ).encode()


class ConcurrentWriter(threading.Thread):
    """Writes one stock row in a short BEGIN IMMEDIATE transaction every 20 ms, on its own
    connection, and keeps the longest any write waited for the lock (its BEGIN)."""

    def __init__(self, path: Path, isbn: str) -> None:
        super().__init__(daemon=True)
        self._path, self._isbn = path, isbn
        self._stopping = threading.Event()
        self.longest = 0.0
        self.writes = 0

    def run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=120)
        connection.execute("PRAGMA synchronous=NORMAL")  # as the catalogue's own connections
        try:
            while not self._stopping.wait(0.02):
                started = time.perf_counter()
                connection.execute("BEGIN IMMEDIATE")
                self.longest = max(self.longest, time.perf_counter() - started)
                connection.execute(
                    "UPDATE stock SET reserved = reserved WHERE isbn13 = ?", (self._isbn,)
                )
                connection.execute("COMMIT")
                self.writes += 1
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join()


async def run(url: str, count: int, backend: str, sqlite_path: Path | None = None) -> None:
    upgrade("services.catalogue:migrations", url)
    db = Database(url)
    books = BookService(uow=UnitOfWorkFactory(db, models.outbox), db=db)
    runs = (
        ("new books", jsonl(count)),
        ("the same again", jsonl(count)),
        ("prices changed", jsonl(count, price_rise=1)),
    )
    for label, content in runs:
        reports: list[int] = []
        writer = None
        if sqlite_path is not None:
            # In the first run the row is not there yet: the UPDATE still waits for the lock.
            writer = ConcurrentWriter(sqlite_path, isbn13(0))
            writer.start()
        started = time.perf_counter()
        report = await import_file(
            content,
            format=ImportFormat.JSONL,
            service=books,
            actor="benchmark",
            on_progress=lambda done, total, told=reports: told.append(done),
        )
        seconds = time.perf_counter() - started
        waited = ""
        if writer is not None:
            writer.stop()
            waited = f"; a concurrent write waited at most {writer.longest * 1000:.0f} ms"
        print(
            f"{backend:<8} {label:<15} {count} books: {seconds:6.2f} s, {count / seconds:7.0f} books/s "
            f"(created {report.created}, updated {report.updated}, unchanged {report.unchanged}; "
            f"progress told {len(reports)} times{waited})"
        )
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books", type=int, default=2000)
    parser.add_argument("--postgres", help="an admin URL; a scratch database is made beside it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalogue.db"
        asyncio.run(run(f"sqlite+aiosqlite:///{path}", args.books, "SQLite", path))
    if args.postgres:
        name = f"bench_import_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            asyncio.run(run(f"{base}/{name}", args.books, "Postgres"))
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
