"""`bookshop recommend batch|eval`: rank articles against a books file, outside the shop.

Both commands build a throwaway in-memory index from `--books`; the shop's own data is
never read or written. Progress goes to stderr, results to stdout. The ranking and
evaluation code (numpy, bm25s and what loads the models) is imported inside the commands:
importing it here made `--help` and a mistyped option slow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from services.recommendation.books import IndexedBook, UnreadableFile, read_books

if TYPE_CHECKING:
    from services.recommendation.evaluation import Article, Report

_T = TypeVar("_T")
_err = Console(stderr=True)
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("recommend")
def recommend() -> None:
    """Recommend the shop's books for newspaper articles."""


@recommend.command("batch")
@click.option("--books", "books_path", type=_FILE, required=True, help="Books, JSON lines.")
@click.option(
    "--articles", "articles_path", type=_FILE, required=True, help="Articles, JSON lines."
)
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1))
def batch(books_path: Path, articles_path: Path, k: int) -> None:
    """Print one JSON line per article: {"id", "isbns", "reasons"}."""
    from services.recommendation.evaluation import batch_lines
    from services.recommendation.ranking import Ranker

    books, articles = _read_inputs(books_path, articles_path)
    started = time.perf_counter()
    with _err.status(f"Indexing {len(books)} books"):
        ranker = Ranker(books)
    lines = batch_lines(ranker, _progress(articles, "Ranking articles"), k=k)
    for line in lines:
        click.echo(line)
    _err.print(f"{len(articles)} articles in {time.perf_counter() - started:.1f} s")


@recommend.command("eval")
@click.option("--books", "books_path", type=_FILE, required=True, help="Books, JSON lines.")
@click.option("--articles", "articles_path", type=_FILE, required=True, help="Articles with gold.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead.")
def eval_command(books_path: Path, articles_path: Path, as_json: bool) -> None:
    """nDCG@5, recall@10, MRR and grade-3-first share: baselines and the full pipeline."""
    from services.recommendation.evaluation import NothingToScore, run_evaluation

    books, articles = _read_inputs(books_path, articles_path)
    try:
        reports = run_evaluation(books, articles, progress=_progress)
    except NothingToScore as error:
        raise click.ClickException(f"{articles_path}: {error}") from error
    if as_json:
        click.echo(json.dumps({r.name: {**r.summary(), "misses": r.misses} for r in reports}))
        return
    print_reports(reports, Console())


def _read_inputs(books_path: Path, articles_path: Path) -> tuple[list[IndexedBook], list[Article]]:
    """Both files; a bad line, or no books, stops the command with one line naming the file
    (and line) at fault: whoever wrote the file needs that, not a traceback."""
    from services.recommendation.evaluation import read_articles

    try:
        return read_books(books_path), read_articles(articles_path)
    except UnreadableFile as error:
        raise click.ClickException(str(error)) from error


def print_reports(reports: list[Report], console: Console) -> None:
    table = Table(title="Recommendation quality")
    for column in ("method", "nDCG@5", "recall@10", "MRR", "grade-3 first", "articles"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for report in reports:
        s = report.summary()
        table.add_row(
            report.name,
            f"{s['ndcg@5']:.3f}",
            f"{s['recall@10']:.3f}",
            f"{s['mrr']:.3f}",
            f"{s['grade3_first']:.3f} ({sum(report.grade3_first)}/{len(report.grade3_first)})",
            str(int(s["articles"])),
        )
    console.print(table)
    final = reports[-1]
    if final.unjudged:
        left_out = len(final.unjudged)
        console.print(
            f"{left_out} article{'s' if left_out > 1 else ''} without judgements "
            f"(no 'gold' book graded 1 to 3) left out: {', '.join(final.unjudged)}"
        )
    console.print(f"[bold]{final.name}: gold books missing from the top 5[/bold]")
    for article_id, missing in final.misses.items():
        console.print(f"  {article_id}: {', '.join(missing)}")


def _progress(items: Sequence[_T], label: str) -> Iterator[_T]:
    # A bar redrawn in place means nothing in a log or a pipe, where rich leaves blank lines.
    with Progress(console=_err, transient=True, disable=not _err.is_terminal) as progress:
        task = progress.add_task(label, total=len(items))
        for item in items:
            yield item
            progress.advance(task)


@recommend.command("reindex")
def reindex() -> None:
    """Rebuild the shop's index from the service's books and clear articles' cached books.

    Unlike batch and eval, this works on the shop's own data: every process that ranks
    rebuilds its index at its next ranking.
    """
    import asyncio

    from services.recommendation.service import reindex_shop
    from services.recommendation.settings import RecommendationSettings

    with _err.status("Rebuilding the index"):
        books, seconds = asyncio.run(reindex_shop(RecommendationSettings()))
    click.echo(f"Index rebuilt: {books} books in {seconds:.1f} s; cached results cleared.")


if __name__ == "__main__":
    recommend()
