"""Reading a whole file before writing: format by extension, refusals, duplicates, progress
while reading, and import_file's report and progress with a fake BookService."""

from __future__ import annotations

import errno
import io
import os
import shutil
import threading
from pathlib import Path

import pytest
from import_files import RecordingBookService, books_file

from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.formats import ImportFormat, format_for_name
from services.catalogue.imports.limits import MAX_IMPORT_BYTES
from services.catalogue.imports.runner import import_file, read_file

IMPORTS = Path(__file__).resolve().parents[2] / "data" / "imports"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("books.jsonl", ImportFormat.JSONL),
        ("BOOKS.NDJSON", ImportFormat.JSONL),
        ("stock list.csv", ImportFormat.CSV),
        ("feed.xml", ImportFormat.ONIX),
        ("feed.onix", ImportFormat.ONIX),
    ],
)
def test_the_extension_chooses_the_format(name: str, expected: ImportFormat) -> None:
    assert format_for_name(name) is expected


def test_an_unknown_extension_asks_for_the_format() -> None:
    with pytest.raises(ImportRefused, match=r"cannot tell the format of 'books\.txt'"):
        format_for_name("books.txt")


def test_the_format_given_wins_over_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    shutil.copy(IMPORTS / "good.csv", path)
    assert read_file(path, format=ImportFormat.CSV).records == 3


def test_a_missing_file_a_folder_and_an_empty_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match="there is no file"):
        read_file(tmp_path / "missing.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ImportRefused, match="is a folder"):
        read_file(tmp_path / "folder.csv")
    (tmp_path / "empty.jsonl").touch()
    with pytest.raises(ImportRefused, match=r"empty\.jsonl is empty"):
        read_file(tmp_path / "empty.jsonl")
    with pytest.raises(ImportRefused, match="the file is empty"):
        read_file(b"", format=ImportFormat.ONIX)


def test_a_file_over_the_import_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "everything.csv"
    with path.open("wb") as file:
        file.truncate(MAX_IMPORT_BYTES + 1)  # sparse: nothing is written to the disk
    with pytest.raises(ImportRefused) as refused:
        read_file(path)
    assert refused.value.message == (
        "the file is over 64 MB, the most an import may be: split it into smaller files and "
        "import each"
    )
    at_the_limit = tmp_path / "just.csv"
    with at_the_limit.open("wb") as file:
        file.truncate(MAX_IMPORT_BYTES)
    with pytest.raises(ImportRefused, match="not a UTF-8 text file"):
        read_file(at_the_limit)  # read, and refused only for what it holds


@pytest.mark.parametrize(
    ("content", "format"),
    [(b"\n\n  \n", ImportFormat.JSONL), (b"isbn13,title,price_pence\n\n", ImportFormat.CSV)],
)
def test_a_file_with_no_records_is_refused(content: bytes, format: ImportFormat) -> None:
    with pytest.raises(ImportRefused, match="holds no book records"):
        read_file(content, format=format)


def test_bytes_need_their_format() -> None:
    with pytest.raises(ImportRefused, match="say which format"):
        read_file(b'{"isbn13": "9798463348616"}')


def test_a_book_twice_in_a_file_is_kept_once_and_the_repeat_reported() -> None:
    result = read_file(IMPORTS / "bad-records.jsonl")
    assert [parsed.book.isbn13 for parsed in result.books] == ["9798463348616", "9798668485680"]
    assert str(result.errors[-1]) == (
        "line 9: ISBN 9798463348616 is already at line 1: a file may hold each book once"
    )
    assert result.records == 9 - 1  # nine lines, one blank


async def test_import_file_writes_the_good_books_in_one_call_and_reports_the_rest() -> None:
    service = RecordingBookService()
    progress: list[tuple[int, int]] = []
    report = await import_file(
        IMPORTS / "sample.onix.xml",
        service=service,
        actor="stock@example.org",
        on_progress=lambda done, total: progress.append((done, total)),
    )
    [(books, actor)] = service.calls
    assert [book.isbn13 for book in books] == ["9798463348616", "9798776421921", "9798319747327"]
    assert actor == "stock@example.org"
    assert (report.records, report.created, report.updated, report.unchanged) == (5, 2, 1, 0)
    assert report.skipped == 2
    assert not report.complete
    assert [error.location.record for error in report.errors] == [3, 5]
    # The two refused records at once, then the books as the service writes them.
    assert progress == [(2, 5), (3, 5), (5, 5)]
    assert report.summary() == "5 records: 2 created, 1 updated, 0 unchanged, 2 skipped"


async def test_import_file_takes_an_uploads_bytes() -> None:
    service = RecordingBookService()
    report = await import_file(
        (IMPORTS / "good.csv").read_bytes(),
        format=ImportFormat.CSV,
        service=service,
        actor="stock",
    )
    assert report.complete
    assert report.records == 3


async def test_a_refused_file_writes_nothing() -> None:
    service = RecordingBookService()
    with pytest.raises(ImportRefused):
        await import_file(
            b"<ONIXMessage release='3.0'><Product>",
            format=ImportFormat.ONIX,
            service=service,
            actor="stock",
        )
    assert service.calls == []


async def test_a_file_of_only_bad_records_calls_no_write() -> None:
    service = RecordingBookService()
    report = await import_file(
        b'{"isbn13": "1", "title": "T", "price_pence": 1}\n',
        format=ImportFormat.JSONL,
        service=service,
        actor="stock",
    )
    assert service.calls == []
    assert (report.records, report.skipped, report.created) == (1, 1, 0)


@pytest.mark.parametrize("format", list(ImportFormat))
def test_reading_counts_the_records_read_of_about_as_many_as_the_file_holds(
    format: ImportFormat,
) -> None:
    reading: list[tuple[int, int]] = []
    result = read_file(
        books_file(format, 5000),
        format=format,
        on_reading=lambda read, expected: reading.append((read, expected)),
    )
    assert result.records == 5000
    assert [read for read, _ in reading] == [1000, 2000, 3000, 4000, 5000]
    # Judged from the share of the file read: a CSV is read row by row too, not all at once.
    assert all(4500 <= expected <= 5500 for _, expected in reading), reading


def test_a_file_read_whole_in_one_line_reads_without_a_guess() -> None:
    # CR-only line endings: Python's lines are the whole file, so its share read says nothing.
    content = books_file(ImportFormat.CSV, 2000).replace(b"\n", b"\r")
    reading: list[tuple[int, int]] = []
    read_file(content, format=ImportFormat.CSV, on_reading=lambda *call: reading.append(call))
    assert reading == [(1000, 0), (2000, 0)]


async def test_import_file_hands_reading_progress_to_the_loop_before_writing() -> None:
    calls: list[tuple[str, int]] = []
    loop_thread = threading.get_ident()

    def called(kind: str, count: int) -> None:
        assert threading.get_ident() == loop_thread
        calls.append((kind, count))

    await import_file(
        books_file(ImportFormat.JSONL, 2000),
        format=ImportFormat.JSONL,
        service=RecordingBookService(),
        actor="stock",
        on_reading=lambda read, _: called("reading", read),
        on_progress=lambda done, _: called("progress", done),
    )
    # The fake service reports one book written, then all of them.
    assert calls == [
        ("reading", 1000),
        ("reading", 2000),
        ("progress", 0),
        ("progress", 1),
        ("progress", 2000),
    ]


class FailingDisk(io.BytesIO):
    """A file whose disk fails after its first line."""

    def __next__(self) -> bytes:
        if self.tell():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return super().__next__()


def test_a_file_that_fails_part_way_through_reading_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "books.csv"
    shutil.copy(IMPORTS / "good.csv", path)
    content = path.read_bytes()
    monkeypatch.setattr(Path, "open", lambda *_: FailingDisk(content))
    with pytest.raises(ImportRefused) as refused:
        read_file(path)
    assert refused.value.message == f"{path} could not be read to its end: input/output error"


def test_a_file_over_a_limit_given_is_refused_naming_that_limit() -> None:
    with pytest.raises(ImportRefused) as refused:
        read_file(b"x" * (1024 * 1024 + 1), format=ImportFormat.CSV, max_bytes=1024 * 1024)
    assert refused.value.status_code == 413
    assert refused.value.message.startswith("the file is over 1 MB")
