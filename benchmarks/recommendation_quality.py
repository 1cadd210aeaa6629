"""Recommendation quality on the public articles: plain BM25, plain embeddings, full pipeline.

    uv run python benchmarks/recommendation_quality.py [--books B.jsonl] [--articles A.jsonl]

The same figures as `bookshop recommend eval`, with the time each method took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from services.recommendation.books import read_books
from services.recommendation.cli import print_reports
from services.recommendation.evaluation import read_articles, run_evaluation

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=Path, default=DATA / "books.jsonl")
    parser.add_argument("--articles", type=Path, default=DATA / "articles-public.jsonl")
    args = parser.parse_args()

    started = time.perf_counter()
    reports = run_evaluation(read_books(args.books), read_articles(args.articles))
    console = Console()
    print_reports(reports, console)
    console.print(f"all methods, models included: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
