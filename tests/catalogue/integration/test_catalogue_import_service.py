"""import_file from code, as the staff import page calls it: an upload's bytes, a progress
callback, the real BookService on SQLite and Postgres."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from services.catalogue import service
from services.catalogue.changes import announce
from services.catalogue.cli import catalogue
from services.catalogue.imports.errors import ImportInterrupted, ImportRefused
from services.catalogue.imports.formats import ImportFormat
from services.catalogue.imports.runner import import_file
from services.catalogue.service import BookService
from shared.db import Database
from shared.errors import NotFound
from shared.messaging.message import utcnow
from shared.messaging.unit_of_work import UnitOfWorkFactory

IMPORTS = Path(__file__).resolve().parents[2] / "data" / "imports"


async def test_an_upload_is_imported_with_progress_and_reported(books: BookService) -> None:
    progress: list[tuple[int, int]] = []
    report = await import_file(
        (IMPORTS / "bad-records.jsonl").read_bytes(),
        format=ImportFormat.JSONL,
        service=books,
        actor="stock@example.org",
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert (report.created, report.updated, report.unchanged, report.skipped) == (2, 0, 0, 6)
    assert [error.location.line for error in report.errors] == [2, 4, 5, 6, 7, 9]
    assert progress == [(6, 8), (8, 8)]
    unravelling = await books.get(isbn13="9798668485680")
    assert (unravelling.price_pence, unravelling.on_hand) == (2399, 2)


async def test_a_large_upload_reports_progress_after_each_chunk_it_writes(
    db: Database, uows: UnitOfWorkFactory
) -> None:
    books = BookService(uow=uows, db=db, write_chunk=100)
    progress: list[tuple[int, int]] = []
    report = await import_file(
        f"{pamphlets(250)}\nnot json\n".encode(),
        format=ImportFormat.JSONL,
        service=books,
        actor="stock@example.org",
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert report.created == 250
    # The refused line is counted at once, then the books as each chunk is written.
    assert progress == [(1, 251), (101, 251), (201, 251), (251, 251)]


def pamphlets(count: int, *, price_pence: int = 300) -> str:
    return "\n".join(
        json.dumps({"isbn13": isbn, "title": f"Pamphlet {n}", "price_pence": price_pence})
        for n, isbn in enumerate(valid_isbns(count))
    )


async def test_each_chunk_is_its_own_transaction_and_a_failure_says_which_were_written(
    db: Database, uows: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = BookService(uow=uows, db=db, write_chunk=100)
    await import_file(pamphlets(250).encode(), format=ImportFormat.JSONL, service=books, actor="s")
    chunks = 0

    async def third_chunk_fails(*args: Any, **kwargs: Any) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 3:
            raise OperationalError("UPDATE books", {}, Exception("disk I/O error"))
        await announce(*args, **kwargs)

    monkeypatch.setattr(service, "announce", third_chunk_fails)
    with pytest.raises(ImportInterrupted) as interrupted:
        await import_file(
            pamphlets(250, price_pence=450).encode(),
            format=ImportFormat.JSONL,
            service=books,
            actor="s",
        )
    assert interrupted.value.written == 200
    assert interrupted.value.message.startswith(
        "writing stopped part way: the first 200 of the file's 250 books (to line 200) were "
        "written, the 50 from line 201 on were not."
    )
    isbns = valid_isbns(250)
    assert (await books.get(isbn13=isbns[199])).price_pence == 450
    assert (await books.get(isbn13=isbns[200])).price_pence == 300


async def test_announcing_many_books_takes_a_few_statements_not_two_a_book(
    books: BookService, uows: UnitOfWorkFactory, db: Database, catalogue: Any
) -> None:
    await import_file(pamphlets(300).encode(), format=ImportFormat.JSONL, service=books, actor="s")
    isbns = valid_isbns(300)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with uows() as uow:
            await announce(uow, isbns, now=utcnow())
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    # The versions, the stock, the search entries gone out of stock, the outbox.
    assert len(statements) <= 5, statements
    announced = [e for e in await catalogue.events() if e["version"] == 2]
    assert sorted(e["isbn13"] for e in announced) == isbns
    assert {e["available"] for e in announced} == {0}


def valid_isbns(count: int) -> list[str]:
    isbns = []
    for n in range(count):
        body = f"979{n:09d}"
        check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
        isbns.append(f"{body}{check}")
    return isbns


async def test_a_file_without_some_columns_leaves_those_of_a_held_book_alone(
    books: BookService,
) -> None:
    assert (await import_file(IMPORTS / "good.csv", service=books, actor="stock")).complete
    prices = b"isbn13,title,price_pence,authors\n9798463348616,Imperialism,21.99,\n"

    report = await import_file(prices, format=ImportFormat.CSV, service=books, actor="stock")

    assert (report.updated, report.unchanged) == (1, 0)
    book = await books.get(isbn13="9798463348616")
    assert (book.title, book.price_pence) == ("Imperialism", 2199)
    # A column given blank clears; columns not in the file keep what the book had.
    assert book.authors == []
    assert (book.publisher, book.year, book.format) == ("Polity", 2009, "paperback")
    assert book.subjects == ["imperialism", "political-economy", "marxist-theory"]
    assert book.description.startswith("A Marxist account of imperialism")


def supplier_feed(isbn13: str, *, title: str, price: str) -> bytes:
    """An ONIX Product as supplier feeds often send it: a Thema code as its only Subject, and
    no CollateralDetail (description) or Contributor."""
    return (
        '<ONIXMessage release="3.0" xmlns="http://ns.editeur.org/onix/3.0/reference"><Header/>'
        "<Product><RecordReference>feed.1</RecordReference>"
        "<NotificationType>03</NotificationType><ProductIdentifier>"
        f"<ProductIDType>15</ProductIDType><IDValue>{isbn13}</IDValue></ProductIdentifier>"
        "<DescriptiveDetail><ProductForm>BC</ProductForm><TitleDetail><TitleType>01</TitleType>"
        f"<TitleElement><TitleElementLevel>01</TitleElementLevel><TitleText>{title}</TitleText>"
        "</TitleElement></TitleDetail><Subject><SubjectSchemeIdentifier>93"
        "</SubjectSchemeIdentifier><SubjectCode>JPS</SubjectCode></Subject></DescriptiveDetail>"
        "<ProductSupply><SupplyDetail><Price><PriceType>02</PriceType>"
        f"<PriceAmount>{price}</PriceAmount><CurrencyCode>GBP</CurrencyCode></Price>"
        "</SupplyDetail></ProductSupply></Product></ONIXMessage>"
    ).encode()


async def test_an_onix_product_leaves_what_it_does_not_carry_of_a_held_book_alone(
    books: BookService,
) -> None:
    assert (await import_file(IMPORTS / "good.csv", service=books, actor="stock")).complete
    feed = supplier_feed("9798463348616", title="Imperialism", price="21.99")

    report = await import_file(feed, format=ImportFormat.ONIX, service=books, actor="stock")

    assert (report.updated, report.unchanged) == (1, 0)
    book = await books.get(isbn13="9798463348616")
    assert (book.title, book.price_pence, book.format) == ("Imperialism", 2199, "paperback")
    # Still on its shelves, with its description and authors: not "jps", not blank.
    assert book.subjects == ["imperialism", "political-economy", "marxist-theory"]
    assert book.description.startswith("A Marxist account of imperialism")
    assert book.authors == ["Alex Callinicos"]
    assert (book.publisher, book.year) == ("Polity", 2009)


async def test_a_new_book_from_an_onix_product_with_bare_subject_codes_has_no_subjects(
    books: BookService,
) -> None:
    feed = supplier_feed("9798463348616", title="Imperialism", price="21.99")

    report = await import_file(feed, format=ImportFormat.ONIX, service=books, actor="stock")

    assert report.created == 1
    book = await books.get(isbn13="9798463348616")
    assert (book.subjects, book.description, book.authors) == ([], "", [])


async def test_a_refused_upload_leaves_the_catalogue_empty(books: BookService) -> None:
    with pytest.raises(ImportRefused, match="not well-formed XML"):
        await import_file(
            (IMPORTS / "sample.onix.xml").read_bytes()[:9000],
            format=ImportFormat.ONIX,
            service=books,
            actor="stock",
        )
    # The first two Products were complete before the cut; neither was written.
    for isbn13 in ("9798463348616", "9798776421921"):
        with pytest.raises(NotFound):
            await books.get(isbn13=isbn13)


def test_an_unreachable_database_exits_3_having_imported_nothing() -> None:
    result = CliRunner().invoke(
        catalogue,
        ["import", str(IMPORTS / "good.jsonl")],
        env={"CATALOGUE_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:9/none"},
    )
    assert result.exit_code == 3, result.output
    assert "Could not write to the catalogue's database" in result.stderr
    assert "Nothing was imported." in result.stderr
