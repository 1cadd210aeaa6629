import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from services.recommendation.cli import print_reports, recommend
from services.recommendation.evaluation import (
    Article,
    GoldBook,
    Report,
    evaluate,
    ndcg_at,
    recall_at,
    reciprocal_rank,
)

DATA = Path(__file__).parents[2] / "data"


def test_ndcg_on_a_hand_computed_example() -> None:
    grades = {"a": 3, "b": 2, "c": 1}
    ranked = ["b", "x", "a"]
    dcg = 3 / math.log2(2) + 0 + 7 / math.log2(4)
    ideal = 7 / math.log2(2) + 3 / math.log2(3) + 1 / math.log2(4)

    assert ndcg_at(ranked, grades) == pytest.approx(dcg / ideal)
    assert ndcg_at(["a", "b", "c"], grades) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], grades) == 0.0


def test_ndcg_looks_only_at_the_top_five() -> None:
    assert ndcg_at(["x1", "x2", "x3", "x4", "x5", "a"], {"a": 3}) == 0.0


def test_recall_and_reciprocal_rank() -> None:
    grades = {"a": 3, "b": 1, "c": 2}

    assert recall_at(["x", "a", "b"], grades) == pytest.approx(2 / 3)
    assert reciprocal_rank(["x", "y", "b"], grades) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], grades) == 0.0


def test_report_counts_grade3_first_only_for_articles_with_a_grade3_book() -> None:
    report = Report("t")
    report.add("one", ["a", "b"], {"a": 3, "b": 1})
    report.add("two", ["b", "a"], {"a": 3, "b": 1})
    report.add("three", ["b"], {"b": 2})

    summary = report.summary()

    assert summary["grade3_first"] == pytest.approx(0.5)
    assert report.grade3_first == [True, False]
    assert report.misses == {}


def test_articles_without_judgements_are_left_out_of_the_figures() -> None:
    judged = Article(id="judged", gold=(GoldBook("a", 3),))
    ranked: list[str] = []

    def rank(article: Article) -> list[str]:
        ranked.append(article.id)
        return ["a"]

    report = evaluate(
        "t",
        rank,
        [
            judged,
            Article(id="no-gold"),
            Article(id="empty-gold", gold=()),
            Article(id="nothing-relevant", gold=(GoldBook("a", 0),)),
        ],
    )

    assert ranked == ["judged"]
    assert report.unjudged == ["no-gold", "empty-gold", "nothing-relevant"]
    assert report.summary() == {
        "ndcg@5": 1.0,
        "recall@10": 1.0,
        "mrr": 1.0,
        "grade3_first": 1.0,
        "articles": 1.0,
        "unjudged": 3.0,
    }


def test_the_printed_figures_say_how_many_articles_were_left_out_and_which() -> None:
    report = Report("full pipeline", unjudged=["u1", "u2"])
    report.add("a1", ["a"], {"a": 3})
    console = Console(record=True, width=200)

    print_reports([report], console)

    printed = console.export_text()
    assert (
        "2 articles without judgements (no 'gold' book graded 1 to 3) left out: u1, u2" in printed
    )
    assert re.search(r"1\.000 \(1/1\) │ +1 │", printed), "1 article scored"


@pytest.fixture(scope="module")
def small_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("recommend")
    books = folder / "books.jsonl"
    books.write_text("".join((DATA / "books.jsonl").read_text().splitlines(True)[:60]))
    articles = folder / "articles.jsonl"
    lines = (DATA / "articles-public.jsonl").read_text().splitlines(True)
    articles.write_text("".join(lines[:3]))
    return books, articles


def test_batch_prints_one_json_line_per_article(small_files: tuple[Path, Path]) -> None:
    books, articles = small_files

    result = CliRunner().invoke(
        recommend, ["batch", "--books", str(books), "--articles", str(articles), "--k", "4"]
    )

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["id"] for r in rows] == ["a000", "a003", "a007"]
    assert all(len(r["isbns"]) == 4 == len(r["reasons"]) for r in rows)
    assert rows[0]["isbns"][0] == "9798463348616"


COMMAND = (sys.executable, "-m", "services.cli")


def test_batch_piped_to_a_file_prints_no_library_logs_or_progress_bars(
    small_files: tuple[Path, Path],
) -> None:
    """As a script runs it: bm25s logs every index build at DEBUG, and a progress bar that
    cannot redraw itself leaves blank lines."""
    books, articles = small_files
    ran = subprocess.run(
        [*COMMAND, "recommend", "batch", "--books", str(books), "--articles", str(articles)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert len(ran.stdout.splitlines()) == 3
    assert re.fullmatch(r"3 articles in \d+\.\d s\n", ran.stderr), ran.stderr


def test_eval_prints_baselines_and_pipeline_over_the_judged_articles(
    small_files: tuple[Path, Path], tmp_path: Path
) -> None:
    books, judged = small_files
    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        judged.read_text()
        + '{"id": "u1", "headline": "Nurses strike", "paragraphs": ["Pickets at dawn."]}\n'
        + '{"id": "u2", "headline": "Bus drivers out", "paragraphs": ["Depots shut."], "gold": []}\n'
    )

    result = CliRunner().invoke(
        recommend, ["eval", "--books", str(books), "--articles", str(articles), "--json"]
    )

    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.splitlines()[-1])
    assert set(figures) == {"plain BM25", "plain WordLlama", "plain MiniLM", "full pipeline"}
    for method in figures.values():
        assert {"ndcg@5", "recall@10", "mrr", "grade3_first", "misses"} <= set(method)
        assert (method["articles"], method["unjudged"]) == (3, 2)
    assert figures["full pipeline"]["grade3_first"] == 1.0


BOOK = (DATA / "books.jsonl").read_text().splitlines()[0]
ARTICLE = (DATA / "articles-public.jsonl").read_text().splitlines()[0]


@pytest.mark.parametrize("command", ["batch", "eval"])
@pytest.mark.parametrize(
    ("books", "articles", "expected"),
    [
        (f'{BOOK}\n{{"isbn13": "97800", "title": }}\n', ARTICLE, "{books}:2: JSON is malformed"),
        (
            f'{BOOK}\n\n{{"title": "No number"}}\n',
            ARTICLE,
            "{books}:3: Object missing required field `isbn13`",
        ),
        (BOOK, f"{ARTICLE}\nnot json\n", "{articles}:2: JSON is malformed"),
        (BOOK, '{"headline": "No id"}', "{articles}:1: Object missing required field `id`"),
        ("", ARTICLE, "no books in {books}"),
        ("\n  \n", ARTICLE, "no books in {books}"),
    ],
    ids=[
        "book-not-json",
        "book-without-isbn",
        "article-not-json",
        "article-without-id",
        "empty",
        "blank",
    ],
)
def test_a_bad_input_file_stops_the_command_with_one_line_saying_where(
    tmp_path: Path, command: str, books: str, articles: str, expected: str
) -> None:
    books_path, articles_path = tmp_path / "books.jsonl", tmp_path / "articles.jsonl"
    books_path.write_text(books)
    articles_path.write_text(articles)

    result = CliRunner().invoke(
        recommend, [command, "--books", str(books_path), "--articles", str(articles_path)]
    )

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), "a traceback, not a message"
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {expected.format(books=books_path, articles=articles_path)}")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "articles",
    [
        '{"id": "u1", "headline": "Nurses strike", "paragraphs": ["Pickets at dawn."]}\n'
        '{"id": "u2", "headline": "Bus drivers out", "paragraphs": ["Depots shut."], "gold": []}\n',
        "",
    ],
    ids=["unjudged", "empty"],
)
def test_eval_without_a_judged_article_stops_with_one_line_saying_so(
    tmp_path: Path, articles: str
) -> None:
    books_path, articles_path = tmp_path / "books.jsonl", tmp_path / "articles.jsonl"
    books_path.write_text(BOOK)
    articles_path.write_text(articles)

    result = CliRunner().invoke(
        recommend, ["eval", "--books", str(books_path), "--articles", str(articles_path)]
    )

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), "a traceback, not a message"
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {articles_path}: none of the ")
    assert line.endswith("there is nothing to score")
    assert result.stdout == ""
