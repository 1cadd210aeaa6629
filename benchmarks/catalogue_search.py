"""Search-as-you-type latency of the catalogue at 10k and 1M generated books.

    uv run python benchmarks/catalogue_search.py                       # SQLite, 10k and 1M
    uv run python benchmarks/catalogue_search.py --sizes 10000 \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres  # and Postgres

Builds each catalogue with the service's migrations, loads generated books (titles from a
Zipf-distributed vocabulary, so common words are common) straight into the tables with the
same search terms the service writes, then times BookService.search for a mix of queries as
people type them: title and author prefixes of every length, two-word queries, whole and
partial ISBNs, word prefixes. Prints p50/p95/p99/max per size and backend.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from services.catalogue import models
from services.catalogue.domain import TermKind, search_terms, words_mask
from services.catalogue.service import BookService
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import sync_url, upgrade

SEED = 20240611
QUERIES = 2000
WARM_UP = 300
SYLLABLES = [consonant + vowel for consonant in "bcdklmnprstvz" for vowel in "aeiou"]
COMMON = [
    "the",
    "of",
    "and",
    "a",
    "in",
    "to",
    "on",
    "for",
    "history",
    "revolution",
    "war",
    "state",
    "people",
    "capital",
    "world",
    "politics",
    "life",
    "new",
    "story",
    "art",
    "power",
    "work",
    "women",
    "class",
    "red",
    "theory",
    "freedom",
    "left",
    "labour",
    "america",
    "britain",
    "empire",
    "struggle",
    "social",
    "marx",
    "socialism",
    "guide",
    "book",
    "love",
    "city",
    "music",
    "our",
    "time",
    "age",
    "movement",
    "economy",
]
FIRST_NAMES = ["".join(random.Random(i).choices(SYLLABLES, k=2)).capitalize() for i in range(400)]


def isbn13(n: int) -> str:
    first12 = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


class Generator:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        words = list(COMMON)
        seen = set(words)
        while len(words) < 40_000:
            word = "".join(self.random.choices(SYLLABLES, k=self.random.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self.cumulative = list(
            itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(words)))
        )
        self.surnames = [
            "".join(self.random.choices(SYLLABLES, k=self.random.randint(2, 4))).capitalize()
            for _ in range(30_000)
        ]

    def title(self) -> str:
        count = self.random.randint(1, 6)
        words = self.random.choices(self.words, cum_weights=self.cumulative, k=count)
        return " ".join(words).capitalize()

    def author(self) -> str:
        return f"{self.random.choice(FIRST_NAMES)} {self.random.choice(self.surnames)}"

    def books(self, count: int) -> Iterator[tuple]:
        for n in range(count):
            authors = [self.author() for _ in range(1 if self.random.random() < 0.85 else 2)]
            subtitle = self.title() if self.random.random() < 0.3 else None
            on_hand = self.random.choice([0, 0, 0, 1, 2, 3, 5, 8, 12])
            yield isbn13(n), self.title(), subtitle, authors, on_hand


def rows(generator: Generator, count: int) -> Iterator[tuple[tuple, tuple, list[tuple]]]:
    now = datetime.now(UTC).isoformat(sep=" ")
    for isbn, title, subtitle, authors, on_hand in generator.books(count):
        book = (isbn, title, subtitle, authors, 999, now)
        out_of_stock = 0 if on_hand else 1
        found = search_terms(isbn13=isbn, title=title, subtitle=subtitle, authors=authors)
        mask = words_mask(term for kind, term in found if kind == TermKind.WORD)
        terms = [(isbn, int(kind), term, out_of_stock, mask) for kind, term in found]
        yield book, (isbn, on_hand, 0), terms


def load_sqlite(path: str, generator: Generator, count: int) -> None:
    import json

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("DROP INDEX ix_search_terms_lookup")
    batch_books, batch_stock, batch_terms = [], [], []

    def flush() -> None:
        connection.executemany(
            "INSERT INTO books (isbn13, title, subtitle, authors, publisher, year, format,"
            " price_pence, subjects, description, cover_url, reorder_point, version, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, NULL, NULL, NULL, ?, '[]', '', NULL, 1, 1, ?, ?)",
            batch_books,
        )
        connection.executemany("INSERT INTO stock VALUES (?, ?, ?)", batch_stock)
        connection.executemany(
            "INSERT INTO search_terms (isbn13, kind, term, out_of_stock, words_mask)"
            " VALUES (?, ?, ?, ?, ?)",
            batch_terms,
        )
        batch_books.clear(), batch_stock.clear(), batch_terms.clear()

    for book, stock, terms in rows(generator, count):
        isbn, title, subtitle, authors, price, now = book
        batch_books.append((isbn, title, subtitle, json.dumps(authors), price, now, now))
        batch_stock.append(stock)
        batch_terms.extend(terms)
        if len(batch_books) >= 20_000:
            flush()
    flush()
    connection.execute(
        "CREATE INDEX ix_search_terms_lookup ON search_terms (kind, out_of_stock, term, words_mask)"
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def load_postgres(url: str, count: int) -> None:
    import json

    conninfo = sync_url(url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("DROP INDEX ix_search_terms_lookup")
        with connection.transaction(), connection.cursor() as cursor:
            with cursor.copy(
                "COPY books (isbn13, title, subtitle, authors, price_pence, subjects, description,"
                " reorder_point, version, created_at, updated_at) FROM STDIN"
            ) as copy:
                for book, _, _ in rows(Generator(SEED), count):
                    isbn, title, subtitle, authors, price, now = book
                    copy.write_row(
                        (
                            isbn,
                            title,
                            subtitle,
                            json.dumps(authors),
                            price,
                            "[]",
                            "",
                            1,
                            1,
                            now,
                            now,
                        )
                    )
            with cursor.copy("COPY stock (isbn13, on_hand, reserved) FROM STDIN") as copy:
                for _, stock, _ in rows(Generator(SEED), count):
                    copy.write_row(stock)
            with cursor.copy(
                "COPY search_terms (isbn13, kind, term, out_of_stock, words_mask) FROM STDIN"
            ) as copy:
                for _, _, terms in rows(Generator(SEED), count):
                    for term in terms:
                        copy.write_row(term)
        connection.execute(
            "CREATE INDEX ix_search_terms_lookup ON search_terms"
            " (kind, out_of_stock, term, words_mask) INCLUDE (isbn13)"
        )
        connection.execute("VACUUM ANALYZE")


def queries(generator: Generator, count: int, total: int) -> list[str]:
    picker = random.Random(SEED + 1)
    replay = list(Generator(SEED).books(min(count, 50_000)))
    made: list[str] = []
    while len(made) < total:
        isbn, title, _subtitle, authors, _ = picker.choice(replay)
        kind = picker.random()
        if kind < 0.25:
            made.append(title[: picker.randint(1, len(title))])
        elif kind < 0.45:
            surname = authors[0].split()[-1]
            made.append(surname[: picker.randint(2, len(surname))])
        elif kind < 0.65:
            word = picker.choice(title.split())
            surname = authors[0].split()[-1]
            made.append(f"{word} {surname[: picker.randint(1, len(surname))]}")
        elif kind < 0.75:
            made.append(isbn)
        elif kind < 0.85:
            made.append(isbn[: picker.randint(6, 12)])
        else:
            word = picker.choice(generator.words[:5000])
            made.append(word[: picker.randint(2, len(word))])
    return made


async def measure(url: str, typed: list[str]) -> list[float]:
    db = Database(url)
    books = BookService(uow=UnitOfWorkFactory(db, models.outbox), db=db)
    for q in typed[:WARM_UP]:
        await books.search(q=q)
    timings = []
    for q in typed[WARM_UP:]:
        started = time.perf_counter()
        await books.search(q=q)
        timings.append((time.perf_counter() - started) * 1000)
    await db.dispose()
    return timings


def report(backend: str, size: int, timings: list[float], load_seconds: float) -> None:
    ordered = sorted(timings)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    print(
        f"{backend:<8} {size:>9,} books  loaded in {load_seconds:6.1f}s  "
        f"p50 {statistics.median(ordered):6.2f} ms  p95 {pct(95):6.2f} ms  "
        f"p99 {pct(99):6.2f} ms  max {ordered[-1]:6.2f} ms  ({len(ordered)} queries)",
        flush=True,
    )


def run_sqlite(size: int, folder: Path) -> None:
    path = folder / f"catalogue-{size}.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade("services.catalogue:migrations", url)
    generator = Generator(SEED)
    started = time.perf_counter()
    load_sqlite(str(path), generator, size)
    loaded = time.perf_counter() - started
    report("sqlite", size, asyncio.run(measure(url, queries(generator, size, QUERIES))), loaded)
    path.unlink()


def run_postgres(size: int, admin_url: str) -> None:
    name = f"bookshop_bench_{uuid.uuid4().hex[:8]}"
    admin = sync_url(admin_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade("services.catalogue:migrations", url)
        generator = Generator(SEED)
        started = time.perf_counter()
        load_postgres(url, size)
        loaded = time.perf_counter() - started
        typed = queries(generator, size, QUERIES)
        report("postgres", size, asyncio.run(measure(url, typed)), loaded)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--postgres", help="an admin URL (asyncpg) to create a database with")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="catalogue-bench-") as folder:
        for size in sizes:
            if not args.no_sqlite:
                run_sqlite(size, Path(folder))
            if args.postgres:
                run_postgres(size, args.postgres)


if __name__ == "__main__":
    main()
