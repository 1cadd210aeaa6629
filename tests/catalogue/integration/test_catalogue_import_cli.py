"""`bookshop catalogue import FILE` end to end, on SQLite and on Postgres: what lands in the
catalogue, what is skipped and reported, what re-importing changes (nothing), and files that
are refused leaving nothing behind."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import Catalogue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from services.catalogue.cli import catalogue
from services.catalogue.imports.limits import MAX_IMPORT_BYTES
from shared.migrations import sync_url

IMPORTS = Path(__file__).resolve().parents[2] / "data" / "imports"
ISBNS = [Catalogue.isbn(n) for n in range(100)]
BOOK_CHANGED = "catalogue.book_changed.v1"


@dataclass(frozen=True)
class Counts:
    books: int
    ledger: int
    events: int


class Shop:
    """Runs the command against one database and looks at what it holds."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(
            catalogue, ["import", *args], env={"CATALOGUE_DATABASE_URL": self.url}
        )

    def counts(self) -> Counts:
        with self.engine.connect() as connection:
            return Counts(
                books=connection.scalar(text("SELECT count(*) FROM books")),
                ledger=connection.scalar(text("SELECT count(*) FROM stock_ledger")),
                events=connection.scalar(
                    text("SELECT count(*) FROM outbox WHERE kind = :kind"), {"kind": BOOK_CHANGED}
                ),
            )

    def book(self, isbn13: str) -> dict[str, Any]:
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT b.title, b.subtitle, b.price_pence, b.year, b.format, b.publisher, "
                    "b.version, s.on_hand FROM books b JOIN stock s ON s.isbn13 = b.isbn13 "
                    "WHERE b.isbn13 = :isbn"
                ),
                {"isbn": isbn13},
            ).one()
        return dict(row._mapping)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    engine = create_engine(sync_url(database_url))
    yield Shop(database_url, engine)
    engine.dispose()


def test_a_good_jsonl_file_is_imported_and_importing_it_again_changes_nothing(shop: Shop) -> None:
    first = shop.run(str(IMPORTS / "good.jsonl"))
    assert first.exit_code == 0, first.output
    assert "good.jsonl: 4 records: 4 created, 0 updated, 0 unchanged, 0 skipped." in first.stdout
    after_first = shop.counts()
    assert after_first == Counts(books=4, ledger=4, events=4)  # each has opening stock
    callinicos = shop.book("9798463348616")
    assert callinicos["price_pence"] == 1999
    assert callinicos["on_hand"] == 6

    again = shop.run(str(IMPORTS / "good.jsonl"))
    assert again.exit_code == 0, again.output
    assert "4 records: 0 created, 0 updated, 4 unchanged, 0 skipped." in again.stdout
    assert shop.counts() == after_first
    assert shop.book("9798463348616") == callinicos


def test_onix_bad_products_are_skipped_and_listed_and_the_rest_imported(shop: Shop) -> None:
    result = shop.run(str(IMPORTS / "sample.onix.xml"))
    assert result.exit_code == 1, result.output
    assert "5 records: 3 created, 0 updated, 0 unchanged, 2 skipped." in result.stdout
    assert (
        "record 3 (RecordReference com.example.bookmarks.9798267335745): invalid ISBN"
        in result.stdout
    )
    assert (
        "record 5 (RecordReference com.example.haymarket.9798679175945): missing price"
        in result.stdout
    )
    assert "2 of 5 records were skipped" in result.stdout
    manifesto = shop.book("9798776421921")
    assert (manifesto["title"], manifesto["format"], manifesto["year"]) == (
        "The Communist Manifesto",
        "hardback",
        2010,
    )
    assert manifesto["price_pence"] == 2399
    after_first = shop.counts()
    assert after_first == Counts(books=3, ledger=0, events=3)  # ONIX brings no stock of ours

    again = shop.run(str(IMPORTS / "sample.onix.xml"))
    assert again.exit_code == 1
    assert "5 records: 0 created, 0 updated, 3 unchanged, 2 skipped." in again.stdout
    assert shop.counts() == after_first


def test_csv_bad_rows_are_listed_by_line_and_prices_are_exact(shop: Shop) -> None:
    result = shop.run(str(IMPORTS / "bad-records.csv"))
    assert result.exit_code == 1, result.output
    assert "8 records: 2 created, 0 updated, 0 unchanged, 6 skipped." in result.stdout
    for line in (4, 5, 6, 8, 9, 10):
        assert f"  line {line}: " in result.stdout
    assert shop.book("9798463348616")["price_pence"] == 1999  # written £19.99
    assert shop.book("9780140449136")["price_pence"] == 899  # written 8.99, ISBN-10 given

    short = shop.run(str(IMPORTS / "sample-short.onix"))
    assert short.exit_code == 1
    assert shop.book("9798668485680")["subtitle"] == "A Guide to Marxist Political Economy"


def test_a_changed_book_is_updated_and_only_it_announced(shop: Shop, tmp_path: Path) -> None:
    original = (IMPORTS / "good.csv").read_text()
    assert shop.run(str(IMPORTS / "good.csv")).exit_code == 0
    before = shop.counts()
    version = shop.book("9798776421921")["version"]

    changed = tmp_path / "changed.txt"
    changed.write_text(original.replace(",23.99,", ",24.50,"))
    result = shop.run(str(changed), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "3 records: 0 created, 1 updated, 2 unchanged, 0 skipped." in result.stdout
    book = shop.book("9798776421921")
    assert book["price_pence"] == 2450
    assert book["version"] == version + 1
    # Opening stock counts only for a new book: no ledger entry for a re-import.
    assert shop.counts() == Counts(books=3, ledger=before.ledger, events=before.events + 1)


REFUSED = {
    "not-json-lines.jsonl": (
        b"isbn13,title,price_pence\n9798463348616,T,1299\n",
        "not a JSON lines file",
    ),
    "no-header.csv": (b"9798463348616,T,1299\n9798776421921,U,1299\n", "the CSV header lacks"),
    "truncated.xml": (
        (IMPORTS / "sample.onix.xml").read_bytes()[:-2000],
        "not well-formed XML",
    ),
    "not-onix.xml": (b'<?xml version="1.0"?><feed><entry/></feed>', "not ONIX"),
    "empty.jsonl": (b"", "is empty"),
    "photo.csv": (bytes(range(256)) * 8, "not a UTF-8 text file"),
    "books.txt": (b'{"isbn13": "9798463348616"}\n', "cannot tell the format"),
}


def test_refused_files_exit_2_and_leave_the_catalogue_as_it_was(shop: Shop, tmp_path: Path) -> None:
    assert shop.run(str(IMPORTS / "good.jsonl")).exit_code == 0
    before = shop.counts()
    prices = shop.book("9798463348616")
    for name, (content, message) in REFUSED.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = shop.run(str(path))
        assert result.exit_code == 2, (name, result.output)
        assert message in result.stderr, (name, result.stderr)
        assert "Nothing was imported." in result.stderr
        assert result.stdout == ""
    missing = shop.run(str(tmp_path / "missing.csv"))
    assert missing.exit_code == 2
    assert "there is no file" in missing.stderr
    assert shop.counts() == before
    assert shop.book("9798463348616") == prices


def test_a_file_over_the_import_limit_is_refused_as_on_the_staff_page(
    shop: Shop, tmp_path: Path
) -> None:
    path = tmp_path / "everything.csv"
    with path.open("wb") as file:
        file.truncate(MAX_IMPORT_BYTES + 1)  # sparse: nothing is written to the disk
    result = shop.run(str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "Refused everything.csv: the file is over 64 MB, the most an import may be: split it "
        "into smaller files and import each, or raise the limit with --max-mb if this machine "
        "has the memory (about ten times the file's size). Nothing was imported.\n"
    )
    assert shop.counts() == Counts(books=0, ledger=0, events=0)


def test_max_mb_lets_the_operator_import_a_larger_file(shop: Shop, tmp_path: Path) -> None:
    path = tmp_path / "descriptions.csv"
    rows = "".join(f"{isbn},Pamphlet,299,{'x' * 15_000}\n" for isbn in ISBNS)
    path.write_text("isbn13,title,price_pence,description\n" + rows)  # 1.5 MB
    refused = shop.run(str(path), "--max-mb", "1")
    assert refused.exit_code == 2, refused.output
    assert "the file is over 1 MB" in refused.stderr
    imported = shop.run(str(path), "--max-mb", "2")
    assert imported.exit_code == 0, imported.output
    assert shop.counts().books == len(ISBNS)


def test_a_file_that_cannot_be_read_is_refused_in_one_line(shop: Shop, tmp_path: Path) -> None:
    # Once reported as the catalogue's database failing (exit 3), with the system's message.
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    result = shop.run(str(loop))
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"Refused loop.csv: {loop} cannot be read: too many levels of symbolic links. "
        "Nothing was imported.\n"
    )


def test_a_file_broken_after_good_records_writes_none_of_them(shop: Shop, tmp_path: Path) -> None:
    # The first two Products are complete and valid; the message breaks off in the third.
    content = (IMPORTS / "sample.onix.xml").read_text()
    cut = content.index("<!-- Bad: the ISBN's check digit is wrong -->") + 200
    path = tmp_path / "cut.onix"
    path.write_text(content[:cut])
    result = shop.run(str(path))
    assert result.exit_code == 2
    assert "not well-formed XML" in result.stderr
    assert shop.counts() == Counts(books=0, ledger=0, events=0)


def test_the_format_option_reads_a_file_whatever_its_name(shop: Shop, tmp_path: Path) -> None:
    path = tmp_path / "feed.dat"
    shutil.copy(IMPORTS / "good.jsonl", path)
    result = shop.run(str(path), "--format", "jsonl", "--actor", "stock@example.org")
    assert result.exit_code == 0, result.output
    assert "4 records: 4 created" in result.stdout
    with shop.engine.connect() as connection:
        actors = connection.scalars(text("SELECT DISTINCT actor FROM stock_ledger")).all()
    assert actors == ["stock@example.org"]
