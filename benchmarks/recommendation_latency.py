"""Recommendation latency and index cost on a large generated catalogue.

    uv run python benchmarks/recommendation_latency.py [--books 100000] [--rounds 3]
        [--profile fast|full|both]

The catalogue is the real demo catalogue plus books made deterministically by
recombining its fields (title halves, subtitles, authors' given names and surnames,
description sentences, subjects), so vocabulary and lengths stay realistic. The public
articles are ranked once with nothing cached ("cold": every candidate's MiniLM vector is
computed on first sight) and then `--rounds` more times ("warm": the books' vectors are
kept). Warm rankings are timed twice per round: as a new article (the ranker's kept
article vectors dropped first, so MiniLM reads the article) and as the same article
again (as after a stock change). Both profiles are measured: the full pipeline (MiniLM
re-rank) and the fast one (no MiniLM). CPU time is printed beside wall time because the
machine is shared: it says what a ranking costs whatever else runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.recommendation.books import IndexedBook, read_books
from services.recommendation.evaluation import Report, clean_input, read_articles
from services.recommendation.ranking import Ranker
from services.recommendation.ranking_config import RankerConfig
from services.recommendation.semantic import (
    minilm_article_embedder,
    minilm_embedder,
    wordllama_embedder,
)
from shared.gc_freeze import freeze_long_lived_objects

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def isbn13(n: int) -> str:
    first12 = f"9791{n:08d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def generated_catalogue(real: list[IndexedBook], size: int, seed: int = 7) -> list[IndexedBook]:
    rng = random.Random(seed)
    given = sorted({a.split()[0] for b in real for a in b.authors if len(a.split()) > 1})
    surnames = sorted({a.split()[-1] for b in real for a in b.authors})
    sentences = [s.strip() for b in real for s in b.description.split(". ") if s.strip()]
    books = list(real)
    for n in range(size - len(real)):
        a, b, c = rng.choice(real), rng.choice(real), rng.choice(real)
        head, tail = a.title.split(), b.title.split()
        title = " ".join(head[: max(1, len(head) // 2)] + tail[len(tail) // 2 :])
        authors = tuple(
            f"{rng.choice(given)} {rng.choice(surnames)}" for _ in range(rng.choice((1, 1, 2)))
        )
        description = ". ".join(rng.sample(sentences, 2)).rstrip(".") + "."
        books.append(
            IndexedBook(
                isbn13=isbn13(n),
                title=title,
                subtitle=c.subtitle,
                authors=authors,
                publisher=c.publisher,
                year=rng.randint(1950, 2024),
                format=rng.choice(("paperback", "hardback")),
                price_pence=rng.randrange(499, 3500, 100) + 99,
                subjects=tuple(dict.fromkeys((*a.subjects[:2], *b.subjects[:1]))),
                description=description,
                available=rng.choice((0, 0, 1, 2, 5, 12)),
            )
        )
    return books


class Timings:
    """Wall and CPU milliseconds of each timed call."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    @contextmanager
    def timed(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall.append((time.perf_counter() - wall) * 1000)
        self.cpu.append((time.process_time() - cpu) * 1000)

    def print(self, label: str) -> None:
        print(
            f"{label}: p50 {statistics.median(self.wall):.1f} ms, "
            f"p99 {percentile(self.wall, 0.99):.1f} ms over {len(self.wall)} runs "
            f"(CPU p50 {statistics.median(self.cpu):.1f}, p99 {percentile(self.cpu, 0.99):.1f}); "
            f"load average {os.getloadavg()[0]:.1f}"
        )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(name: str, books: list[IndexedBook], config: RankerConfig, rounds: int) -> None:
    articles = read_articles(DATA / "articles-public.jsonl")
    inputs = [clean_input(a) for a in articles]
    gc.collect()
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    ranker = Ranker(books, config=config)
    # As the service's LiveIndex does after a build: the collector leaves the index alone.
    freeze_long_lived_objects()
    build = time.perf_counter() - started
    print(f"\n== {name}: {len(books):,} books")
    print(
        f"index build: {build:.1f} s; peak RSS {peak_rss_mib():.0f} MiB (before {rss_before:.0f}); "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    cold, new, again = Timings(), Timings(), Timings()
    report = Report(name)
    for article, text in zip(articles, inputs, strict=True):
        with cold.timed():
            ranked = ranker.recommend(text, k=10)
        report.add(article.id, [r.isbn13 for r in ranked], article.grades())
    for _ in range(rounds):
        for text in inputs:
            ranker.forget_articles()
            with new.timed():
                ranker.recommend(text, k=10)
            with again.timed():
                ranker.recommend(text, k=10)
    cold.print("cold (first sight of article and books)")
    new.print("warm, new article")
    again.print("warm, same article again")
    summary = report.summary()
    print(
        f"quality on the big catalogue: nDCG@5 {summary['ndcg@5']:.3f}, "
        f"recall@10 {summary['recall@10']:.3f}, grade-3 first {summary['grade3_first']:.3f}"
    )

    started = time.perf_counter()
    changed = books[len(books) // 2]
    for available in (0, 3):
        ranker.upsert(IndexedBook(**{**_fields(changed), "available": available}))
    stock_ms = (time.perf_counter() - started) * 1000 / 2
    started = time.perf_counter()
    ranker.upsert(IndexedBook(**{**_fields(changed), "description": "A new description."}))
    text_ms = (time.perf_counter() - started) * 1000
    print(f"upsert: stock change {stock_ms:.2f} ms, description change {text_ms:.1f} ms")


def _fields(book: IndexedBook) -> dict[str, object]:
    return {f: getattr(book, f) for f in book.__struct_fields__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=("fast", "full", "both"), default="both")
    args = parser.parse_args()

    started = time.perf_counter()
    wordllama_embedder()
    minilm_embedder()
    minilm_article_embedder()
    print(f"models loaded in {time.perf_counter() - started:.1f} s")
    real = read_books(DATA / "books.jsonl")
    books = generated_catalogue(real, args.books)
    if args.profile in ("fast", "both"):
        measure("fast profile (no MiniLM)", books, RankerConfig(rerank=False), args.rounds)
    if args.profile in ("full", "both"):
        measure("full pipeline (MiniLM re-rank)", books, RankerConfig(), args.rounds)


if __name__ == "__main__":
    main()
