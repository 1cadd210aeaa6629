"""How fast an import writes: a generated JSON-lines file of new books, then the same file again
(every book unchanged), through import_file and the real BookService, as `bookshop catalogue
import` and the staff import page run it.

    uv run python benchmarks/catalogue_import.py                         # SQLite, 2,000 books
    uv run python benchmarks/catalogue_import.py --books 20000 \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres          # and Postgres

Prints the seconds and books a second of each run, and how often progress was reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
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


def jsonl(count: int) -> bytes:
    return "\n".join(
        json.dumps(
            {
                "isbn13": isbn13(n),
                "title": f"Pamphlet number {n} on the mass strike",
                "authors": [f"Author {n % 997}"],
                "price_pence": 300 + n % 2000,
                "subjects": ["politics", f"shelf {n % 50}"],
                "description": "A short history of the mass strike and what it teaches. " * 4,
                "stock": n % 4,
            }
        )
        for n in range(count)
    ).encode()


async def run(url: str, content: bytes, count: int, backend: str) -> None:
    upgrade("services.catalogue:migrations", url)
    db = Database(url)
    books = BookService(uow=UnitOfWorkFactory(db, models.outbox), db=db)
    for label in ("new books", "the same again"):
        reports: list[int] = []
        started = time.perf_counter()
        report = await import_file(
            content,
            format=ImportFormat.JSONL,
            service=books,
            actor="benchmark",
            on_progress=lambda done, total, told=reports: told.append(done),
        )
        seconds = time.perf_counter() - started
        print(
            f"{backend:<8} {label:<15} {count} books: {seconds:6.2f} s, {count / seconds:7.0f} books/s "
            f"(created {report.created}, unchanged {report.unchanged}; progress told {len(reports)} times)"
        )
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books", type=int, default=2000)
    parser.add_argument("--postgres", help="an admin URL; a scratch database is made beside it")
    args = parser.parse_args()
    content = jsonl(args.books)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'catalogue.db'}"
        asyncio.run(run(url, content, args.books, "SQLite"))
    if args.postgres:
        name = f"bench_import_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            asyncio.run(run(f"{base}/{name}", content, args.books, "Postgres"))
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
