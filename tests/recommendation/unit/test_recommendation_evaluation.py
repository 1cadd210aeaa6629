import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.recommendation.cli import recommend
from services.recommendation.evaluation import (
    Report,
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


def test_eval_prints_baselines_and_pipeline(small_files: tuple[Path, Path]) -> None:
    books, articles = small_files

    result = CliRunner().invoke(
        recommend, ["eval", "--books", str(books), "--articles", str(articles), "--json"]
    )

    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.splitlines()[-1])
    assert set(figures) == {"plain BM25", "plain WordLlama", "plain MiniLM", "full pipeline"}
    for method in figures.values():
        assert {"ndcg@5", "recall@10", "mrr", "grade3_first", "misses"} <= set(method)
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
