"""import_file from code, as the staff import page calls it: an upload's bytes, a progress
callback, the real BookService on SQLite and Postgres."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from services.catalogue.cli import catalogue
from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.formats import ImportFormat
from services.catalogue.imports.runner import import_file
from services.catalogue.service import BookService
from shared.errors import NotFound

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
